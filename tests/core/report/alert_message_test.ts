import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  alertFacts,
  discordMessage,
  pagerDutyEvent,
  slackMessage,
} from "../../../core/report/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";

const ctx = { host: "edge-1", interface: "eth0", pcapPath: null };

Deno.test("alertFacts() names an interface-wide incident, its size, start and the missing capture", () => {
  const event: IncidentEvent = {
    type: "incident",
    event: "update",
    id: "e1",
    detected_at: "2026-11-22T05:00:10.000000+00:00",
    started_at: "2026-11-22T05:00:00.500000+00:00",
    target: "interface",
    attack_family: "multi_vector",
    attack_subtype: "udp_flood+syn_flood",
    confidence: 80,
    peak_pps: 1_240_000,
    peak_bps: 3.1e9,
    baseline_pps: 900,
    duration: 9.5,
    evidence: { summary: "two floods at once" },
  };
  const f = alertFacts(event, ctx);
  assertEquals(
    f.title,
    "DDoS attack ongoing on edge-1: multi_vector / udp_flood+syn_flood against all of eth0",
  );
  assertEquals(f.facts, [
    { name: "What", value: "multi_vector / udp_flood+syn_flood (confidence 80%)" },
    { name: "Where", value: "all of eth0 on edge-1 (eth0)" },
    { name: "Peak", value: "1.24 Mpps, 3.10 Gbit/s (baseline 900 pps)" },
    { name: "Since", value: "2026-11-22 05:00:00 UTC" },
    { name: "Duration", value: "10s so far" },
  ]);
  assertMatch(
    JSON.stringify(slackMessage(f)),
    /no capture \(PCAP off\); details: ftagent incidents show e1/,
  );
  assertEquals((discordMessage(f).embeds as { color: number }[])[0].color, 0xf57c00);
});

Deno.test("alert messages stay within each service's length limits and survive a bare event", () => {
  const long = "x".repeat(5000);
  const event: IncidentEvent = {
    type: "incident",
    event: "open",
    id: "e2",
    target: long,
    attack_family: 42, // malformed: not a string
    evidence: { summary: long },
  };
  const f = alertFacts(event, ctx);
  assertMatch(f.title, /^DDoS attack started on edge-1: unknown against x+$/);
  assertEquals(f.facts[3], { name: "Since", value: "?" });
  const slack = slackMessage(f) as { text: string; blocks: { text?: { text: string } }[] };
  assert(slack.text.length <= 3000);
  assert(slack.blocks[0].text!.text.length <= 150);
  const embed = (discordMessage(f).embeds as {
    title: string;
    description: string;
    fields: { value: string }[];
  }[])[0];
  assert(embed.title.length <= 256 && embed.description.length <= 4096);
  assert(embed.fields.every((x) => x.value.length <= 1024));
  const pd = pagerDutyEvent(f, "error") as { payload: { summary: string; severity: string } };
  assertEquals(pd.payload.summary.length, 1024);
  assertEquals(pd.payload.severity, "error");
});

Deno.test("alertFacts() titles a flood this host sends as an outbound flood, not an attack on it", () => {
  const f = alertFacts({
    type: "incident",
    event: "open",
    id: "o1",
    target: "outbound",
    direction: "outbound",
    attack_family: "syn_flood",
    attack_subtype: "syn_flood",
  }, ctx);
  assertEquals(
    f.title,
    "Outbound flood started from edge-1 (compromised?): syn_flood against others",
  );
  assertEquals(f.facts[1].value, "others, sent by this host on edge-1 (eth0)");
});
