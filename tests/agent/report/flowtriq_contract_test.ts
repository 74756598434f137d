import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { getLogger } from "@logtape/logtape";
import { defaultConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import {
  incidentCreateBody,
  incidentResolveBody,
  incidentUpdateBody,
} from "../../../core/report/mod.ts";
import { Pipeline } from "../../../core/traffic/mod.ts";
import { FileSource } from "../../../agent/capture/mod.ts";
import { FlowtriqApi, PCAP_CHUNK_BYTES } from "../../../agent/report/mod.ts";
import { PcapRecorder } from "../../../agent/evidence/mod.ts";
import { openStateDb } from "../../../agent/state/mod.ts";
import { L7Part } from "../../../agent/l7/mod.ts";
import { Reporting } from "../../../agent/report/mod.ts";
import { VERSION } from "../../../agent/mod.ts";
import { CORPUS } from "../../support/cli.ts";
import { bodyProblems, type SpecEndpoint, specEndpoints } from "../../support/flowtriq_spec.ts";
import { FlowtriqServer, type Recorded } from "../../support/flowtriq_server.ts";
import { framesOf, webFrames, writeSplice } from "../../support/splice.ts";

const SPEC = specEndpoints();

function endpoint(method: string, path: string): SpecEndpoint {
  const e = SPEC.find((s) => s.method === method && s.pattern.test(path));
  assert(e, `${method} ${path} is not in the spec's endpoint table`);
  return e;
}

function checkHeaders(r: Recorded, server: FlowtriqServer): void {
  assertEquals(r.headers["authorization"], `Bearer ${server.apiKey}`);
  assertEquals(r.headers["x-node-uuid"], server.nodeUuid);
  assertEquals(r.headers["user-agent"], `ftagent/${VERSION}`);
  if (r.method === "POST" && !r.path.endsWith("/pcap")) {
    assertEquals(r.headers["content-type"], "application/json");
    // The outbox key, so a server can drop the repeat of a call whose answer was lost.
    assert(r.headers["idempotency-key"], `${r.path} has no Idempotency-Key`);
  }
}

/** Web traffic to 10.10.10.10 with a real spoofed SYN flood from 10 s to 22 s. */
async function attackCapture(path: string): Promise<void> {
  await writeSplice(path, [
    { frames: webFrames("10.10.10.10"), fromS: 0, toS: 40, pps: 200 },
    {
      frames: await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`),
      fromS: 10,
      toS: 22,
      pps: 8000,
    },
  ]);
}

Deno.test("the spec's endpoint table parses into the endpoints the agent speaks", () => {
  for (
    const [m, p] of [
      ["POST", "/agent/heartbeat"],
      ["GET", "/agent/config"],
      ["POST", "/agent/metrics"],
      ["POST", "/agent/incidents"],
      ["POST", "/agent/incidents/abc"],
      ["POST", "/agent/incidents/abc/resolve"],
      ["POST", "/agent/incidents/abc/pcap"],
      ["POST", "/agent/commands/ack"],
    ]
  ) endpoint(m, p);
  assert(endpoint("POST", "/agent/metrics").l3.required.has("conn_count"));
  assert(endpoint("POST", "/agent/incidents").l7.required.has("baseline_rps"));
  assert(endpoint("POST", "/agent/incidents/x/resolve").l7.required.has("peak_rps"));
  assert(!endpoint("POST", "/agent/incidents/x/resolve").l3.required.has("peak_rps"));
  const heartbeat = endpoint("POST", "/agent/heartbeat").l3;
  assertEquals([heartbeat.optional.has("l7_enabled"), heartbeat.optional.has("l7_status")], [
    true,
    true,
  ]);
});

Deno.test("every payload the agent sends has exactly the spec's keys, types and headers, and the server config applies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-contract-" });
  const server = new FlowtriqServer();
  server.up();
  // The local floors would see nothing; the server's static pps threshold (2000) does.
  server.config = {
    pps_threshold: 2000,
    attack_holddown: 3,
    attack_cooldown: 10,
    dynamic_threshold: "yes", // wrong type: ignored with a warning, the rest applies
    ip_blocklist: { not: "a list" },
    l7: { enabled: false, action: "auto_detect", log_path: null, sensitivity: "high" },
    pending_commands: [
      { id: 7, command_type: "iptables", command_text: "-A INPUT -s 1.2.3.4 -j DROP", title: "b" },
      { id: 8, action: "iptables_block", source_ip: "1.2.3.4", protocol: "tcp", duration: 60 },
      { command_type: "no id" },
    ],
  };
  const config = {
    ...defaultConfig(),
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base + "/",
    state_dir: dir,
    pcap_dir: `${dir}/pcaps`,
    min_pps_threshold: 1_000_000,
    min_syn_pps_threshold: 1_000_000,
    min_bps_threshold: 0,
    heartbeat_interval: 0.3,
    metrics_interval: 0.5,
  };
  const db = openStateDb(`${dir}/ftagent.db`);
  const events: IncidentEvent[] = [];
  const detector = new Detector(config, { onEvent: (e) => events.push(e) });
  const recorder = new PcapRecorder(config);
  const reporting = new Reporting({
    config,
    db,
    log: getLogger(["ftagent", "test"]),
    version: VERSION,
    detector,
    recorder,
  });
  // L7 is off here: heartbeats say so in the spec's optional keys.
  const l7 = await L7Part.start({ config, log: getLogger(["ftagent", "test"]), emit: () => {} });
  reporting.attachL7(l7);
  try {
    assert(await server.waitFor(() => server.accepted(/^\/agent\/config$/).length >= 1));
    await new Promise((r) => setTimeout(r, 100));
    const iface = detector.status().find((t) => t.target === "interface")!;
    assertEquals(iface.thresholds.pps, 2000);
    await attackCapture(`${dir}/attack.pcap`);
    const pipeline = new Pipeline((w) => reporting.window(w), { detector });
    const source = new FileSource(`${dir}/attack.pcap`);
    const sink = {
      packet(b: Uint8Array, o: number, c: number, w: number, t: number, l: number) {
        pipeline.packet(b, o, c, w, t, l);
        recorder.packet(b, o, c, w, t, l, pipeline.meta);
      },
    };
    await source.run(sink, {});
    source.close();
    pipeline.flush();
    for (const e of events) {
      recorder.incident(e);
      reporting.incident(e);
    }
    assertEquals(events.map((e) => e.event)[0], "open");
    assertEquals(events.at(-1)!.event, "resolve");
    assert(events.some((e) => e.event === "update"), "no update event");
    assert(
      await server.waitFor(() =>
        server.accepted(/\/pcap$/).length === 1 &&
        server.accepted(/^\/agent\/metrics$/).some((r) =>
          (r.body as { samples: number }).samples > 0
        )
      ),
      JSON.stringify(server.requests.map((r) => `${r.status} ${r.path}`)),
    );
    assert(await server.waitFor(() => server.accepted(/^\/agent\/commands\/ack$/).length === 2));
    // The first heartbeat leaves start before the L7 part is attached.
    assert(await server.waitFor(() => server.accepted(/^\/agent\/heartbeat$/).length >= 2));
    await reporting.stop();

    // Every request: the headers, and a body with exactly the spec's keys and types.
    const seen = new Set<string>();
    for (const r of server.requests) {
      assertEquals(r.status, 200, `${r.method} ${r.path} answered ${r.status}`);
      checkHeaders(r, server);
      const e = endpoint(r.method, r.path);
      seen.add(e.path);
      if (r.method === "GET" || e.path.endsWith("/pcap")) continue;
      const extra = e.path === "/agent/heartbeat" ? ["dropped"] : [];
      assertEquals(bodyProblems(r.body, e.l3, false, extra), [], `${r.path}`);
    }
    assertEquals([...seen].sort(), [
      "/agent/commands/ack",
      "/agent/config",
      "/agent/heartbeat",
      "/agent/incidents",
      "/agent/incidents/{uuid}",
      "/agent/incidents/{uuid}/pcap",
      "/agent/incidents/{uuid}/resolve",
      "/agent/metrics",
    ]);

    // Incident calls in order; after the create, the server's uuid.
    const calls = server.accepted(/^\/agent\/incidents/).map((r) => r.path);
    assertEquals(calls[0], "/agent/incidents");
    assertEquals(calls.at(-1), "/agent/incidents/srv-1/pcap");
    assertEquals(calls.at(-2), "/agent/incidents/srv-1/resolve");
    assertEquals(calls.length, events.length + 1);
    const create = server.accepted(/^\/agent\/incidents$/)[0].body as Record<string, unknown>;
    assertEquals([create.attack_family, create.inner_ip], ["syn_flood", "10.10.10.10"]);
    const upload = server.uploads[0];
    assertEquals(upload.filename, `${events[0].id}.pcap`);
    assertEquals(upload.bytes, await Deno.readFile(`${dir}/pcaps/${events[0].id}.pcap`));

    // Each command acknowledged exactly once (fetched again at the attack start and every 10 s).
    const acks = server.accepted(/^\/agent\/commands\/ack$/).map((r) => r.body);
    assertEquals(acks, [
      { command_id: 7, status: "failed", error: "not supported" },
      { command_id: 8, status: "failed", error: "not supported" },
    ]);
    const hb = server.accepted(/^\/agent\/heartbeat$/).at(-1)!.body as Record<string, unknown>;
    assertEquals([hb.version, hb.circuit_breaker], [VERSION, "closed"]);
    assertEquals([hb.l7_enabled, hb.l7_status], [false, "off"]);
    const stats = reporting.stats();
    assertEquals(stats.senders[0].channel, "flowtriq");
    assertEquals(stats.apiErrors, 0);
  } finally {
    await l7.stop();
    await reporting.stop();
    await recorder.close();
    db.close();
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("L7 incident bodies carry the spec's L7 keys and top_dst_ports as an object", () => {
  const event: IncidentEvent = {
    type: "incident",
    event: "resolve",
    id: "0b6f4a58-0000-4000-8000-000000000001",
    detected_at: "2026-06-10T12:00:05.000000+00:00",
    started_at: "2026-06-10T12:00:00.000000+00:00",
    attack_family: "http_flood",
    attack_subtype: "get_flood",
    confidence: 80,
    peak_pps: 0,
    peak_bps: 0,
    rps: 950.5,
    baseline_rps: 20,
    peak_rps: 1200,
    l7_error_rate: 12.5,
    l7_status_codes: { "2xx": 100, "5xx": 20 },
    l7_top_user_agents: { "curl/8": 90 },
    l7_threat_patterns: { sqli: 3 },
    l7_protocol_versions: { "1.1": 70, "2": 30 },
    correlated_l3l4: false,
    top_dst_ports: { "/login": 500 },
    top_src_ips: [{ ip: "198.18.0.7", count: 400 }],
    velocity_curve: [{ t: 1781092800, rps: 900 }],
    duration: 30,
    duration_seconds: 30,
  };
  const create = incidentCreateBody(event);
  assertEquals(bodyProblems(create, endpoint("POST", "/agent/incidents").l7, true), []);
  const update = incidentUpdateBody(event);
  assertEquals(bodyProblems(update, endpoint("POST", "/agent/incidents/u").l7, true), []);
  assertEquals(update.top_dst_ports, { "/login": 500 });
  const resolve = incidentResolveBody(event);
  assertEquals(bodyProblems(resolve, endpoint("POST", "/agent/incidents/u/resolve").l7, true), []);
  assertEquals(resolve.velocity_curve, [{ t: 1781092800, rps: 900 }]);
  assertEquals([create.peak_pps, create.peak_bps, create.rps], [0, 0, 950.5]);
});

Deno.test("FlowtriqApi uploads a PCAP over 2 MiB in raw chunks with the chunk headers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-chunks-" });
  const server = new FlowtriqServer();
  server.up();
  try {
    const data = new Uint8Array(PCAP_CHUNK_BYTES * 2 + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
    await Deno.writeFile(`${dir}/big.pcap`, data);
    const api = new FlowtriqApi({
      apiBase: server.base,
      apiKey: server.apiKey,
      nodeUuid: server.nodeUuid,
      version: VERSION,
    });
    const r = await api.uploadPcap("srv-9", `${dir}/big.pcap`, "0123456789abcdef");
    assert(r.ok);
    assertEquals(server.requests.length, 3);
    for (const [i, req] of server.requests.entries()) {
      assertEquals(req.path, "/agent/incidents/srv-9/pcap");
      assertEquals(req.headers["content-type"], "application/octet-stream");
      assertEquals(req.headers["x-chunk-index"], String(i));
      assertEquals(req.headers["x-chunk-total"], "3");
      assertEquals(req.headers["x-upload-id"], "0123456789abcdef");
      checkHeaders(req, server);
    }
    assertEquals(server.uploads[0].bytes, data);
    const missing = await api.uploadPcap("srv-9", `${dir}/gone.pcap`, "0123456789abcdef");
    assert(!missing.ok && missing.permanent);
    assertMatch(missing.error, /gone\.pcap/);
  } finally {
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});
