import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { configure, getLogger, type LogRecord } from "@logtape/logtape";
import { Allowlist, type MitigationAction } from "../../../core/mitigate/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";
import {
  CloudflareClient,
  Enforcer,
  type FirewallBackend,
  Mitigator,
} from "../../../agent/mitigate/mod.ts";
import { MitigationStore, openStateDb } from "../../../agent/state/mod.ts";

// The firewall itself is exercised in namespaces (mitigation_live_test.ts); here the runtime
// must not touch the host's firewall, so this backend only records what it is asked to do.
class RecordingBackend implements FirewallBackend {
  readonly name = "nftables";
  readonly calls: string[] = [];
  handles(a: MitigationAction): boolean {
    return a.type !== "syn_cookies" && a.type !== "cloudflare_rule";
  }
  reset() {
    this.calls.push("reset");
    return Promise.resolve();
  }
  ensure() {
    this.calls.push("ensure");
    return Promise.resolve();
  }
  apply(actions: readonly MitigationAction[]) {
    this.calls.push(...actions.map((a) => `apply ${a.type}`));
    return Promise.resolve();
  }
  undo(actions: readonly MitigationAction[]) {
    this.calls.push(...actions.map((a) => `undo ${a.type}`));
    return Promise.resolve();
  }
  protects = 0;
  protect() {
    this.protects++;
    return Promise.resolve();
  }
  remove() {
    this.calls.push("remove");
    return Promise.resolve(null);
  }
}

/** A stand-in for Cloudflare's access-rules API that checks the token and records calls. */
function cloudflareStandIn(token: string) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  let next = 1;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = req.method === "POST" ? await req.json() : null;
    calls.push({ method: req.method, path, body });
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({
        success: false,
        errors: [{ code: 10000, message: "Authentication error" }],
      }, {
        status: 403,
      });
    }
    if (req.method === "POST") {
      return Response.json({ success: true, result: { id: `rule${next++}` } });
    }
    return Response.json({ success: true, result: { id: path.split("/").pop() } });
  });
  return { calls, server, base: `http://127.0.0.1:${server.addr.port}/client/v4` };
}

const logs: string[] = [];
await configure({
  sinks: { mem: (r: LogRecord) => logs.push(r.message.map(String).join("")) },
  loggers: [
    { category: ["test"], sinks: ["mem"], lowestLevel: "debug" },
    { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
  ],
  reset: true,
});
const log = getLogger(["test"]);

async function runtime(
  mitigation: Record<string, unknown>,
  cloudflare?: CloudflareClient,
  now?: () => number,
  reporting = true,
) {
  const dir = await Deno.makeTempDir({ prefix: "ftm-rt-" });
  const db = openStateDb(`${dir}/ftagent.db`);
  const backend = new RecordingBackend();
  const store = new MitigationStore(db);
  const settings = parseConfig({ mitigation }).config.mitigation;
  const m = new Mitigator({
    settings,
    enforcer: new Enforcer(backend, cloudflare ?? null, `${dir}/tcp_syncookies`),
    store,
    allowlist: new Allowlist([{ cidr: "203.0.113.250", why: "own address" }]),
    log,
    now,
    reporting,
  });
  await Deno.writeTextFile(`${dir}/tcp_syncookies`, "0\n");
  return {
    m,
    store,
    backend,
    dir,
    async close() {
      db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function ev(
  kind: "open" | "update" | "resolve",
  fields: Record<string, unknown> = {},
): IncidentEvent {
  return {
    type: "incident",
    event: kind,
    id: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    target: "198.18.0.2",
    inner_ip: "198.18.0.2",
    attack_family: "http_flood",
    attack_subtype: "get_flood",
    spoofing_detected: false,
    top_src_ips: [{ ip: "203.0.113.7", count: 500 }, { ip: "2001:db8::9", count: 400 }],
    evidence: {},
    ...fields,
  };
}

Deno.test("Mitigator puts Cloudflare access rules on the sources and deletes them on resolve", async () => {
  const cf = cloudflareStandIn("sekret");
  const rt = await runtime(
    {
      mode: "auto",
      rules: { http_flood: { actions: [{ type: "cloudflare", mode: "challenge" }] } },
      cloudflare: { api_token: "sekret", zone_id: "abc123", api_base: cf.base },
    },
    new CloudflareClient(cf.base, "sekret", "abc123"),
  );
  try {
    await rt.m.handle(ev("open"));
    const path = "/client/v4/zones/abc123/firewall/access_rules/rules";
    assertEquals(cf.calls.map((c) => [c.method, c.path]), [["POST", path], ["POST", path]]);
    assertEquals(cf.calls[0].body, {
      mode: "challenge",
      configuration: { target: "ip", value: "203.0.113.7" },
      notes: "ftagent aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    });
    assertEquals((cf.calls[1].body as { configuration: unknown }).configuration, {
      target: "ip6",
      value: "2001:db8::9",
    });
    assertEquals(rt.store.active().map((r) => r.detail), ["rule1", "rule2"]);
    await rt.m.handle(ev("resolve"));
    assertEquals(cf.calls.slice(2).map((c) => [c.method, c.path]), [
      ["DELETE", `${path}/rule1`],
      ["DELETE", `${path}/rule2`],
    ]);
    assertEquals(rt.store.active(), []);
    assertEquals(rt.backend.calls, []);
  } finally {
    await rt.close();
    await cf.server.shutdown();
  }
});

Deno.test("Mitigator records a refused Cloudflare token as failed with the API's reason", async () => {
  const cf = cloudflareStandIn("right");
  const rt = await runtime(
    {
      mode: "auto",
      rules: { http_flood: { actions: [{ type: "cloudflare" }] } },
      cloudflare: { api_token: "wrong", zone_id: "abc123", api_base: cf.base },
    },
    new CloudflareClient(cf.base, "wrong", "abc123"),
  );
  try {
    await rt.m.handle(ev("open"));
    const rows = rt.store.recent(10);
    assertEquals(rows.map((r) => r.state), ["failed", "failed"]);
    assertMatch(rows[0].result!, /Cloudflare POST answered 403: Authentication error/);
  } finally {
    await rt.close();
    await cf.server.shutdown();
  }
});

Deno.test("Mitigator in manual mode records a proposal that approve() applies and resolve undoes", async () => {
  const rt = await runtime({ mode: "manual" });
  try {
    await rt.m.handle(ev("open"));
    assertEquals(rt.store.recent(10).map((r) => r.state), ["proposed", "proposed"]);
    assertEquals(rt.backend.calls, []);
    assert(logs.some((l) => l.includes("approve with: ftagent mitigation approve aaaaaaaa")));
    assertEquals(await rt.m.approve("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), {
      applied: 2,
      failed: 0,
    });
    assertEquals(rt.backend.calls, ["ensure", "apply drop_source", "apply drop_source"]);
    assertEquals(await rt.m.approve("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"), {
      applied: 0,
      failed: 0,
    });
    await rt.m.handle(ev("resolve"));
    assertEquals(rt.backend.calls.slice(3), ["undo drop_source", "undo drop_source"]);
    assertEquals(rt.store.recent(10).map((r) => [r.state, r.result]), [
      ["undone", "incident resolved"],
      ["undone", "incident resolved"],
    ]);
  } finally {
    await rt.close();
  }
});

Deno.test("Mitigator in dry_run mode only logs and records what it would do", async () => {
  const rt = await runtime({ server_commands: "dry_run" });
  try {
    await rt.m.start();
    await rt.m.handle(ev("open"));
    // Only the removal of what a killed earlier run may have left; nothing is applied.
    assertEquals(rt.backend.calls, ["remove"]);
    assertEquals(rt.store.recent(10).map((r) => r.state), ["dry_run", "dry_run"]);
    assert(
      logs.some((l) => /dry run, would drop all traffic from 203\.0\.113\.7 for 600 s/.test(l)),
    );
    const cmd = await rt.m.command({
      id: 9,
      command_text: "iptables -I INPUT -s 203.0.113.8 -j DROP",
    });
    assertEquals(cmd, {
      status: "failed",
      error: "mitigation.server_commands is dry_run: not applied",
    });
  } finally {
    await rt.close();
  }
});

Deno.test("Mitigator applies pushed commands by default while its own decisions stay dry_run", async () => {
  const rt = await runtime({});
  try {
    await rt.m.start();
    await rt.m.handle(ev("open"));
    assertEquals(rt.store.recent(10).map((r) => r.state), ["dry_run", "dry_run"]);
    const cmd = await rt.m.command({
      id: 9,
      command_text: "iptables -I INPUT -s 203.0.113.8 -j DROP",
    });
    assertEquals(cmd, { status: "applied", error: null });
    assertEquals(rt.backend.calls, ["remove", "ensure", "apply drop_source"]);
  } finally {
    await rt.close();
  }
});

Deno.test("Mitigator of a standalone node (no control plane) applies no pushed command", async () => {
  const rt = await runtime({}, undefined, undefined, false);
  try {
    await rt.m.start();
    const cmd = await rt.m.command({
      id: 9,
      command_text: "iptables -I INPUT -s 203.0.113.8 -j DROP",
    });
    assertEquals(cmd.status, "failed");
    assertEquals(rt.backend.calls, ["remove"]);
  } finally {
    await rt.close();
  }
});

Deno.test("Mitigator applies parsed server commands, refuses hostile ones, and caps the rate", async () => {
  const rt = await runtime({ mode: "auto", max_actions_per_minute: 2 });
  try {
    const ok = await rt.m.command({
      id: 1,
      command_text: "iptables -I INPUT -s 203.0.113.8 -j DROP",
    });
    assertEquals(ok, { status: "applied", error: null });
    const cookies = await rt.m.command({
      id: 2,
      command_text: "sysctl -w net.ipv4.tcp_syncookies=1",
    });
    assertEquals(cookies, { status: "applied", error: null });
    assertEquals((await Deno.readTextFile(`${rt.dir}/tcp_syncookies`)).trim(), "1");
    const hostile = await rt.m.command({ id: 3, command_text: "nft flush ruleset" });
    assertEquals(hostile.status, "failed");
    assertMatch(hostile.error!, /only nft add\/insert\/delete rule/);
    const own = await rt.m.command({
      id: 4,
      command_text: "iptables -I INPUT -s 203.0.113.250 -j DROP",
    });
    assertMatch(own.error!, /allowlisted \(own address/);
    const capped = await rt.m.command({
      id: 5,
      command_text: "iptables -I INPUT -s 203.0.113.9 -j DROP",
    });
    assertEquals(capped, {
      status: "failed",
      error: "refused by the safety caps: actions per minute cap (2) reached",
    });
    // (Not started: the first command makes the table ready.)
    assertEquals(rt.backend.calls, ["ensure", "apply drop_source"]);
    // Shutdown undoes what commands applied and restores the sysctl.
    await rt.m.stop();
    assertEquals((await Deno.readTextFile(`${rt.dir}/tcp_syncookies`)).trim(), "0");
    assertEquals(rt.backend.calls.slice(2), ["undo drop_source", "remove"]);
    assertEquals(rt.store.active(), []);
  } finally {
    await rt.close();
  }
});

Deno.test("Mitigator.start() undoes what a killed run left: SYN cookies restored, Cloudflare rules deleted", async () => {
  const cf = cloudflareStandIn("t");
  const client = new CloudflareClient(cf.base, "t", "abc123");
  const settings = {
    mode: "auto",
    rules: { http_flood: { actions: [{ type: "cloudflare" }] } },
    cloudflare: { api_token: "t", zone_id: "abc123", api_base: cf.base },
  };
  const rt = await runtime(settings, client);
  try {
    await rt.m.handle(
      ev("open", {
        attack_family: "syn_flood",
        attack_subtype: "syn_flood",
        spoofing_detected: true,
      }),
    );
    await rt.m.handle(ev("open"));
    assertEquals((await Deno.readTextFile(`${rt.dir}/tcp_syncookies`)).trim(), "1");
    // A new run on the same database (the first one never stopped).
    const again = new Mitigator({
      settings: parseConfig({ mitigation: settings }).config.mitigation,
      enforcer: new Enforcer(rt.backend, client, `${rt.dir}/tcp_syncookies`),
      store: rt.store,
      allowlist: new Allowlist(),
      log,
    });
    await again.start();
    assertEquals((await Deno.readTextFile(`${rt.dir}/tcp_syncookies`)).trim(), "0");
    assertEquals(cf.calls.filter((c) => c.method === "DELETE").length, 2);
    assertEquals(rt.store.active(), []);
    assert(rt.store.recent(10).every((r) => r.result === "left by a previous run"));
    assertEquals(rt.backend.calls.at(-1), "reset");
  } finally {
    await rt.close();
    await cf.server.shutdown();
  }
});

Deno.test("Mitigator keeps a block two incidents share until the last one resolves", async () => {
  const rt = await runtime({ mode: "auto" });
  try {
    const other = "ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    await rt.m.handle(ev("open"));
    await rt.m.handle(ev("open", { id: other }));
    await rt.m.handle(ev("resolve"));
    assertEquals(rt.backend.calls.filter((c) => c.startsWith("undo")), []);
    assertEquals(rt.store.active().length, 2);
    await rt.m.handle(ev("resolve", { id: other }));
    assertEquals(rt.backend.calls.filter((c) => c.startsWith("undo")).length, 2);
    assertEquals(rt.store.active(), []);
  } finally {
    await rt.close();
  }
});

Deno.test("Mitigator renews actions while updates come and undoes them once they expire", async () => {
  let t = 1_000_000;
  const rt = await runtime({ mode: "auto", ttl_seconds: 10 }, undefined, () => t);
  try {
    const syn = {
      attack_family: "syn_flood",
      attack_subtype: "syn_flood",
      spoofing_detected: true,
    };
    await rt.m.handle(ev("open", syn));
    assertEquals(rt.store.active().map((r) => r.expires_at), [t + 10_000, t + 10_000]);
    t += 6000;
    await rt.m.handle(ev("update", syn));
    assertEquals(rt.store.active().map((r) => r.expires_at), [t + 10_000, t + 10_000]);
    assertEquals(rt.backend.calls, ["apply syn_rate_limit", "apply syn_rate_limit"]);
    t += 6000;
    await rt.m.sweep();
    assertEquals(rt.store.active().length, 2, "not expired yet: renewed");
    assertEquals((await Deno.readTextFile(`${rt.dir}/tcp_syncookies`)).trim(), "1");
    t += 5000;
    await rt.m.sweep();
    assertEquals(rt.store.active(), []);
    assertEquals(rt.store.recent(2).map((r) => r.result), ["expired", "expired"]);
    assertEquals((await Deno.readTextFile(`${rt.dir}/tcp_syncookies`)).trim(), "0");
  } finally {
    await rt.close();
  }
});
