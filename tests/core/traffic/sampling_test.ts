import { LinkType } from "../../../core/packet/mod.ts";
import {
  Pipeline,
  SAMPLING_HOLD_PERIODS,
  SAMPLING_PERIOD_US,
  SamplingRule,
  type WindowStats,
} from "../../../core/traffic/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { eth, EtherType, ipv4, udp } from "../../support/frames.ts";

/** Feeds `rule` `periods` periods of `wirePps` packets/s on the wire, as the source counts them. */
function feed(rule: SamplingRule, wirePps: number, periods: number, t: { us: number }): number[] {
  const rates: number[] = [];
  for (let i = 0; i < periods; i++) {
    t.us += SAMPLING_PERIOD_US;
    rates.push(rule.update(Math.round(wirePps * SAMPLING_PERIOD_US / 1e6), t.us));
  }
  return rates;
}

Deno.test("SamplingRule.update() keeps every packet while the rate stays under the budget", () => {
  const rule = new SamplingRule(100_000);
  const t = { us: 0 };
  rule.update(0, t.us);
  assertEquals(new Set(feed(rule, 99_000, 50, t)), new Set([1]));
});

Deno.test("SamplingRule.update() samples at once by the smallest power of two under the budget", () => {
  const rule = new SamplingRule(100_000);
  const t = { us: 0 };
  rule.update(0, t.us);
  assertEquals(feed(rule, 500_000, 1, t), [8]);
  assertEquals(feed(rule, 15_000_000, 1, t), [256]);
  assertEquals(Math.round(rule.wirePps), 15_000_000);
});

Deno.test("SamplingRule.update() returns to every packet only after 3 s under 80% of the budget", () => {
  const rule = new SamplingRule(100_000);
  const t = { us: 0 };
  rule.update(0, t.us);
  feed(rule, 500_000, 3, t);
  // Within the budget unsampled, but not under 80% of it: 1 in 2, after the hold only.
  const hold = feed(rule, 90_000, 100, t);
  assertEquals(hold.indexOf(2), SAMPLING_HOLD_PERIODS - 1);
  assertEquals(new Set(hold.slice(SAMPLING_HOLD_PERIODS - 1)), new Set([2]));
  const down = feed(rule, 50_000, SAMPLING_HOLD_PERIODS, t);
  assertEquals(down.slice(0, -1).every((r) => r === 2), true);
  assertEquals(down.at(-1), 1);
});

Deno.test("SamplingRule.update() steps down to the highest rate the hold needed", () => {
  const rule = new SamplingRule(100_000);
  const t = { us: 0 };
  rule.update(0, t.us);
  feed(rule, 1_600_000, 2, t);
  assertEquals(rule.rate, 16);
  feed(rule, 150_000, SAMPLING_HOLD_PERIODS - 1, t); // needs 1 in 2 (150k / 80k)
  assertEquals(feed(rule, 60_000, 1, t), [2]);
});

Deno.test("SamplingRule.update() never samples with a budget of 0", () => {
  const rule = new SamplingRule(0);
  assertEquals(rule.update(1e9, 1e6), 1);
  assertEquals(rule.update(1e9, 2e6), 1);
});

Deno.test("Pipeline.sampling() counts each frame as the rate's packets in windows and totals", () => {
  const frame = (i: number) =>
    eth(
      EtherType.IPV4,
      ipv4(17, udp(1024 + (i % 50), 9, new Uint8Array(18 + (i % 7))), {
        src: `198.18.${i % 4}.${1 + (i % 200)}`,
        dst: "198.18.100.2",
      }),
    );
  const run = (rate: number) => {
    let stats: WindowStats | null = null;
    const pipeline = new Pipeline((w) => stats ??= w.snapshot(3));
    pipeline.sampling(rate);
    for (let i = 0; i < 8000; i += rate) {
      const f = frame(i);
      pipeline.packet(f, 0, f.length, f.length, 1e15 + i * 10, LinkType.EN10MB);
    }
    pipeline.flush();
    return { packets: pipeline.packets, bytes: pipeline.bytes, s: stats! };
  };
  const full = run(1);
  const sampled = run(4);
  assertEquals(sampled.packets, full.packets);
  assertEquals(sampled.s.packets, full.s.packets);
  assertEquals(sampled.s.pps, full.s.pps);
  assert(Math.abs(sampled.bytes - full.bytes) / full.bytes < 0.05, `${sampled.bytes}`);
  assertEquals(sampled.s.top_src_ips.length, 3);
  assertEquals(sampled.s.protocols.udp.packets, full.s.protocols.udp.packets);
});
