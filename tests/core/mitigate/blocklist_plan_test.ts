import { assertEquals } from "../../support/assert.ts";
import { actionKey, Allowlist, planMitigation } from "../../../core/mitigate/mod.ts";
import { IpBlocklist } from "../../../core/classify/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";

function flood(topSrcIps: unknown[]): IncidentEvent {
  return {
    type: "incident",
    event: "open",
    id: "11111111-2222-4333-8444-555555555555",
    target: "198.18.0.2",
    attack_family: "udp_flood",
    attack_subtype: "volumetric",
    spoofing_detected: false,
    top_src_ips: topSrcIps,
    evidence: {},
  };
}

Deno.test("planMitigation() blocks sources the ip_blocklist lists first, whatever their share", () => {
  const sources = [
    { ip: "203.0.113.1", count: 1000 },
    { ip: "203.0.113.2", count: 900 },
    { ip: "198.19.7.7", count: 10 }, // under 5% of the top one: kept only because it is listed
    { ip: "198.19.7.8", count: 20 },
  ];
  const event = new IpBlocklist(["198.19.0.0/16"]).flag(flood(sources));
  const settings = (m: Record<string, unknown>) => parseConfig({ mitigation: m }).config.mitigation;
  const plan = (m: Record<string, unknown> = {}) =>
    planMitigation(event, settings(m), new Allowlist([])).actions.map(actionKey);
  assertEquals(plan(), [
    "drop_source 198.19.7.8",
    "drop_source 198.19.7.7",
    "drop_source 203.0.113.1",
    "drop_source 203.0.113.2",
  ]);
  // The cap keeps the listed ones.
  assertEquals(plan({ max_sources_per_incident: 2 }), [
    "drop_source 198.19.7.8",
    "drop_source 198.19.7.7",
  ]);
  // Without the flag the small sources are left out, as before.
  assertEquals(
    planMitigation(flood(sources), settings({}), new Allowlist([])).actions.map(actionKey),
    ["drop_source 203.0.113.1", "drop_source 203.0.113.2"],
  );
});
