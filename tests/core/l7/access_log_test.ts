// Access log parsers: lines written by real servers (nginx 1.22, Apache 2.4, HAProxy 2.6 and
// Caddy 2.6 from Debian 12, captured on this project's build machine, and captured live by the
// tests at the end), format auto-detection, and bad lines.
import { assert, assertEquals } from "../../support/assert.ts";
import { detectFormat, type LogFormat, LogParser, type LogRecord } from "../../../core/l7/mod.ts";
import {
  fetchMany,
  startApache,
  startCaddy,
  startHaproxy,
  startNginx,
  type WebServer,
} from "../../support/web_servers.ts";

const UA = "Mozilla/5.0 (X11; Linux x86_64) test \\x22quoted\\x22";

/** Real lines, as each server wrote them for the same three requests. */
const REAL: Record<string, string[]> = {
  nginx_combined: [
    `198.18.0.7 - - [22/Nov/2026:05:09:21 +0000] "GET / HTTP/1.1" 200 3 "-" "${UA}"`,
    `198.18.0.7 - - [22/Nov/2026:05:09:21 +0000] "GET /login?user=a&x=%22q%22 HTTP/1.1" 401 3 "-" "${UA}"`,
    `198.18.0.7 - - [22/Nov/2026:05:09:21 +0000] "GET /api/v1/items?id=1%20OR%201=1 HTTP/1.1" 200 3 "-" "${UA}"`,
  ],
  nginx_json: [
    `{"time_iso8601":"2026-11-22T05:09:22+00:00","remote_addr":"198.18.0.7","request":"GET / HTTP/1.1","status":200,"body_bytes_sent":3,"request_time":0.000,"http_user_agent":"Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\"","http_referer":"","host":"127.0.0.1","server_protocol":"HTTP/1.1"}`,
    `{"time_iso8601":"2026-11-22T05:09:22+00:00","remote_addr":"198.18.0.7","request":"GET /login?user=a&x=%22q%22 HTTP/1.1","status":401,"body_bytes_sent":3,"request_time":0.012,"http_user_agent":"Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\"","http_referer":"","host":"127.0.0.1","server_protocol":"HTTP/1.1"}`,
  ],
  apache_combined: [
    `127.0.0.1 - - [22/Nov/2026:05:09:30 +0000] "GET / HTTP/1.1" 404 397 "-" "Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\""`,
    `127.0.0.1 - - [22/Nov/2026:05:09:30 +0000] "GET /login?user=a&x=%22q%22 HTTP/1.1" 401 585 "-" "Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\""`,
  ],
  apache_vhost_combined: [
    `localhost:80 127.0.0.1 - - [22/Nov/2026:05:09:30 +0000] "GET /api/v1/items?id=1%20OR%201=1 HTTP/1.1" 404 397 "-" "Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\""`,
  ],
  apache_common: [
    `127.0.0.1 - - [22/Nov/2026:05:09:30 +0000] "GET /login?user=a&x=%22q%22 HTTP/1.1" 401 421`,
  ],
  haproxy: [
    `198.18.0.7:57002 [22/Nov/2026:05:09:24.138] fe fe/<NOSRV> 0/-1/-1/-1/0 200 73 - - LR-- 1/1/0/0/0 0/0 {Mozilla/5.0 (X11; Linux x86_64) test #22quoted#22} "GET / HTTP/1.1"`,
    `198.18.0.7:57002 [22/Nov/2026:05:09:24.139] fe fe/<NOSRV> 0/-1/-1/-1/0 401 83 - - LR-- 1/1/0/0/0 0/0 {Mozilla/5.0 (X11; Linux x86_64) test #22quoted#22} "GET /login?user=a&x=%22q%22 HTTP/1.1"`,
  ],
  haproxy_syslog: [
    `<134>Nov 22 05:09:25 localhost haproxy[27741]: 198.18.0.7:54294 [22/Nov/2026:05:09:25.440] fe fe/<NOSRV> 0/-1/-1/-1/0 401 83 - - LR-- 1/1/0/0/0 0/0 {Mozilla/5.0 (X11; Linux x86_64) test #22quoted#22} "GET /login?user=a&x=%22q%22 HTTP/1.1"`,
    `Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`,
  ],
  caddy: [
    `{"level":"error","ts":1795324172.0150802,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"32978","proto":"HTTP/1.1","method":"GET","host":"127.0.0.1:45143","uri":"/login?user=a&x=%22q%22","headers":{"User-Agent":["Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\""],"X-Forwarded-For":["198.18.0.7"],"Accept":["*/*"]}},"user_id":"","duration":0.000019687,"size":2,"status":401,"resp_headers":{"Server":["Caddy"]}}`,
  ],
};

function parseAll(format: LogFormat | "auto", lines: string[]): LogRecord[] {
  const p = new LogParser(format);
  return lines.map((l) => {
    const r = p.parse(l);
    assert(r !== null, `${format}: ${p.lastError}: ${l}`);
    return { ...r };
  });
}

Deno.test("LogParser reads nginx combined lines: client, time, request, query, status, agent", () => {
  const [a, b] = parseAll("combined", REAL.nginx_combined);
  assertEquals(a.clientIp, "198.18.0.7");
  assertEquals(a.timeMs, Date.UTC(2026, 10, 22, 5, 9, 21));
  assertEquals([a.method, a.path, a.query, a.protocol, a.status, a.bytes], [
    "GET",
    "/",
    "",
    "1.1",
    200,
    3,
  ]);
  assertEquals(a.userAgent, UA);
  assertEquals(a.referer, "");
  assert(Number.isNaN(a.responseMs));
  assertEquals([b.path, b.query, b.status], ["/login", "user=a&x=%22q%22", 401]);
});

Deno.test("LogParser reads Apache combined, vhost_combined and common lines", () => {
  const [a] = parseAll("combined", REAL.apache_combined);
  assertEquals(a.userAgent, 'Mozilla/5.0 (X11; Linux x86_64) test \\"quoted\\"');
  assertEquals([a.clientIp, a.status, a.bytes], ["127.0.0.1", 404, 397]);
  const [v] = parseAll("vhost_combined", REAL.apache_vhost_combined);
  assertEquals([v.host, v.clientIp, v.path, v.query], [
    "localhost",
    "127.0.0.1",
    "/api/v1/items",
    "id=1%20OR%201=1",
  ]);
  const [c] = parseAll("common", REAL.apache_common);
  assertEquals([c.clientIp, c.status, c.bytes, c.userAgent], ["127.0.0.1", 401, 421, ""]);
});

Deno.test("LogParser reads nginx escape=json lines with request_time in seconds", () => {
  const [a, b] = parseAll("json", REAL.nginx_json);
  assertEquals([a.clientIp, a.method, a.path, a.status, a.protocol], [
    "198.18.0.7",
    "GET",
    "/",
    200,
    "1.1",
  ]);
  assertEquals(a.timeMs, Date.UTC(2026, 10, 22, 5, 9, 22));
  assertEquals(a.userAgent, 'Mozilla/5.0 (X11; Linux x86_64) test "quoted"');
  assertEquals(b.responseMs, 12);
  assertEquals(b.query, "user=a&x=%22q%22");
  assertEquals(b.host, "127.0.0.1");
});

Deno.test("LogParser reads Caddy's nested request object: remote_ip, not the Host header", () => {
  const [a] = parseAll("caddy", REAL.caddy);
  assertEquals(a.clientIp, "127.0.0.1");
  assertEquals(a.host, "127.0.0.1:45143");
  assertEquals([a.path, a.query, a.status, a.bytes, a.protocol], [
    "/login",
    "user=a&x=%22q%22",
    401,
    2,
    "1.1",
  ]);
  assertEquals(Math.round(a.timeMs), 1795324172015);
  assertEquals(Math.round(a.responseMs * 1e6), 19687); // duration 0.000019687 s
  assertEquals(a.userAgent, 'Mozilla/5.0 (X11; Linux x86_64) test "quoted"');
  // client_ip (Caddy 2.7+, the address after trusted proxies) wins over remote_ip.
  const p = new LogParser("caddy");
  const r = p.parse(
    '{"ts":1.7e9,"request":{"remote_ip":"10.0.0.1","client_ip":"198.18.1.1","method":"GET","uri":"/","proto":"HTTP/2.0"},"status":200,"size":1,"duration":1.5}',
  )!;
  assertEquals([r.clientIp, r.protocol, r.responseMs], ["198.18.1.1", "2", 1500]);
});

Deno.test("LogParser reads HAProxy httplog lines, plain and behind syslog prefixes", () => {
  const [a, b] = parseAll("haproxy", REAL.haproxy);
  assertEquals(a.clientIp, "198.18.0.7");
  assertEquals(a.timeMs, Date.UTC(2026, 10, 22, 5, 9, 24, 138));
  assertEquals([a.status, a.bytes, a.responseMs, a.protocol], [200, 73, 0, "1.1"]);
  assertEquals(a.userAgent, "Mozilla/5.0 (X11; Linux x86_64) test #22quoted#22");
  assertEquals([b.path, b.query, b.status], ["/login", "user=a&x=%22q%22", 401]);
  const [c, d] = parseAll("haproxy", REAL.haproxy_syslog);
  assertEquals([c.clientIp, c.status, c.path], ["198.18.0.7", 401, "/login"]);
  assertEquals([d.clientIp, d.responseMs, d.status, d.bytes], ["10.0.1.2", 109, 200, 2750]);
  // The accept date has no zone: local time at the offset given.
  const east = new LogParser("haproxy", { utcOffsetMinutes: 60 }).parse(REAL.haproxy[0])!;
  assertEquals(east.timeMs, Date.UTC(2026, 10, 22, 4, 9, 24, 138));
});

Deno.test("detectFormat names every real format from its first lines", () => {
  const expect: Record<string, LogFormat> = {
    nginx_combined: "combined",
    nginx_json: "json",
    apache_combined: "combined",
    apache_vhost_combined: "vhost_combined",
    apache_common: "common",
    haproxy: "haproxy",
    haproxy_syslog: "haproxy",
    caddy: "caddy",
  };
  for (const [name, lines] of Object.entries(REAL)) {
    const d = detectFormat(lines);
    assertEquals(d.format, expect[name], name);
    assertEquals(d.matched, lines.length, name);
  }
  const auto = new LogParser("auto");
  assert(auto.parse(REAL.haproxy[0]) !== null);
  assertEquals(auto.format, "haproxy");
});

Deno.test("LogParser counts bad lines by reason and never throws", () => {
  const p = new LogParser("combined");
  const bad = [
    "",
    "garbage",
    '1.2.3.4 - - [99/Foo/2026:05:09:21 +0000] "GET / HTTP/1.1" 200 3 "-" "x"',
    '1.2.3.4 - - [22/Nov/2026:05:09:21 +0000] "GET / HTTP/1.1',
    '1.2.3.4 - - [22/Nov/2026:05:09:21 +0000] "GET / HTTP/1.1" abc 3',
    "x".repeat(70000),
    "\u0000\u0001\u00ff\ufffd binary",
  ];
  for (const l of bad) assertEquals(p.parse(l), null, l.slice(0, 40));
  assertEquals(p.rejectedTotal, bad.length);
  assertEquals(p.parsed, 0);
  assertEquals(p.rejected["empty line"], 1);
  assertEquals(p.rejected["bad time"], 1);
  assertEquals(p.rejected["line too long"], 1);
  assert(p.rejected["bad status"] === 1 && p.rejected["unterminated request field"] === 1);
  for (const f of ["json", "haproxy", "caddy"] as const) {
    const q = new LogParser(f);
    for (const l of [...bad, "{", "[1,2]", '{"remote_addr":"1.2.3.4"}']) q.parse(l);
    assertEquals(q.parsed, 0, f);
  }
  // A TLS handshake sent to a plain HTTP port is still a request (status 400), with no path.
  const tls = p.parse(
    '198.18.0.9 - - [22/Nov/2026:05:09:21 +0000] "\\x16\\x03\\x01\\x00\\xF1\\x01" 400 157 "-" "-"',
  )!;
  assertEquals([tls.status, tls.method, tls.path], [400, "", ""]);
});

Deno.test("LogParser reads response times in the unit the line declares", () => {
  const p = new LogParser("combined");
  const base = '198.18.0.7 - - [22/Nov/2026:05:09:21 +0000] "GET / HTTP/2.0" 200 3 "-" "ua"';
  assertEquals(p.parse(base + " rt=0.250")!.responseMs, 250);
  assertEquals(p.parse(base + ' "198.18.0.1" request_time=1.5')!.responseMs, 1500);
  assertEquals(p.parse(base + " us=2500")!.responseMs, 2.5);
  assertEquals(p.parse(base)!.protocol, "2");
  const j = new LogParser("json");
  const line = (k: string, v: string) =>
    `{"time":"2026-11-22T05:09:21Z","remote_addr":"1.2.3.4","request":"GET / HTTP/1.1","status":200,"${k}":${v}}`;
  assertEquals(j.parse(line("request_time", '"0.004"'))!.responseMs, 4);
  assertEquals(j.parse(line("duration_ms", "12"))!.responseMs, 12);
  assertEquals(j.parse(line("request_time_us", "1500"))!.responseMs, 1.5);
});

// ---- live: lines the real servers write now --------------------------------------------

async function liveLines(server: WebServer, file = server.log): Promise<string[]> {
  try {
    const paths = ["/", "/login?user=a", "/shop/item?id=7&utm=x"];
    await fetchMany(
      server.port,
      paths,
      (i) => ({ "User-Agent": `ftl7-test/${i}`, "X-Forwarded-For": `198.18.5.${i + 1}` }),
    );
    const until = Date.now() + 5000;
    for (;;) {
      const text = await Deno.readTextFile(file).catch(() => "");
      const lines = text.split("\n").filter((l) => l !== "");
      if (lines.length >= paths.length || Date.now() > until) return lines;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await server.stop();
  }
}

function checkLive(lines: string[], format: LogFormat, ipFrom: "xff" | "peer"): void {
  assertEquals(lines.length, 3, lines.join("\n"));
  assertEquals(detectFormat(lines).format, format);
  const recs = parseAll(format, lines);
  const now = Date.now();
  for (let i = 0; i < 3; i++) {
    const r = recs[i];
    assertEquals(r.clientIp, ipFrom === "xff" ? `198.18.5.${i + 1}` : "127.0.0.1");
    assert(Math.abs(r.timeMs - now) < 60_000, `time ${r.timeMs}`);
    assertEquals(r.method, "GET");
    assertEquals(r.protocol, "1.1");
    if (format !== "common") assertEquals(r.userAgent, `ftl7-test/${i}`);
  }
  assertEquals([recs[1].path, recs[1].query, recs[1].status], ["/login", "user=a", 401]);
  assertEquals([recs[2].path, recs[2].query], ["/shop/item", "id=7&utm=x"]);
}

Deno.test("real nginx lines (combined, and escape=json) parse with the right client", async () => {
  checkLive(await liveLines(await startNginx()), "combined", "xff");
  const json = await startNginx(
    `escape=json '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr","request":"$request","status":$status,"body_bytes_sent":$body_bytes_sent,"request_time":$request_time,"http_user_agent":"$http_user_agent","http_host":"$host"}'`,
  );
  checkLive(await liveLines(json), "json", "xff");
});

Deno.test("real Apache lines (combined, vhost_combined, common) parse", async () => {
  const s = await startApache();
  const dir = s.dir;
  const lines = await liveLinesKeep(s, [`${dir}/other_vhosts_access.log`, `${dir}/common.log`]);
  checkLive(lines.main, "combined", "peer");
  checkLive(lines.extra[0], "vhost_combined", "peer");
  checkLive(lines.extra[1], "common", "peer");
});

Deno.test("real HAProxy httplog lines (raw and syslog-prefixed) parse", async () => {
  checkLive(await liveLines(await startHaproxy()), "haproxy", "xff");
  checkLive(await liveLines(await startHaproxy(true)), "haproxy", "xff");
});

Deno.test("real Caddy JSON lines parse with remote_ip as the client", async () => {
  checkLive(await liveLines(await startCaddy()), "caddy", "peer");
});

/** Like liveLines, also reading other logs of the same server before it stops. */
async function liveLinesKeep(
  server: WebServer,
  extra: string[],
): Promise<{ main: string[]; extra: string[][] }> {
  const stop = server.stop;
  const texts: string[][] = [];
  server.stop = async () => {
    for (const f of extra) {
      texts.push((await Deno.readTextFile(f)).split("\n").filter((l) => l !== ""));
    }
    await stop();
  };
  const main = await liveLines(server);
  return { main, extra: texts };
}
