// The real agent against a stand-in control plane: the server's `suspended` and `ip_blocklist`,
// out-of-range server values refused with a line, and a copied Python agent config accepted.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CORPUS, ftagent, killAgent, spawnFtagent } from "../support/cli.ts";
import { FlowtriqServer, type Recorded } from "../support/flowtriq_server.ts";
import { bytes, eth, EtherType, ipv4, udp } from "../support/frames.ts";
import { framesOf, webFrames, writeSplice } from "../support/splice.ts";
import { waitFor } from "../support/stream.ts";
import { agentScratch } from "../support/scratch.ts";

const VICTIM = "10.10.10.10";

function scratch(server: FlowtriqServer, extra: Record<string, unknown> = {}) {
  return agentScratch("fta-keys-", {
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    attack_holddown: 1,
    attack_cooldown: 1,
    heartbeat_interval: 1,
    metrics_interval: 1,
    ...extra,
  });
}

/** A free TCP port on 127.0.0.1 (for the agent's metrics endpoint). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Reads stderr until `pattern` has matched `count` times in all. */
async function waitCount(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  count: number,
  seen: { text: string },
): Promise<void> {
  seen.text = await waitFor(
    reader,
    new RegExp(`(?:${pattern.source}[\\s\\S]*){${count}}`),
    seen.text,
  );
}

const inWindow = (r: Recorded, from: number, to: number) => r.atMs > from && r.atMs < to;

Deno.test("a node the server suspends keeps detecting, sends no incident, metrics or mitigation, keeps its heartbeats, and resumes when lifted", async () => {
  const server = new FlowtriqServer();
  server.config = { suspended: true };
  server.up();
  const port = freePort();
  const { dir, config } = await scratch(server, { metrics_port: port });
  const syn = await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`);
  await writeSplice(`${dir}/attack.pcap`, [
    { frames: webFrames(VICTIM), fromS: 0, toS: 27, pps: 200 },
    { frames: syn, fromS: 3, toS: 17, pps: 6000 },
    { frames: syn, fromS: 21, toS: 24, pps: 6000 },
  ]);
  const agent = spawnFtagent(["--pcap", `${dir}/attack.pcap`, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen = { text: "" };
  try {
    await waitCount(stderr, /the server suspended this node/, 1, seen);
    const suspendedAt = Date.now();
    await waitCount(stderr, /incident open/, 1, seen);
    // Detection goes on: the incident is in the local log; the status says suspended.
    const status = await (await fetch(`http://127.0.0.1:${port}/status.json`)).json();
    assertMatch(String(status.reporting.suspendedSince), /^\d{4}-\d\d-\d\dT/);
    const text = await ftagent(["status", "--config", config]);
    assertMatch(text.stdout, /^suspended {3}by the server since \d{4}-.*detection goes on/m);
    server.config = {}; // the server lifts the suspension
    const liftedAt = Date.now();
    await waitCount(stderr, /the server lifted the suspension/, 1, seen);
    const resumedAt = Date.now();
    await waitCount(stderr, /incident resolve/, 2, seen);
    assert(
      await server.waitFor(() => server.accepted(/\/resolve$/).length >= 1, 10_000),
      seen.text,
    );
    await new Promise((r) => setTimeout(r, 1500)); // a few more heartbeats and metrics
    // Said once each.
    assertEquals(seen.text.match(/the server suspended this node/g)?.length, 1);
    assertEquals(seen.text.match(/the server lifted the suspension/g)?.length, 1);
    // Only the incident opened after the lift reached the server (create and resolve).
    const incidents = server.accepted(/^\/agent\/incidents/).map((r) => r.path);
    assertEquals(incidents.filter((p) => p === "/agent/incidents").length, 1, incidents.join());
    assertEquals(incidents.filter((p) => p.endsWith("/resolve")).length, 1, incidents.join());
    const create = server.accepted(/^\/agent\/incidents$/)[0];
    assert(create.atMs > resumedAt - 1000, "the create came after the lift");
    // No metrics while suspended (one interval of slack at each end), heartbeats all along.
    const metrics = server.accepted(/^\/agent\/metrics$/);
    assertEquals(metrics.filter((r) => inWindow(r, suspendedAt + 1500, liftedAt)), []);
    assert(metrics.some((r) => r.atMs > resumedAt), "metrics resumed");
    const beats = server.accepted(/^\/agent\/heartbeat$/);
    assert(beats.filter((r) => inWindow(r, suspendedAt, liftedAt)).length >= 2, "heartbeats");
    // Local mitigation (dry run) acted on nothing while suspended; after the lift, on both
    // incidents (the first one's next update, as its attack went on).
    const [before, after] = seen.text.split("the server lifted the suspension");
    assertEquals(before.match(/mitigation [0-9a-f-]{36}: dry run/g), null, before);
    const mitigated = new Set(
      [...after.matchAll(/mitigation ([0-9a-f-]{36}): dry run/g)].map((m) => m[1]),
    );
    assertEquals(mitigated.size, 2, after);
  } finally {
    await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});

/** UDP flood frames to the victim from 4 listed sources (198.18.5.x) and 4 others. */
function udpFlood(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const src = i < 4 ? `198.18.5.${i + 1}` : `203.0.113.${i + 1}`;
    out.push(eth(EtherType.IPV4, ipv4(17, udp(5000 + i, 27015, bytes(200)), { src, dst: VICTIM })));
  }
  return out;
}

Deno.test("sources the server's ip_blocklist lists are flagged threat_intel in the incident payloads and blocked first; a copied Python config starts", async () => {
  const server = new FlowtriqServer();
  server.config = {
    ip_blocklist: [{ indicator: "198.18.5.0/24" }, { indicator: "not-an-address" }],
    velocity_detection: "yes", // out of its type: refused with a line
    gre_mode: 7,
  };
  server.up();
  const { dir, config } = await scratch(server, {
    // Keys of the Python agent's config, as a customer's file holds them.
    pcap_mode: "tcpdump",
    baseline_window: 300,
    health_port: 9100,
    gre_mode: "disabled",
    gre_max_depth: 3,
    hypervisor_mode: false,
    vm_labels: {},
    velocity_detection: false,
    agones_sidecar: false,
    pcap_lazy: true,
    pcap_max_disk_mb: 300,
    preferred_firewall: "nftables",
    flow_enabled: false,
  });
  await writeSplice(`${dir}/attack.pcap`, [
    { frames: webFrames(VICTIM), fromS: 0, toS: 10, pps: 200 },
    { frames: udpFlood(), fromS: 3, toS: 8, pps: 8000 },
  ]);
  const agent = spawnFtagent(["--pcap", `${dir}/attack.pcap`, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen = { text: "" };
  try {
    await waitCount(stderr, /incident resolve/, 1, seen);
    assert(
      await server.waitFor(() => server.accepted(/\/resolve$/).length >= 1, 10_000),
      seen.text,
    );
    // The copied config: one line per feature it asked for and we lack, no "unknown".
    assertEquals(seen.text.match(/unknown config key/g), null, seen.text);
    for (const key of ["pcap_mode", "health_port", "gre_max_depth", "pcap_lazy"]) {
      assertEquals(
        seen.text.match(
          new RegExp(`config key "${key}" accepted, not supported by this agent`, "g"),
        )
          ?.length,
        1,
        key,
      );
    }
    // The server's values out of their types: refused, one line each.
    assertMatch(seen.text, /remote config key "velocity_detection" ignored: "yes" is invalid/);
    assertMatch(seen.text, /remote config key "gre_mode" ignored: 7 is invalid/);
    assertMatch(
      seen.text,
      /ip_blocklist: 1 addresses and networks in force \(1 left out: .*"not-an-address"\)/,
    );
    for (const path of [/^\/agent\/incidents$/, /\/resolve$/]) {
      const body = server.accepted(path)[0].body as {
        top_src_ips: { ip: string; threat_intel?: boolean }[];
      };
      const listed = body.top_src_ips.filter((e) => e.threat_intel === true).map((e) => e.ip);
      const others = body.top_src_ips.filter((e) => e.threat_intel === undefined).map((e) => e.ip);
      assertEquals(listed.sort(), ["198.18.5.1", "198.18.5.2", "198.18.5.3", "198.18.5.4"]);
      assert(others.some((ip) => ip.startsWith("203.0.113.")), others.join());
      assert(!others.some((ip) => ip.startsWith("198.18.5.")), others.join());
    }
    // Mitigation (dry run) plans the listed sources first.
    const would = [...seen.text.matchAll(/dry run, would drop .*?(\d+\.\d+\.\d+\.\d+)/g)]
      .map((m) => m[1]);
    assert(would.length >= 4, seen.text);
    assertEquals(would.slice(0, 4).every((ip) => ip.startsWith("198.18.5.")), true, would.join());
  } finally {
    await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});
