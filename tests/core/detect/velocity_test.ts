import { defaultConfig, type DetectionConfig } from "../../../core/config/mod.ts";
import { Baseline, BaselineMetric, Thresholds } from "../../../core/detect/mod.ts";
import { assertEquals, assertMatch } from "../../support/assert.ts";

const T = 1_767_225_600;
const CAPACITY = 4;
const IFACE = CAPACITY;

function config(overrides: Partial<DetectionConfig> = {}): DetectionConfig {
  return { ...defaultConfig(), ...overrides };
}

/** A baseline of 60 seconds at `pps`, then the seconds of `then` (one each). */
function baseline(pps: number, then: number[]): Baseline {
  const b = new Baseline({ windowMinutes: 5, minSamples: 60 });
  let t = T;
  for (let s = 0; s < 60; s++) b.add(t++, [pps, pps * 8000, 0, pps, 0, 0]);
  for (const p of then) b.add(t++, [p, p * 8000, 0, p, 0, 0]);
  return b;
}

function ppsThreshold(t: Thresholds): number {
  const out = new Float64Array(6);
  t.load(IFACE, (T + 200) * 1e6, out);
  return out[0];
}

Deno.test("Thresholds drop the interface's pps threshold to 2x the mean on a ramp over 5x the mean", () => {
  const ramp = baseline(1000, [1000, 7500]); // +6500 in one second: over 5x the mean
  const on = new Thresholds(config({ velocity_detection: true }), ramp, CAPACITY);
  const mean = ramp.mean(BaselineMetric.PPS);
  assertEquals(ppsThreshold(on), 2 * mean); // far below the 20000 floor
  assertMatch(on.ramp!, /^ramp: pps rose 1000 -> 7500 in one second/);
  // Off (the default): the floor, or 3x the p99 (the ramp second raised it to 7500).
  const off = new Thresholds(config(), ramp, CAPACITY);
  assertEquals(ppsThreshold(off), 22500);
  assertEquals(off.ramp, null);
  // A destination's row too (the flood's address opens, not the interface).
  const dest = new Float64Array(6);
  on.load(0, (T + 200) * 1e6, dest);
  assertEquals(dest[0], 2 * mean);
});

Deno.test("Thresholds take no ramp from a slow rise, a small one, or before the baseline is ready", () => {
  const cfg = config({ velocity_detection: true });
  // The same 7500 pps reached in two steps: no one-second rise over 5x the mean.
  assertEquals(ppsThreshold(new Thresholds(cfg, baseline(1000, [4000, 7500]), CAPACITY)), 22500);
  // An idle host (10 pps) going to 200: over 5x, but under the 1000 pps a ramp needs.
  assertEquals(ppsThreshold(new Thresholds(cfg, baseline(10, [10, 200]), CAPACITY)), 20000);
  // 10 -> 1500 pps is a ramp: the threshold is 1000 pps at least, not 2x the mean of 10.
  assertEquals(ppsThreshold(new Thresholds(cfg, baseline(10, [10, 1500]), CAPACITY)), 1000);
  const young = new Baseline({ windowMinutes: 5, minSamples: 60 });
  young.add(T, [1000, 0, 0, 0, 0, 0]);
  young.add(T + 1, [9000, 0, 0, 0, 0, 0]);
  assertEquals(ppsThreshold(new Thresholds(cfg, young, CAPACITY)), 20000);
});

Deno.test("Thresholds apply the ramp over static thresholds too, and never raise a threshold", () => {
  const ramp = baseline(1000, [1000, 7500]);
  const mean = ramp.mean(BaselineMetric.PPS);
  const staticOff = config({ velocity_detection: true, dynamic_threshold: false });
  assertEquals(ppsThreshold(new Thresholds(staticOff, ramp, CAPACITY)), 2 * mean);
  const low = config({ velocity_detection: true, dynamic_threshold: false, pps_threshold: 1500 });
  assertEquals(ppsThreshold(new Thresholds(low, ramp, CAPACITY)), 1500);
});

Deno.test("Baseline.sample() answers held seconds only", () => {
  const b = baseline(1000, [1234]);
  assertEquals(b.sample(BaselineMetric.PPS, T + 60), 1234);
  assertEquals(b.sample(BaselineMetric.PPS, T + 60.7), 1234);
  assertEquals(b.sample(BaselineMetric.PPS, T + 61), null);
  assertEquals(b.sample(BaselineMetric.PPS, T - 400), null);
});

Deno.test("Detector opens a ramp far below the floors only with velocity_detection", async () => {
  const { Detector } = await import("../../../core/detect/mod.ts");
  const { feed, synFlood, web } = await import("../../support/traffic.ts");
  const run = (velocity: boolean) => {
    const events: Record<string, unknown>[] = [];
    const cfg = config({ velocity_detection: velocity, baseline_window_minutes: 5 });
    const d = new Detector(cfg, { onEvent: (e) => events.push(e) });
    feed(d, [
      { fromS: 0, toS: 340, pps: 800, shape: web("198.18.0.10") },
      // 4500 SYN/s: under the SYN floor (5000) and the pps floor (20000), but 5.6x the mean.
      { fromS: 320, toS: 330, pps: 4500, shape: synFlood("198.18.0.10") },
    ]);
    d.finish();
    return events;
  };
  const on = run(true);
  const open = on.find((e) => e.event === "open");
  if (open === undefined) throw new Error(`no incident: ${JSON.stringify(on.map((e) => e.event))}`);
  assertEquals(open.target, "198.18.0.10");
  assertMatch(String(open.attack_family), /syn/);
  assertEquals((open.thresholds as Record<string, number>).pps < 2000, true);
  assertMatch(String(open.opened_by), /; ramp: pps rose \d+ -> \d+ in one second/);
  assertEquals(on.filter((e) => e.event === "open").length, 1);
  assertEquals(on.filter((e) => e.event === "resolve").length, 1);
  assertEquals(run(false).filter((e) => e.event === "open"), []);
});
