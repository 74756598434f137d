import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { promtool } from "../../support/promtool.ts";
import {
  agentMetrics,
  type AgentSnapshot,
  escapeLabelValue,
  exposition,
  formatValue,
  healthProblems,
} from "../../../core/report/mod.ts";
import { startMetricsServer } from "../../../agent/observe/mod.ts";

const PACKAGING = new URL("../../../packaging/prometheus/", import.meta.url).pathname;

function snapshot(over: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return {
    version: "0.1.0",
    nowMs: 1_800_000_010_000,
    startMs: 1_800_000_000_000,
    lastTickMs: 1_800_000_009_900,
    capture: {
      running: true,
      source: "eth0",
      packets: 1000,
      bytes: 64000,
      malformed: 2,
      dropped: 3,
      ifDropped: 4,
      sampleRate: 8,
    },
    rates: { t: 1, pps: 100, bps: 51200, protocols: { tcp: 60, udp: 30, icmp: 5, other: 5 } },
    thresholds: { pps: 20000, bps: 2e8, syn_pps: 5000, udp_pps: null },
    baseline: { ready: true, samples: 3600, levels: { pps: 120, bps: 80000 } },
    targets: [
      { target: "interface", state: "idle", pps: 100, bps: 51200, incident: null },
      { target: "198.18.0.1", state: "active", pps: 90, bps: 5000, incident: "abc" },
    ],
    incidents: {
      open: [{
        id: "abc",
        family: "udp_flood",
        subtype: "dns_amplification",
        target: "198.18.0.1",
        startedAt: "2026-11-22T05:00:00Z",
        peakPps: 9000,
        peakBps: 1e8,
      }],
      totalByFamily: { udp_flood: 2, 'we"ird\\fam\nily': 1 },
    },
    listeners: [{ name: "log", queued: 0, handled: 3, dropped: 1, failed: 0 }],
    pcap: { files: 2, droppedFrames: 0, stoppedReason: null },
    reporting: {
      outbox: { depth: 5, dropped: { metrics: 7, incident: 0 } },
      senders: [{
        channel: "alert:slack",
        sent: 3,
        failed: 1,
        dead: 0,
        breaker: "open",
        lastError: "HTTP 503",
      }],
      apiErrors: 4,
    },
    state: { pending: 12, written: 300, refused: 0, failed: 0, fault: "database is locked" },
    process: { rssBytes: 5e7, heapBytes: 1e7, cpuSeconds: 1.25 },
    ...over,
  };
}

Deno.test("exposition() escapes label values and help text and writes special values", () => {
  assertEquals(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assertEquals([NaN, Infinity, -Infinity, 1.5].map(formatValue), ["NaN", "+Inf", "-Inf", "1.5"]);
  const text = exposition([
    {
      name: "x_total",
      help: "line\\one\ntwo",
      type: "counter",
      samples: [{ labels: { l: 'q"' }, value: 2 }],
    },
    { name: "empty", help: "no samples", type: "gauge", samples: [] },
  ]);
  assertEquals(
    text,
    '# HELP x_total line\\\\one\\ntwo\n# TYPE x_total counter\nx_total{l="q\\""} 2\n',
  );
});

Deno.test("agentMetrics() of a full snapshot passes promtool check metrics with no lint findings", async () => {
  const text = exposition(agentMetrics(snapshot()));
  const result = await promtool(["check", "metrics"], text);
  assertEquals(result, { code: 0, output: "" });
  assertMatch(text, /^ftagent_incidents_total\{family="we\\"ird\\\\fam\\nily"\} 1$/m);
  assertMatch(text, /^ftagent_capture_dropped_packets_total\{reason="interface"\} 4$/m);
  assertMatch(text, /^ftagent_capture_sample_rate 8$/m);
  assertMatch(text, /^ftagent_outbox_dropped_total\{kind="metrics"\} 7$/m);
  assertMatch(text, /^ftagent_sender_circuit_open\{channel="alert:slack"\} 1$/m);
  assertMatch(text, /^ftagent_api_errors_total 4$/m);
  assertMatch(text, /^ftagent_protocol_packets_per_second\{protocol="udp"\} 30$/m);
  assertMatch(text, /^ftagent_bytes_per_second 6400$/m);
  assertMatch(text, /^ftagent_threshold\{rate="pps"\} 20000$/m);
  assert(!/rate="udp_pps"/.test(text), "a threshold that is off is left out");
  assertMatch(text, /^ftagent_baseline\{rate="bps"\} 80000$/m);
  assertMatch(text, /^ftagent_incidents_open 1$/m);
  assertMatch(text, /^ftagent_incidents_open_by_family\{family="udp_flood"\} 1$/m);
  assertMatch(text, /^ftagent_targets\{state="active"\} 1$/m);
  assertMatch(text, /^ftagent_listener_dropped_events_total\{listener="log"\} 1$/m);
  assertMatch(text, /^process_cpu_seconds_total 1\.25$/m);
  assertMatch(text, /^process_start_time_seconds 1800000000$/m);
  assertMatch(text, /^ftagent_uptime_seconds 10$/m);
  assertMatch(text, /^ftagent_healthy 1$/m);
  assertMatch(text, /^ftagent_state_writes_pending 12$/m);
  assertMatch(text, /^ftagent_state_writes_total\{result="written"\} 300$/m);
  assertMatch(text, /^ftagent_state_fault 1$/m);
});

Deno.test("healthProblems() names a stopped capture and a stalled loop", () => {
  assertEquals(healthProblems(snapshot()), []);
  const stopped = snapshot();
  stopped.capture.running = false;
  assertEquals(healthProblems(stopped), ["capture on eth0 is not running"]);
  assertEquals(healthProblems(snapshot({ lastTickMs: 1_800_000_001_000 })), [
    "the capture loop is stalled: last tick 9.0 s ago",
  ]);
  assertEquals(healthProblems(snapshot({ lastTickMs: null })), [
    "the capture loop has not started",
  ]);
  assertEquals(healthProblems(snapshot({ lastTickMs: null, nowMs: 1_800_000_001_000 })), []);
});

Deno.test("the metrics server answers /metrics, /health (200 or 503 with the reason) and /status.json", async () => {
  let current = snapshot();
  const errors: string[] = [];
  const server = startMetricsServer({
    port: 0,
    snapshot: () => current,
    onError: (m) => errors.push(m),
  });
  assert(server);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assertEquals(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assertEquals(await promtool(["check", "metrics"], await metrics.text()), {
      code: 0,
      output: "",
    });
    const ok = await fetch(`${base}/health`);
    assertEquals([ok.status, await ok.text()], [200, "ok\n"]);
    current = snapshot({ lastTickMs: 1_800_000_000_000 });
    const bad = await fetch(`${base}/health`);
    assertEquals(
      [bad.status, await bad.text()],
      [503, "unhealthy: the capture loop is stalled: last tick 10.0 s ago\n"],
    );
    const json = await (await fetch(`${base}/status.json`)).json();
    assertEquals(json.incidents.open[0].id, "abc");
    const missing = await fetch(`${base}/nope`);
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    const post = await fetch(`${base}/metrics`, { method: "POST" });
    assertEquals(post.status, 405);
    await post.body?.cancel();
    assertEquals(errors, []);
  } finally {
    await server.close();
  }
});

Deno.test("the metrics server reports a port in use in one line and returns null", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const errors: string[] = [];
    const server = startMetricsServer({
      port: (taken.addr as Deno.NetAddr).port,
      snapshot: () => snapshot(),
      onError: (m) => errors.push(m),
    });
    assertEquals(server, null);
    assertEquals(errors.length, 1);
    assertMatch(
      errors[0],
      /^metrics endpoint off: cannot listen on 127\.0\.0\.1:\d+: the port is in use$/,
    );
  } finally {
    taken.close();
  }
});

Deno.test("packaging/prometheus: the alert rules and the scrape config pass promtool", async () => {
  const rules = await promtool(["check", "rules", `${PACKAGING}alerts.yml`]);
  assertEquals(rules.code, 0, rules.output);
  assertMatch(rules.output, /SUCCESS: 9 rules found/);
  const config = await promtool(["check", "config", `${PACKAGING}scrape.yml`]);
  assertEquals(config.code, 0, config.output);
});

Deno.test("every ftagent metric the alert rules use is in the exposition", async () => {
  const rules = await Deno.readTextFile(`${PACKAGING}alerts.yml`);
  const used = new Set(
    [...rules.matchAll(/expr: (.*)/g)].flatMap((m) => m[1].match(/\bftagent_[a-z_]+/g) ?? []),
  );
  assert(used.size >= 7, [...used].join(", "));
  const text = exposition(agentMetrics(snapshot()));
  for (const name of used) assertMatch(text, new RegExp(`^# TYPE ${name} `, "m"), name);
});

Deno.test("promtool test rules: the incident and agent-down alerts fire on matching series", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-rules-" });
  try {
    await Deno.copyFile(`${PACKAGING}alerts.yml`, `${dir}/alerts.yml`);
    await Deno.writeTextFile(
      `${dir}/test.yml`,
      `rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="ftagent",instance="n1"}'
        values: '1 0 0 0 0'
      - series: 'ftagent_incidents_open{job="ftagent",instance="n1"}'
        values: '0 0 1 1 0'
    alert_rule_test:
      - eval_time: 2m
        alertname: FtagentIncidentOpen
        exp_alerts:
          - exp_labels: { severity: warning, job: ftagent, instance: n1 }
            exp_annotations:
              summary: "DDoS incident open on n1"
              description: "1 incident(s) open; run \`ftagent status\` and \`ftagent incidents\` on the node."
      - eval_time: 4m
        alertname: FtagentIncidentOpen
        exp_alerts: []
      - eval_time: 1m
        alertname: FtagentDown
        exp_alerts: []
      - eval_time: 4m
        alertname: FtagentDown
        exp_alerts:
          - exp_labels: { severity: critical, job: ftagent, instance: n1 }
            exp_annotations:
              summary: "ftagent on n1 is not answering"
              description: "Prometheus cannot scrape ftagent on n1 for 2 minutes: the agent is stopped or its endpoint is unreachable. Nothing is being detected there."
`,
    );
    const result = await promtool(["test", "rules", `${dir}/test.yml`]);
    assertEquals(result.code, 0, result.output);
    assertMatch(result.output, /SUCCESS/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
