import { assert, assertEquals, assertMatch } from "./_assert.ts";
import type { DatabaseSync } from "node:sqlite";
import { defaultConfig } from "../core/config.ts";
import { MetricsInterval } from "../core/metrics_interval.ts";
import {
  applyRemoteConfig,
  commandId,
  parseRemoteConfig,
  type RemoteConfig,
} from "../core/remote_config.ts";
import { FlowtriqApi } from "../agent/flowtriq_api.ts";
import { Outbox } from "../agent/outbox.ts";
import { RemoteControl } from "../agent/remote_control.ts";
import { openStateDb } from "../agent/state_db.ts";
import { FlowtriqServer } from "./_flowtriq_server.ts";

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
