import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { defaultConfig } from "../../../core/config/mod.ts";
import {
  applyRemoteConfig,
  inLogDirs,
  keepRefused,
  parseRemoteConfig,
  WEB_LOG_DIRS,
} from "../../../core/report/mod.ts";

Deno.test("parseRemoteConfig() refuses every pushed number outside its range and keeps the ends of each range", () => {
  const refusedKeys = (input: Record<string, unknown>) => {
    const r = parseRemoteConfig(input);
    assert(r.ok);
    for (const x of r.refused) assert(!x.message.includes("\n"), x.message);
    return r.refused.map((x) => x.key);
  };
  for (
    const [key, bad, good] of [
      ["pps_threshold", [1e308, 99, -1, 100_000_001], [0, null, 100, 100_000_000]],
      ["attack_holddown", [2, 3601, 86400, 3.5], [3, 3600]],
      ["attack_cooldown", [9.9, 3601, 1e308], [10, 3600]],
      ["l7.rps_threshold", [9, 1e308, 10_000_001], [0, null, 10, 10_000_000]],
      ["l7.error_rate_threshold", [0.5, 101], [0, null, 1, 100]],
      ["flow.port", [0, 65536, 80.5], [1, 65535, null]],
      ["flow.sample_rate", [0, 1_000_001, 1.5], [1, 1_000_000, null]],
    ] as [string, unknown[], unknown[]][]
  ) {
    const [top, sub] = key.split(".");
    const wrap = (v: unknown) => sub === undefined ? { [top]: v } : { [top]: { [sub]: v } };
    for (const v of bad) assertEquals(refusedKeys(wrap(v)), [key], `${key}=${v}`);
    for (const v of good) assertEquals(refusedKeys(wrap(v)), [], `${key}=${v}`);
  }
  // Lists and strings are bounded too.
  assertEquals(refusedKeys({ ioc_patterns: Array(1001).fill({ pattern: "x" }) }), [
    "ioc_patterns",
  ]);
  assertEquals(refusedKeys({ ip_blocklist: [{ indicator: "x".repeat(65) }] }), ["ip_blocklist"]);
  assertEquals(refusedKeys({ preferred_firewall: "x".repeat(33) }), ["preferred_firewall"]);
  const r = parseRemoteConfig({ pps_threshold: 1e308 });
  assert(r.ok);
  assertMatch(r.warnings[0], /^remote config key "pps_threshold" ignored: 1e\+308 is invalid/);
  // An accepted extreme still keeps detection on: the threshold is at most 100 Mpps.
  const c = applyRemoteConfig(defaultConfig(), { pps_threshold: 100_000_000 });
  assertEquals([c.pps_threshold, c.dynamic_threshold], [100_000_000, false]);
});

Deno.test("keepRefused() keeps the previous value of each refused key, also inside l7, and never old commands", () => {
  const previous = {
    pps_threshold: 5000,
    l7: { enabled: true, log_path: "/var/log/nginx/access.log" },
    pending_commands: [{ id: 1 }],
  };
  const next = {
    attack_cooldown: 20,
    l7: { enabled: false },
  };
  assertEquals(keepRefused(previous, next, ["pps_threshold", "l7.log_path", "pending_commands"]), {
    attack_cooldown: 20,
    pps_threshold: 5000,
    l7: { enabled: false, log_path: "/var/log/nginx/access.log" },
  });
  // Refused with nothing before: left out (the local value applies).
  assertEquals(keepRefused({}, { l7: { enabled: true } }, ["pps_threshold", "l7.log_path"]), {
    l7: { enabled: true },
  });
  // The whole l7 refused (not an object): the previous l7 stays as it was.
  assertEquals(keepRefused(previous, {}, ["l7"]), { l7: previous.l7 });
});

Deno.test("inLogDirs() accepts only paths inside the web servers' log folders", () => {
  for (
    const p of [
      "/var/log/nginx/access.log",
      "/var/log/nginx/sites/a.log",
      "/var/log/apache2/other_vhosts_access.log",
      "/var/log/httpd/access_log",
      "/var/log/caddy/access.log",
      "/var/log/haproxy.log",
      "/var/log/haproxy/http.log",
      "/usr/local/lsws/logs/access.log",
    ]
  ) assert(inLogDirs(p), p);
  for (
    const p of [
      "/etc/shadow",
      "/var/log/nginx",
      "/var/log/nginx/",
      "/var/log/nginx2/access.log",
      "/var/log/nginx/../../../etc/shadow",
      "/var/log/nginx/./access.log",
      "/var/log/syslog",
      "/var/log/auth.log",
      "var/log/nginx/access.log",
      "/root/.ssh/id_rsa",
    ]
  ) assert(!inLogDirs(p), p);
  assert(WEB_LOG_DIRS.includes("/var/log/nginx"));
  assert(inLogDirs("/srv/logs/a.log", ["/srv/logs/"]));
});
