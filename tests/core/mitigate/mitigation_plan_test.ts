import { assert, assertEquals, assertMatch, assertThrows } from "../../support/assert.ts";
import {
  ActionBudget,
  actionKey,
  Allowlist,
  capActions,
  planMitigation,
  validateAction,
} from "../../../core/mitigate/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";

function settings(mitigation: Record<string, unknown> = {}) {
  return parseConfig({ mitigation }).config.mitigation;
}

function event(fields: Record<string, unknown>): IncidentEvent {
  return {
    type: "incident",
    event: "open",
    id: "11111111-2222-4333-8444-555555555555",
    target: "198.18.0.2",
    inner_ip: "198.18.0.2",
    attack_family: "unknown",
    attack_subtype: "unknown",
    spoofing_detected: false,
    top_src_ips: [],
    evidence: {},
    ...fields,
  };
}

const allow = new Allowlist([{ cidr: "198.18.0.1", why: "default gateway" }]);

function keys(ev: IncidentEvent, mitigation: Record<string, unknown> = {}): string[] {
  return planMitigation(ev, settings(mitigation), allow).actions.map(actionKey);
}

Deno.test("planMitigation() drops UDP from source port 123 to the target for NTP amplification", () => {
  const plan = planMitigation(
    event({ attack_family: "udp_flood", attack_subtype: "ntp_amplification" }),
    settings(),
    allow,
  );
  assertEquals(plan.mode, "dry_run");
  assertEquals(plan.rule, "default udp_flood/ntp_amplification");
  assertEquals(plan.actions, [{
    type: "drop_traffic",
    target: "198.18.0.2",
    protocol: 17,
    src_port: 123,
    dst_port: null,
    pps: 0,
    ttl_s: 600,
  }]);
  assertEquals(
    keys(event({ attack_family: "udp_flood", attack_subtype: "isakmp_amplification" })),
    [
      "drop_traffic udp 198.18.0.2 sport 500",
      "drop_traffic udp 198.18.0.2 sport 4500",
    ],
  );
  assertEquals(keys(event({ attack_family: "dns_flood", attack_subtype: "dns_amplification" })), [
    "rate_limit udp 198.18.0.2 sport 53 1000pps",
  ]);
});

Deno.test("planMitigation() limits SYNs to the dominant port and turns on SYN cookies", () => {
  const ev = event({
    attack_family: "syn_flood",
    attack_subtype: "syn_flood",
    spoofing_detected: true,
    top_src_ips: [{ ip: "203.0.113.1", count: 100 }],
    evidence: { top_dst_port: { port: 80, pct: 97.5 } },
  });
  const plan = planMitigation(ev, settings({ mode: "auto" }), allow);
  assertEquals(plan.actions.map(actionKey), [
    "syn_rate_limit 198.18.0.2 80 1000pps",
    "syn_cookies",
  ]);
  assertEquals(plan.mode, "auto");
  // Spoofed: sources are never blocked, and the plan says why.
  assertEquals(plan.notes, ["sources are spoofed: not blocking sources"]);
  const spread = event({ ...ev, evidence: { top_dst_port: { port: 80, pct: 3 } } });
  assertEquals(keys(spread), ["syn_rate_limit 198.18.0.2 * 1000pps", "syn_cookies"]);
});

Deno.test("planMitigation() blocks top sources only when they are not spoofed, never allowlisted ones", () => {
  const sources = [
    { ip: "203.0.113.1", count: 1000 },
    { ip: "198.18.0.1", count: 900 },
    { ip: "203.0.113.2", count: 800 },
    { ip: "203.0.113.3", count: 10 },
  ];
  const real = planMitigation(
    event({ attack_family: "udp_flood", attack_subtype: "volumetric", top_src_ips: sources }),
    settings(),
    allow,
  );
  assertEquals(real.actions.map(actionKey), [
    "drop_source 203.0.113.1",
    "drop_source 203.0.113.2",
  ]);
  assertMatch(real.notes.join("\n"), /198\.18\.0\.1 is allowlisted \(default gateway/);
  const spoofed = planMitigation(
    event({
      attack_family: "udp_flood",
      attack_subtype: "volumetric",
      top_src_ips: sources,
      spoofing_detected: true,
      evidence: { top_dst_port: { port: 27015, pct: 80 } },
    }),
    settings(),
    allow,
  );
  assertEquals(spoofed.actions.map(actionKey), ["rate_limit udp 198.18.0.2 dport 27015 1000pps"]);
  const capped = keys(
    event({ attack_family: "http_flood", attack_subtype: "get_flood", top_src_ips: sources }),
    { max_sources_per_incident: 1 },
  );
  assertEquals(capped, ["drop_source 203.0.113.1"]);
  // L7 payloads may carry the sources as {ip: count}.
  assertEquals(
    keys(event({
      attack_family: "http_flood",
      attack_subtype: "get_flood",
      top_src_ips: { "203.0.113.9": 50, "203.0.113.8": 40, "not an ip": 90 },
    })),
    ["drop_source 203.0.113.9", "drop_source 203.0.113.8"],
  );
});

Deno.test("planMitigation() drops fragments, GRE and other protocols to the target", () => {
  assertEquals(
    keys(event({ attack_family: "fragment_flood", attack_subtype: "udp_fragment_flood" })),
    [
      "drop_fragments 198.18.0.2",
    ],
  );
  assertEquals(keys(event({ attack_family: "protocol_flood", attack_subtype: "gre_flood" })), [
    "drop_traffic gre 198.18.0.2",
  ]);
  assertEquals(
    keys(event({ attack_family: "protocol_flood", attack_subtype: "ip_proto_132_flood" })),
    ["drop_traffic 132 198.18.0.2"],
  );
  // Interface-wide incidents act on every destination.
  assertEquals(
    keys(
      event({
        attack_family: "icmp_flood",
        attack_subtype: "ping_flood",
        inner_ip: null,
        spoofing_detected: true,
      }),
    ),
    ["rate_limit icmp * 1000pps"],
  );
  assertEquals(keys(event({ attack_family: "unknown" })), []);
});

Deno.test("planMitigation() plans each part of a multi-vector attack", () => {
  const ev = event({
    attack_family: "multi_vector",
    attack_subtype: "syn_flood+ntp_amplification",
    spoofing_detected: true,
    evidence: {
      parts: [
        { family: "syn_flood", subtype: "syn_flood", share: 60 },
        { family: "udp_flood", subtype: "ntp_amplification", share: 40 },
      ],
    },
  });
  assertEquals(keys(ev), [
    "syn_rate_limit 198.18.0.2 * 1000pps",
    "syn_cookies",
    "drop_traffic udp 198.18.0.2 sport 123",
  ]);
});

Deno.test("planMitigation() follows configured rules: subtype over family, own mode and actions", () => {
  const mitigation = {
    mode: "auto",
    ttl_seconds: 120,
    rules: {
      syn_flood: { mode: "manual" },
      "udp_flood/ntp_amplification": {
        mode: "dry_run",
        actions: [{ type: "rate_limit", protocol: "udp", src_port: 123, pps: 50, ttl_seconds: 30 }],
      },
    },
  };
  const syn = planMitigation(
    event({ attack_family: "syn_flood", attack_subtype: "syn_flood", spoofing_detected: true }),
    settings(mitigation),
    allow,
  );
  assertEquals(syn.mode, "manual");
  assertEquals(syn.rule, "syn_flood");
  assertEquals(syn.actions[0].ttl_s, 120);
  const ntp = planMitigation(
    event({ attack_family: "udp_flood", attack_subtype: "ntp_amplification" }),
    settings(mitigation),
    allow,
  );
  assertEquals(ntp.mode, "dry_run");
  assertEquals(ntp.actions.map((a) => [actionKey(a), a.ttl_s]), [[
    "rate_limit udp 198.18.0.2 sport 123 50pps",
    30,
  ]]);
});

Deno.test("planMitigation() adds Cloudflare rules for real sources when a token and zone are set", () => {
  const plan = keys(
    event({
      attack_family: "http_flood",
      attack_subtype: "get_flood",
      top_src_ips: [{ ip: "203.0.113.1", count: 10 }],
    }),
    { cloudflare: { api_token: "t", zone_id: "abc123", mode: "challenge" } },
  );
  assertEquals(plan, ["drop_source 203.0.113.1", "cloudflare_rule challenge 203.0.113.1"]);
});

Deno.test("the mitigation config refuses bad values with the key named", () => {
  assertEquals(settings().mode, "dry_run");
  assertEquals(settings().backend, "nftables");
  assertThrows(() => settings({ mode: "yolo" }), /mitigation\.mode/);
  assertThrows(() => settings({ allowlist: ["10.0.0.0/33"] }), /mitigation\.allowlist\.0/);
  assertThrows(
    () => settings({ rules: { syn_flood: { actions: [{ type: "syn_rate_limit", pps: 0 }] } } }),
    /mitigation\.rules\.syn_flood\.actions\.0\.pps/,
  );
  assertThrows(() => settings({ rules: { syn_flood: { actions: [{ type: "shell" }] } } }), /type/);
  assertThrows(() => settings({ backend: "pf" }), /mitigation\.backend/);
  assertThrows(() => settings({ extra: 1 }), /mitigation/);
});

Deno.test("validateAction() refuses unsafe actions", () => {
  const base = { type: "drop_source", protocol: null, ttl_s: 60 } as const;
  assert(validateAction({ ...base, source: "203.0.113.0/24" }) === null);
  assertMatch(validateAction({ ...base, source: "0.0.0.0/0" })!, /wider/);
  assertMatch(validateAction({ ...base, source: "203.0.113.1", ttl_s: 0 })!, /time-to-live/);
  assertMatch(validateAction({ ...base, source: "203.0.113.01" })!, /invalid/);
  assertMatch(validateAction({ ...base, source: "2001:DB8::1" })!, /canonical/);
  assertMatch(
    validateAction({ type: "syn_rate_limit", target: null, dst_port: null, pps: 0, ttl_s: 60 })!,
    /rate/,
  );
});

Deno.test("capActions() enforces the blocked-entries cap and the actions-per-minute budget", () => {
  const drop = (n: number) => ({
    type: "drop_source" as const,
    source: `203.0.113.${n}`,
    protocol: null,
    ttl_s: 60,
  });
  const budget = new ActionBudget(3);
  const r = capActions([drop(1), drop(2), drop(3)], 8, 10, budget, 0);
  assertEquals(r.allowed.length, 2);
  assertMatch(r.refused[0].reason, /blocked entries cap \(10\)/);
  const cookies = { type: "syn_cookies" as const, ttl_s: 60 };
  assertEquals(capActions([cookies, cookies], 0, 10, budget, 30_000).allowed.length, 1);
  assertEquals(capActions([cookies], 0, 10, budget, 59_000).refused.length, 1);
  assertEquals(capActions([cookies], 0, 10, budget, 60_001).allowed.length, 1);
});

Deno.test("planMitigation() blocks nothing for a flood this host sends (an outbound finding)", () => {
  const plan = planMitigation(
    event({
      target: "outbound",
      inner_ip: null,
      direction: "outbound",
      attack_family: "syn_flood",
      attack_subtype: "syn_flood",
      top_src_ips: [{ ip: "198.18.0.2", count: 5000 }],
    }),
    settings({ mode: "auto" }),
    allow,
  );
  assertEquals(plan.actions, []);
  assertMatch(plan.notes[0], /this host sends the flood/);
});
