// The agent's state database under faults, with real components: a second process (python3's
// sqlite3) holding an EXCLUSIVE transaction on the real database file while the agent runs a
// paced capture through its real pipeline; a real tmpfs filled to the last byte as state_dir;
// `kill -9` of the real agent process with an incident open, then a restart. A stand-in control
// plane (Deno.serve) receives what the agent delivers.
import { assert, assertEquals } from "../../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { defaultConfig } from "../../../core/config/mod.ts";
import type { Config } from "../../../core/config/mod.ts";
import { Agent } from "../../../agent/agent.ts";
import { FileSource } from "../../../agent/capture/mod.ts";
import { CORPUS, ftagent, killAgent, spawnFtagent } from "../../support/cli.ts";
import { FlowtriqServer } from "../../support/flowtriq_server.ts";
import { framesOf, webFrames, writeSplice } from "../../support/splice.ts";
import { waitFor } from "../../support/stream.ts";
import { agentScratch } from "../../support/scratch.ts";
import { fill, freePort, LOCK_HOLDER, probeHealth, storedIncidents } from "../../support/faults.ts";

const VICTIM = "198.18.10.10";

/** Web traffic to the victim for `seconds`, with SYN floods in the given [from, to) spans. */
async function attack(path: string, seconds: number, floods: [number, number][]) {
  const syn = await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`);
  await writeSplice(path, [
    { frames: webFrames(VICTIM), fromS: 0, toS: seconds, pps: 200 },
    ...floods.map(([fromS, toS]) => ({ frames: syn, fromS, toS, pps: 6000 })),
  ]);
}

/** The agent's config for the in-process runs. */
function agentConfig(dir: string, stateDir: string, server: FlowtriqServer): Config {
  return {
    ...defaultConfig(),
    state_dir: stateDir,
    pcap_dir: `${dir}/pcaps`,
    pcap_enabled: false,
    metrics_port: 0,
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    attack_holddown: 1,
    attack_cooldown: 1,
    heartbeat_interval: 1,
    metrics_interval: 1,
    min_pps_threshold: 2000,
    min_bps_threshold: 0,
    min_syn_pps_threshold: 1000,
    min_udp_pps_threshold: 2000,
  };
}

/** Log records of the in-process agent (category "ftstate"). */
async function captureLog(): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ftstate"], sinks: ["mem"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  return records;
}

function lines(records: LogRecord[]): string[] {
  return records.map((r) =>
    r.message.map((part) => typeof part === "string" ? part : JSON.stringify(part)).join("")
  );
}

/** The largest lateness of a 10 ms timer between `from` and `to` (performance.now() ms). */
class StallProbe {
  readonly #samples: [number, number][] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  constructor() {
    let last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#samples.push([now, now - last - 10]);
      last = now;
    }, 10);
  }
  largest(from: number, to: number): number {
    let max = 0;
    for (const [t, lag] of this.#samples) if (t >= from && t <= to) max = Math.max(max, lag);
    return Math.round(max);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The incident calls the control plane accepted, by path. */
function incidentCalls(server: FlowtriqServer): string[] {
  return server.accepted(/^\/agent\/incidents/).map((r) => r.path);
}

Deno.test("the agent keeps capturing, reporting and answering while another process holds its database for 12 s, and stores every event once afterwards", async () => {
  const server = new FlowtriqServer();
  server.up();
  const { dir } = await agentScratch("fta-dblock-");
  const records = await captureLog();
  const config = { ...agentConfig(dir, `${dir}/state`, server), metrics_port: freePort() };
  const probe = new StallProbe();
  let source: FileSource | null = null;
  let holder: Deno.ChildProcess | null = null;
  try {
    // A flood from 3 s to 20 s: it opens and is updated during the lock, resolves after it.
    await attack(`${dir}/attack.pcap`, 26, [[3, 20]]);
    source = new FileSource(`${dir}/attack.pcap`);
    const agent = await Agent.start(config, getLogger(["ftstate"]), source);
    holder = new Deno.Command("python3", {
      args: ["-c", LOCK_HOLDER, `${dir}/state/ftagent.db`, "12"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const out = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let said = await waitFor(out, /locked/, "");
    const lockedAt = performance.now();
    const health = probeHealth(config.metrics_port, lockedAt + 12_000);
    const heartbeatsBefore = server.accepted(/^\/agent\/heartbeat$/).length;
    const run = agent.run({ paced: true, configPath: `${dir}/config.json` });
    // Halfway through the lock (the incident opened at 3 s): the waiting writes are shown.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const status = await fetch(`http://127.0.0.1:${config.metrics_port}/status.json`);
    const during = (await status.json()).state;
    said = await waitFor(out, /released/, said);
    const releasedAt = performance.now();
    await out.cancel();
    await health.done;
    const stallMs = probe.largest(lockedAt, releasedAt);
    const heartbeatsDuring = server.accepted(/^\/agent\/heartbeat$/).length - heartbeatsBefore;
    const callsDuringLock = incidentCalls(server);
    await run;
    console.log(
      `largest event-loop stall during the 12 s lock: ${stallMs} ms; /health answered ` +
        `${health.answered} times (slowest ${health.slowestMs} ms); ` +
        `heartbeats delivered during it: ${heartbeatsDuring}; incident calls: ${callsDuringLock}`,
    );
    assert(stallMs < 1000, `the event loop stalled ${stallMs} ms`);
    assert(during.pending > 0 && /locked/.test(during.fault), JSON.stringify(during));
    assert(heartbeatsDuring >= 5, `${heartbeatsDuring} heartbeats during the lock`);
    assertEquals(callsDuringLock.slice(0, 2), ["/agent/incidents", "/agent/incidents/srv-1"]);
    assert(
      await server.waitFor(() => incidentCalls(server).includes("/agent/incidents/srv-1/resolve")),
    );
    const calls = incidentCalls(server);
    assertEquals(calls.filter((p) => p === "/agent/incidents").length, 1, calls.join());
    assertEquals(calls.filter((p) => p.endsWith("/resolve")).length, 1, calls.join());
    const updates = server.accepted(/^\/agent\/incidents\/srv-1$/);
    assert(updates.length >= 2, calls.join());
    const bodies = updates.map((u) => JSON.stringify(u.body));
    assertEquals(new Set(bodies).size, bodies.length, "an update was delivered twice");
    const stored = storedIncidents(`${dir}/state/ftagent.db`);
    assertEquals(stored.map((s) => [s.state, s.last_event]), [["resolved", "resolve"]]);
    const text = lines(records);
    const faults = text.filter((l) => l.includes("cannot write"));
    assertEquals(faults.length, 1, faults.join("\n"));
    assert(faults[0].includes("SQLITE_BUSY"), faults[0]);
    assert(text.some((l) => l.includes("writing again")), text.join("\n"));
    assertEquals(text.filter((l) => /^listener .* (failed|is behind)/.test(l)), []);
    // The dry-run mitigation records of the incident were written too, once.
    const db = new DatabaseSync(`${dir}/state/ftagent.db`);
    try {
      const n = db.prepare("SELECT COUNT(*) AS n FROM mitigation_actions").get() as { n: number };
      assert(n.n >= 1, "no mitigation record");
    } finally {
      db.close();
    }
    assert(health.answered >= 20, `/health answered ${health.answered} times`);
    assert(health.slowestMs < 1000, `/health took ${health.slowestMs} ms`);
  } finally {
    probe.stop();
    source?.close();
    if (holder !== null) {
      try {
        holder.kill("SIGKILL");
      } catch { /* exited */ }
      await holder.status;
    }
    await server.down();
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the agent keeps incidents in memory while its state disk is full, logs SQLITE_FULL once, and stores and delivers them once space is back", async () => {
  const server = new FlowtriqServer();
  server.up();
  const { dir } = await agentScratch("fta-dbfull-");
  const mount = `${dir}/state`;
  await Deno.mkdir(mount);
  const records = await captureLog();
  const config = agentConfig(dir, mount, server);
  const probe = new StallProbe();
  let source: FileSource | null = null;
  try {
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mount],
    }).output();
    assertEquals(mounted.code, 0, new TextDecoder().decode(mounted.stderr));
    await attack(`${dir}/attack.pcap`, 24, [[3, 6], [10, 13]]);
    source = new FileSource(`${dir}/attack.pcap`);
    const agent = await Agent.start(config, getLogger(["ftstate"]), source);
    await fill(`${mount}/filler`);
    const fullAt = performance.now();
    const run = agent.run({ paced: true, configPath: `${dir}/config.json` });
    const resolves = () => lines(records).filter((l) => l.startsWith("incident resolve")).length;
    for (let i = 0; i < 400 && resolves() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assertEquals(resolves(), 2, lines(records).join("\n"));
    const stallMs = probe.largest(fullAt, performance.now());
    // Both incidents happened while the disk was full: none is stored yet.
    assertEquals(storedIncidents(`${mount}/ftagent.db`).filter((s) => s.state === "resolved"), []);
    await Deno.remove(`${mount}/filler`);
    let stored: ReturnType<typeof storedIncidents> = [];
    for (let i = 0; i < 200; i++) {
      stored = storedIncidents(`${mount}/ftagent.db`);
      if (stored.filter((s) => s.state === "resolved").length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await run;
    console.log(`largest event-loop stall while the disk was full: ${stallMs} ms`);
    assert(stallMs < 1000, `the event loop stalled ${stallMs} ms`);
    assertEquals(stored.map((s) => s.state), ["resolved", "resolved"]);
    assert(await server.waitFor(() => incidentCalls(server).length >= 4));
    const calls = incidentCalls(server);
    assertEquals(calls.filter((p) => p === "/agent/incidents").length, 2, calls.join());
    assertEquals(calls.filter((p) => p === "/agent/incidents/srv-1/resolve").length, 1);
    assertEquals(calls.filter((p) => p === "/agent/incidents/srv-2/resolve").length, 1);
    const text = lines(records);
    const full = text.filter((l) => l.includes("SQLITE_FULL"));
    assertEquals(full.length, 1, text.join("\n"));
    assert(!full[0].includes("ROLLBACK") && !/no transaction/.test(full[0]), full[0]);
    assert(text.some((l) => l.includes("writing again")), text.join("\n"));
  } finally {
    probe.stop();
    source?.close();
    await server.down();
    await reset();
    await new Deno.Command("umount", { args: [mount] }).output();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an incident open when the agent is killed with SIGKILL is resolved on the control plane (same uuid, once) and in the store at the next start", async () => {
  const server = new FlowtriqServer();
  server.up();
  const { dir, config } = await agentScratch("fta-killed-", {
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    attack_holddown: 1,
    attack_cooldown: 1,
    heartbeat_interval: 1,
    metrics_interval: 1,
  });
  let agent: Deno.ChildProcess | null = null;
  let stderr: ReadableStreamDefaultReader<string> | null = null;
  try {
    // A flood that outlasts the test: the incident is open when the agent is killed.
    await attack(`${dir}/attack.pcap`, 60, [[2, 60]]);
    agent = spawnFtagent(["--pcap", `${dir}/attack.pcap`, "--config", config]);
    stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const seen = await waitFor(stderr, /incident update/);
    assert(/incident open/.test(seen), seen);
    assert(await server.waitFor(() => incidentCalls(server).includes("/agent/incidents/srv-1")));
    agent.kill("SIGKILL");
    assertEquals((await agent.status).signal, "SIGKILL");
    const before = storedIncidents(`${dir}/state/ftagent.db`);
    assertEquals(before.map((s) => s.state), ["open"]);

    // The next start (quiet traffic) resolves it everywhere, with its last known numbers.
    await writeSplice(`${dir}/quiet.pcap`, [
      { frames: webFrames(VICTIM), fromS: 0, toS: 2, pps: 100 },
    ]);
    const out = await ftagent(["--pcap", `${dir}/quiet.pcap`, "--fast", "--config", config]);
    assertEquals(out.code, 0, out.stderr);
    assert(/resolved at start: the agent stopped while it was open/.test(out.stderr), out.stderr);
    assert(
      await server.waitFor(() => incidentCalls(server).includes("/agent/incidents/srv-1/resolve")),
      out.stderr,
    );
    const resolves = server.accepted(/^\/agent\/incidents\/[^/]+\/resolve$/);
    assertEquals(resolves.map((r) => r.path), ["/agent/incidents/srv-1/resolve"]);
    const body = resolves[0].body as { duration_seconds: number; peak_pps: number };
    assert(body.duration_seconds > 0 && body.peak_pps > 1000, JSON.stringify(body));
    const after = storedIncidents(`${dir}/state/ftagent.db`);
    assertEquals(after.map((s) => [s.id, s.state]), [[before[0].id, "resolved"]]);
    const db = new DatabaseSync(`${dir}/state/ftagent.db`);
    try {
      const row = db.prepare("SELECT event_json FROM incidents").get() as { event_json: string };
      const event = JSON.parse(row.event_json);
      assertEquals([event.event, event.resolved_by], ["resolve", "agent_restart"]);
      assert(typeof event.ended_at === "string", row.event_json);
    } finally {
      db.close();
    }
    // A third start resolves nothing again.
    const again = await ftagent(["--pcap", `${dir}/quiet.pcap`, "--fast", "--config", config]);
    assertEquals(again.code, 0, again.stderr);
    assert(!/resolved at start/.test(again.stderr), again.stderr);
    assertEquals(server.accepted(/\/resolve$/).length, 1);
  } finally {
    if (agent !== null && stderr !== null) await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});
