// The agent process reporting to a stand-in control plane through outages: killed with SIGKILL
// in the middle of one and restarted, it delivers every incident event exactly once, in order;
// a slow API changes nothing in detection.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { CORPUS, ftagent, killAgent, spawnFtagent } from "../support/cli.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { framesOf, webFrames, writeSplice } from "../support/splice.ts";
import { waitFor } from "../support/stream.ts";
import { agentScratch } from "../support/scratch.ts";

function scratch(server: FlowtriqServer | null, extra: Record<string, unknown> = {}) {
  return agentScratch("fta-report-", {
    ...(server === null ? {} : {
      api_key: server.apiKey,
      node_uuid: server.nodeUuid,
      api_base: server.base,
    }),
    attack_holddown: 1,
    attack_cooldown: 1,
    heartbeat_interval: 1,
    metrics_interval: 1,
    ...extra,
  });
}
/** SYN floods on 10.10.10.10 in web traffic: one long enough for an update, then maybe another. */
async function floods(path: string, two: boolean): Promise<void> {
  const syn = await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`);
  await writeSplice(path, [
    { frames: webFrames("10.10.10.10"), fromS: 0, toS: two ? 14 : 9, pps: 200 },
    { frames: syn, fromS: 0.5, toS: 6.5, pps: 6000 },
    ...(two ? [{ frames: syn, fromS: 10.5, toS: 11.5, pps: 6000 }] : []),
  ]);
}

/** Reads stderr until `pattern` matches `count` times (or the stream ends, or 30 s pass). */
async function waitLines(
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

/** The incident entries waiting in the agent's outbox, in order. */
function outboxIncidents(dbPath: string): { key: string; body: { event: string; id: string } }[] {
  const db = new DatabaseSync(dbPath);
  try {
    return (db.prepare("SELECT key, body FROM outbox WHERE kind = 'incident' ORDER BY seq")
      .all() as {
        key: string;
        body: string;
      }[]).map((r) => ({ key: r.key, body: JSON.parse(r.body) }));
  } finally {
    db.close();
  }
}

Deno.test("the agent killed with SIGKILL during an API outage delivers every incident event exactly once, in order, after a restart", async () => {
  const server = new FlowtriqServer();
  server.up();
  await server.down(); // the port is known; connections are refused
  const { dir, config } = await scratch(server);
  const agent = spawnFtagent(["--pcap", `${dir}/attack.pcap`, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen = { text: "" };
  try {
    await floods(`${dir}/attack.pcap`, true);
    await waitLines(stderr, /incident resolve/, 2, seen);
    assertEquals(seen.text.match(/incident open/g)?.length, 2, seen.text);
    await new Promise((r) => setTimeout(r, 500)); // the listener queued the resolve
    agent.kill("SIGKILL");
    const status = await agent.status;
    assertEquals(status.signal, "SIGKILL", "the agent was still running (mid-outage)");
    assertEquals(server.requests.length, 0);
    const queued = outboxIncidents(`${dir}/state/ftagent.db`);
    const ids = [...new Set(queued.map((q) => q.body.id))];
    assertEquals(ids.length, 2);
    assertEquals(
      queued.map((q) => q.body.event),
      ["open", "update", "resolve", "open", "resolve"],
      JSON.stringify(queued.map((q) => q.key)),
    );

    // The API comes back; the agent starts again (quiet traffic) and drains its outbox.
    server.up();
    await writeSplice(`${dir}/quiet.pcap`, [
      { frames: webFrames("10.10.10.10"), fromS: 0, toS: 2, pps: 100 },
    ]);
    const out = await ftagent(["--pcap", `${dir}/quiet.pcap`, "--fast", "--config", config]);
    assertEquals(out.code, 0, out.stderr);
    assert(
      await server.waitFor(() => server.accepted(/^\/agent\/incidents/).length >= 7, 2000),
      out.stderr,
    );
    const calls = server.accepted(/^\/agent\/incidents/).map((r) => r.path);
    assertEquals(calls, [
      "/agent/incidents",
      "/agent/incidents/srv-1",
      "/agent/incidents/srv-1/resolve",
      "/agent/incidents/srv-1/pcap",
      "/agent/incidents",
      "/agent/incidents/srv-2/resolve",
      "/agent/incidents/srv-2/pcap",
    ]);
    // Each event's own body (the create's started_at is the first flood's, then the second's).
    const creates = server.accepted(/^\/agent\/incidents$/).map((r) =>
      (r.body as { started_at: string }).started_at
    );
    assert(creates[0] < creates[1], JSON.stringify(creates));
    assertEquals(server.requests.filter((r) => r.status !== 200).length, 0);
    assertEquals(outboxIncidents(`${dir}/state/ftagent.db`), []);
  } finally {
    await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs the agent at the recorded pace; the incident lines and seconds from start to each open. */
async function pacedRun(config: string, capture: string) {
  const agent = spawnFtagent(["--pcap", capture, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen = { text: "" };
  await waitLines(stderr, /as the wire/, 1, seen);
  const t0 = performance.now();
  await waitLines(stderr, /incident open/, 1, seen);
  const open = (performance.now() - t0) / 1000;
  await waitLines(stderr, /stopped:/, 1, seen);
  await stderr.cancel().catch(() => {});
  const status = await agent.status;
  assertEquals(status.code, 0, seen.text);
  const lines = seen.text.split("\n")
    .filter((l) => / incident (open|update|resolve) /.test(l))
    .map((l) => l.replace(/^.*? incident /, "").replace(/[0-9a-f-]{36}/, "ID"));
  return { lines, open, text: seen.text };
}

Deno.test("detection is unchanged while the API answers slowly", async () => {
  const server = new FlowtriqServer();
  server.up();
  server.mode = { kind: "slow", delayMs: 5000 };
  const alone = await scratch(null);
  const slow = await scratch(server);
  try {
    await floods(`${alone.dir}/attack.pcap`, false);
    const a = await pacedRun(alone.config, `${alone.dir}/attack.pcap`);
    const b = await pacedRun(slow.config, `${alone.dir}/attack.pcap`);
    assertMatch(b.text, /reporting to http:\/\/127\.0\.0\.1/);
    assert(server.requests.length > 0, "the slow API was called");
    // The same incidents, events and peaks (packet time), and opened as soon (wall time).
    assertEquals(b.lines, a.lines);
    assertEquals(a.lines.map((l) => l.split(" ")[0]), ["open", "update", "resolve"]);
    // Generous (a busy machine): waiting on one 5 s answer would be far later.
    assert(b.open < a.open + 2.5, `opened after ${b.open} s vs ${a.open} s`);
  } finally {
    await server.down();
    await Deno.remove(alone.dir, { recursive: true });
    await Deno.remove(slow.dir, { recursive: true });
  }
});
