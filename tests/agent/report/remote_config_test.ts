import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import type { DatabaseSync } from "node:sqlite";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { defaultConfig } from "../../../core/config/mod.ts";
import {
  applyRemoteConfig,
  changedKeys,
  commandId,
  MetricsInterval,
  parseRemoteConfig,
  type RemoteConfig,
} from "../../../core/report/mod.ts";
import { FlowtriqApi, RemoteControl } from "../../../agent/report/mod.ts";
import { openStateDb, Outbox } from "../../../agent/state/mod.ts";
import { L7Part } from "../../../agent/l7/mod.ts";
import { Reporting } from "../../../agent/report/mod.ts";
import { LogGenerator } from "../../support/access_logs.ts";
import { FlowtriqServer } from "../../support/flowtriq_server.ts";

Deno.test("parseRemoteConfig() keeps well-typed keys and names each wrong one in one line", () => {
  const r = parseRemoteConfig({
    suspended: false,
    pps_threshold: 5000,
    dynamic_threshold: "no",
    pcap_enabled: false,
    ioc_patterns: { pattern: "x" }, // a map where a list was expected
    ip_blocklist: [{ indicator: "198.18.0.1" }],
    attack_holddown: 2, // below 3
    attack_cooldown: 15,
    l7: [],
    flow: { enabled: true, port: 2055 },
    pending_commands: [{ id: 1 }],
    preferred_firewall: 42,
    gre_tunnels: "unknown keys are ignored",
  });
  assert(r.ok);
  assertEquals(r.config, {
    suspended: false,
    pps_threshold: 5000,
    pcap_enabled: false,
    ip_blocklist: [{ indicator: "198.18.0.1" }],
    attack_cooldown: 15,
    flow: { enabled: true, port: 2055 },
    pending_commands: [{ id: 1 }],
  });
  assertEquals(r.warnings.length, 5);
  for (const w of r.warnings) assert(!w.includes("\n"), w);
  assertMatch(r.warnings.join("|"), /"ioc_patterns" ignored: an object is invalid/);
  assertMatch(r.warnings.join("|"), /"attack_holddown" ignored: 2 is invalid/);
  for (const bad of [null, [], "text", 3]) assert(!parseRemoteConfig(bad).ok);
});

Deno.test("applyRemoteConfig() sets a static threshold, timings and PCAP over the local config", () => {
  const local = defaultConfig();
  const remote: RemoteConfig = {
    pps_threshold: 7000,
    attack_holddown: 4,
    attack_cooldown: 12,
    pcap_enabled: false,
  };
  const c = applyRemoteConfig(local, remote);
  assertEquals(
    [c.pps_threshold, c.dynamic_threshold, c.attack_holddown, c.attack_cooldown, c.pcap_enabled],
    [7000, false, 4, 12, false],
  );
  // A falsy pps_threshold leaves the thresholds dynamic; keys the server stops sending revert.
  const d = applyRemoteConfig(local, { pps_threshold: 0, dynamic_threshold: true });
  assertEquals([d.pps_threshold, d.dynamic_threshold], [local.pps_threshold, true]);
  assertEquals(applyRemoteConfig(local, {}), local);
  assertEquals(commandId({ id: 3, action: "iptables_block" }), 3);
  assertEquals(commandId({ id: "3" }), null);
  assertEquals(commandId([1]), null);
});

Deno.test("parseRemoteConfig() and applyRemoteConfig() map the server's l7 settings onto the l7_* keys", () => {
  const local = { ...defaultConfig(), l7_log_paths: ["/var/log/nginx/access.log"] };
  const r = parseRemoteConfig({
    l7: {
      enabled: true,
      action: "auto_detect",
      log_path: "/srv/www/access.log",
      rps_threshold: 500,
      error_rate_threshold: 30,
      sensitivity: "high",
    },
  });
  assert(r.ok);
  assertEquals(r.warnings, []);
  const c = applyRemoteConfig(local, r.config);
  assertEquals(
    [c.l7_enabled, c.l7_log_paths, c.l7_rps_threshold, c.l7_error_rate_threshold, c.l7_sensitivity],
    [true, ["/srv/www/access.log"], 500, 30, "high"],
  );
  // Absent, null or 0: the local values stay; an equal list is no change.
  for (
    const l7 of [{}, { log_path: null, rps_threshold: 0, sensitivity: null }, { log_path: "" }]
  ) {
    assertEquals(applyRemoteConfig(local, { l7 }), local);
  }
  assertEquals(changedKeys(local, { ...local, l7_log_paths: [...local.l7_log_paths] }), []);
  // Wrong types or values: one line each, the l7 key ignored, the rest applies.
  // A bad l7 sub-key is refused alone: the others still apply.
  for (
    const [l7, where] of [
      ["on", "l7"],
      [{ enabled: "yes", sensitivity: "low" }, "l7.enabled"],
      [{ rps_threshold: 0.5, sensitivity: "low" }, "l7.rps_threshold"],
      [{ error_rate_threshold: 250, sensitivity: "low" }, "l7.error_rate_threshold"],
      [{ sensitivity: "extreme" }, "l7.sensitivity"],
      [{ log_path: ["/a", "/b"], sensitivity: "low" }, "l7.log_path"],
      [{ log_path: "logs/access.log", sensitivity: "low" }, "l7.log_path"],
    ] as [unknown, string][]
  ) {
    const bad = parseRemoteConfig({ l7, attack_cooldown: 20 });
    assert(bad.ok);
    const rest = where === "l7" ? {} : {
      l7: where === "l7.sensitivity" ? {} : { sensitivity: "low" as const },
    };
    assertEquals(bad.config, { attack_cooldown: 20, ...rest });
    assertEquals(bad.refused.map((r) => r.key), [where]);
    assertEquals(bad.warnings.length, 1);
    assert(!bad.warnings[0].includes("\n"));
    assertMatch(bad.warnings[0], new RegExp(`"${where.replace(".", "\\.")}" ignored`));
  }
});

Deno.test("L7Part starts, restarts and stops L7 as the merged config says, and heartbeats report it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-remote-" });
  const server = new FlowtriqServer();
  server.up();
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ftl7-remote"], sinks: ["mem"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  const log = getLogger(["ftl7-remote"]);
  const accessLog = `${dir}/access.log`;
  const otherLog = `${dir}/other.log`;
  await Deno.writeTextFile(accessLog, "");
  await Deno.writeTextFile(otherLog, "");
  // L7 is off in the file; the server turns it on, on its log, with a higher rate floor.
  server.config = {
    l7: { enabled: true, action: "auto_detect", log_path: accessLog, rps_threshold: 500 },
  };
  const config = {
    ...defaultConfig(),
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    state_dir: dir,
    l7_log_paths: [otherLog],
    heartbeat_interval: 0.2,
    metrics_interval: 60,
  };
  const db = openStateDb(`${dir}/ftagent.db`);
  // The temporary folder stands for a web server's log folder (pushed paths must lie in one).
  const reporting = new Reporting({ config, db, log, version: "test", remote: { logDirs: [dir] } });
  const l7 = await L7Part.start({ config, log, emit: () => {}, outbox: reporting.outbox });
  try {
    assertEquals(l7.status(), { enabled: false, status: "off" });
    reporting.attachL7(l7);
    assert(await server.waitFor(() => l7.runtime !== null), "the server did not start L7");
    const runtime = l7.runtime!;
    assertEquals(runtime.paths, [accessLog]);
    // A second of log lines closes with the server's threshold (the local one is 100).
    const g = new LogGenerator(5);
    const sec = Math.floor(Date.now() / 1000);
    await Deno.writeTextFile(accessLog, g.second(sec, "normal", 5).join("\n") + "\n", {
      append: true,
    });
    assert(await server.waitFor(() => runtime.detector.windows > 0, 10_000), "no window closed");
    assertEquals(runtime.detector.threshold, 500);
    const heartbeat = () =>
      server.accepted(/^\/agent\/heartbeat$/).map((r) => r.body as Record<string, unknown>)
        .find((b) => b.l7_enabled === true);
    assert(await server.waitFor(() => heartbeat() !== undefined));
    assertEquals(heartbeat()!.l7_status, `tailing ${accessLog}`);
    // A reload that keeps the server's settings changes nothing; the server's log_path wins.
    reporting.reconfigure({ ...config, l7_log_paths: [`${dir}/third.log`] });
    await new Promise((r) => setTimeout(r, 100));
    assert(l7.runtime === runtime);
    // Other paths restart L7 on them; l7_enabled off stops it.
    l7.configure({ ...config, l7_enabled: true });
    assert(await server.waitFor(() => l7.runtime !== null && l7.runtime !== runtime));
    assertEquals(l7.runtime!.paths, [otherLog]);
    l7.configure(config);
    assert(await server.waitFor(() => l7.runtime === null));
    assertEquals(l7.status(), { enabled: false, status: "off" });
    const said = records.map((r) => r.message.join(""));
    assert(
      said.some((m) => m.includes("L7 detection stops: l7_log_paths changed")),
      said.join("|"),
    );
    assert(said.some((m) => m.includes("L7 detection stops: l7_enabled is off")));
  } finally {
    await l7.stop();
    await reporting.stop();
    db.close();
    await server.down();
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MetricsInterval reports the interval's max pps and bps, average, samples and shares", () => {
  const m = new MetricsInterval();
  m.add({ pps: 100, bps: 800_000, tcp: 80, udp: 10, icmp: 10, packets: 100 });
  m.add({ pps: 300, bps: 400_000, tcp: 100, udp: 200, icmp: 0, packets: 300 });
  assertEquals(m.take(12, 20000), {
    pps: 300,
    bps: 800_000,
    avg_pps: 200,
    samples: 2,
    tcp_pct: 45,
    udp_pct: 52.5,
    icmp_pct: 2.5,
    conn_count: 12,
    threshold: 20000,
  });
  assertEquals(m.take(0, Infinity).samples, 0);
});

async function control(
  server: FlowtriqServer,
  db: DatabaseSync,
  seen: RemoteConfig[],
  warnings: string[],
  ran: unknown[],
): Promise<RemoteControl> {
  const rc = new RemoteControl({
    api: new FlowtriqApi({
      apiBase: server.base,
      apiKey: server.apiKey,
      nodeUuid: server.nodeUuid,
      version: "test",
    }),
    outbox: new Outbox(db),
    onCommand: (c) => {
      ran.push(c);
      return Promise.resolve({ status: "applied", error: null });
    },
    onConfig: (c) => seen.push(c),
    warn: (m) => warnings.push(m),
    info: () => {},
    attackOpen: () => false,
  });
  await server.waitFor(() => seen.length + warnings.length > 0);
  await new Promise((r) => setTimeout(r, 100));
  return rc;
}

Deno.test("RemoteControl ignores garbage config answers and runs each command once, also after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-remote-" });
  const server = new FlowtriqServer();
  server.up();
  const seen: RemoteConfig[] = [];
  const warnings: string[] = [];
  const ran: unknown[] = [];
  let db = openStateDb(`${dir}/ftagent.db`);
  try {
    server.config = "<html>502 Bad Gateway</html>";
    let rc = await control(server, db, seen, warnings, ran);
    await rc.stop();
    assertEquals(seen, []);
    assertMatch(warnings[0], /config response ignored: the answer is not JSON/);

    server.config = [1, 2];
    warnings.length = 0;
    rc = await control(server, db, seen, warnings, ran);
    await rc.stop();
    assertMatch(warnings[0], /config response ignored: the answer is JSON but not an object/);

    server.config = { pcap_enabled: "off", attack_cooldown: 20 };
    server.commands = [{ id: 41, command_type: "iptables", command_text: "x", title: "t" }];
    warnings.length = 0;
    rc = await control(server, db, seen, warnings, ran);
    assertEquals(seen, [{ attack_cooldown: 20, pending_commands: server.commands }]);
    assertEquals(warnings.length, 1);
    rc.fetchNow(); // the server still lists the command (not yet acknowledged)
    await server.waitFor(() => server.accepted(/config/).length >= 4);
    await rc.stop();
    assertEquals(ran.length, 1);
    const ack = new Outbox(db).next("flowtriq")!;
    assertEquals([ack.kind, ack.key], ["ack", "ack:41"]);
    assertEquals((ack.body as { body: unknown }).body, {
      command_id: 41,
      status: "applied",
      error: null,
    });

    // A restart with the ack still undelivered: the command does not run again.
    db.close();
    db = openStateDb(`${dir}/ftagent.db`);
    rc = await control(server, db, seen, warnings, ran);
    await rc.stop();
    assertEquals(ran.length, 1);
    assertEquals(new Outbox(db).stats().depth, 1);
  } finally {
    db.close();
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});
