import { assert, assertEquals } from "../../support/assert.ts";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { defaultConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";
import {
  FLOWTRIQ_CHANNEL,
  FLOWTRIQ_INCIDENT_CHANNEL,
  MAX_COMMANDS_PER_ANSWER,
  Reporting,
} from "../../../agent/report/mod.ts";
import { openStateDb } from "../../../agent/state/mod.ts";
import { FlowtriqServer } from "../../support/flowtriq_server.ts";

const COMMANDS = 5000;

/** An incident event as the detector hands it to listeners (the fields the payloads read). */
function incidentEvent(event: "open" | "resolve", atMs: number): IncidentEvent {
  return {
    type: "incident",
    event,
    id: "flood-incident-1",
    detected_at: new Date(atMs).toISOString(),
    started_at: new Date(atMs - 3000).toISOString(),
    ...(event === "resolve" ? { ended_at: new Date(atMs).toISOString() } : {}),
    duration: event === "resolve" ? 30 : 3,
    target: "198.18.0.10",
    inner_ip: "198.18.0.10",
    attack_family: "syn_flood",
    attack_subtype: "spoofed",
    confidence: 90,
    peak_pps: 250000,
    peak_bps: 1.2e8,
    baseline_pps: 800,
    total_packets: 7_500_000,
    source_ip_count: 40000,
    top_src_ips: [{ ip: "198.18.1.1", count: 900 }],
    top_dst_ports: [{ port: 80, count: 7_000_000 }],
  };
}

/** The largest gap of a 10 ms timer while `fn` runs: how long the event loop stood still. */
async function largestStall<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 10);
    last = now;
  }, 10);
  try {
    return { value: await fn(), stallMs };
  } finally {
    clearInterval(probe);
  }
}

Deno.test("Reporting sends an incident create at once while 5,000 refused server commands are worked off in batches, each acked once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-cmdflood-" });
  const server = new FlowtriqServer();
  server.up();
  server.commands = Array.from({ length: COMMANDS }, (_, i) => ({
    id: i + 1,
    command_type: "iptables",
    command_text: `-A INPUT -s 198.18.${(i >> 8) & 255}.${i & 255} -j DROP; rm -rf /`,
    title: `hostile ${i + 1}`,
  }));
  // One command without an id: it cannot be acked, so the server lists it in every answer.
  server.commands.push({ command_type: "iptables", command_text: "-F", title: "no id" });
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ftflood"], sinks: ["mem"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  const config = {
    ...defaultConfig(),
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    state_dir: dir,
    heartbeat_interval: 0.5,
    metrics_interval: 1,
  };
  const db = openStateDb(`${dir}/ftagent.db`);
  const reporting = new Reporting({
    config,
    db,
    log: getLogger(["ftflood"]),
    version: "test",
    // Fetch the rest of the list as soon as a batch's acks are delivered (1 s in production).
    remote: { moreCommandsGapMs: 20 },
  });
  const acks = () => server.accepted(/^\/agent\/commands\/ack$/);
  try {
    // The flood is under way: the first batch is being acknowledged.
    assert(await server.waitFor(() => acks().length >= 10), "no ack arrived");
    const waitingAcks = () => reporting.outbox.depth(FLOWTRIQ_CHANNEL);
    assert(waitingAcks() <= MAX_COMMANDS_PER_ANSWER + 5, `${waitingAcks()} entries waiting`);
    // An incident opens in the middle of it.
    const openedAt = Date.now();
    const acksBefore = acks().length;
    reporting.incident(incidentEvent("open", openedAt));
    const { stallMs } = await largestStall(async () => {
      assert(
        await server.waitFor(() => server.accepted(/^\/agent\/incidents$/).length === 1, 10_000),
        "the incident create was never sent",
      );
    });
    const create = server.accepted(/^\/agent\/incidents$/)[0];
    const createMs = create.atMs - openedAt;
    const acksInBetween = acks().filter((r) => r.atMs <= create.atMs).length - acksBefore;
    // The create has a lane of its own: it waits for no ack (a batch is at most 50).
    assert(createMs < 2000, `the create arrived ${createMs} ms after the incident opened`);
    assert(acksInBetween <= MAX_COMMANDS_PER_ANSWER, `${acksInBetween} acks went first`);
    reporting.incident(incidentEvent("resolve", Date.now()));
    assert(
      await server.waitFor(() => server.accepted(/\/resolve$/).length === 1, 10_000),
      "the resolve was never sent",
    );
    // Every command is acknowledged, each exactly once, as failed (nothing is supported).
    const started = Date.now();
    const { stallMs: floodStallMs } = await largestStall(async () => {
      assert(
        await server.waitFor(() => acks().length >= COMMANDS, 240_000),
        `only ${acks().length} of ${COMMANDS} acks arrived`,
      );
    });
    const ids = acks().map((r) => (r.body as { command_id: number }).command_id);
    assertEquals(new Set(ids).size, COMMANDS);
    assertEquals(ids.length, COMMANDS);
    for (const r of acks()) {
      assertEquals((r.body as { status: string }).status, "failed");
    }
    assertEquals(server.commands, [{
      command_type: "iptables",
      command_text: "-F",
      title: "no id",
    }]);
    // Heartbeats kept going during the flood; every incident call arrived once.
    const heartbeats = server.accepted(/^\/agent\/heartbeat$/).filter((r) =>
      r.atMs > openedAt && r.atMs < Date.now()
    );
    assert(heartbeats.length >= 2, `${heartbeats.length} heartbeats during the flood`);
    assertEquals(server.accepted(/^\/agent\/incidents/).map((r) => r.path), [
      "/agent/incidents",
      "/agent/incidents/srv-1/resolve",
    ]);
    const fetches = server.accepted(/^\/agent\/config$/).length;
    const warned = records.filter((r) => r.level === "warning").map((r) => r.message.join(""));
    const flood = warned.filter((m) => m.includes("more commands than the 50 taken at a time"));
    assertEquals(flood.length, 1, warned.join("|"));
    // The id-less command, repeated in 100 answers, is said once.
    assertEquals(warned.filter((m) => m.includes("without an integer id")).length, 1);
    // The log says the flood in two lines, not 5,000: the warning and the outcome.
    const said = records.map((r) => r.message.join(""));
    assertEquals(said.filter((m) => /^command \d+ /.test(m)), []);
    assert(
      await server.waitFor(() =>
        records.some((r) => r.message.join("").includes("worked off: 0 applied, 5000 failed"))
      ),
      said.filter((m) => m.includes("worked off")).join("|"),
    );
    console.log(
      `create ${createMs} ms after open (${acksInBetween} acks in between); ` +
        `${COMMANDS} acks in ${
          Date.now() - started
        } ms after the resolve, ${fetches} config fetches; ` +
        `largest event-loop stall ${Math.round(stallMs)} ms around the create, ` +
        `${Math.round(floodStallMs)} ms while the rest was worked off`,
    );
    assertEquals(reporting.outbox.depth(FLOWTRIQ_INCIDENT_CHANNEL), 0);
    assert(floodStallMs < 1000, `event loop stood still ${floodStallMs} ms`);
  } finally {
    await reporting.stop();
    db.close();
    await server.down();
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
});
