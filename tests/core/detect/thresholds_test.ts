import { defaultConfig, type DetectionConfig } from "../../../core/config/mod.ts";
import {
  Baseline,
  DEST_HALF_LIFE_SECONDS,
  DEST_READY_SECONDS,
  Thresholds,
} from "../../../core/detect/mod.ts";
import { assertAlmostEquals, assertEquals } from "../../support/assert.ts";

const T = 1_767_225_600;
const CAPACITY = 4;
const IFACE = CAPACITY;
/** Normal per-second rates: pps, bps, syn, udp, icmp, fragments. */
const NORMAL = [1000, 8e6, 100, 300, 10, 5];

function config(overrides: Partial<DetectionConfig> = {}): DetectionConfig {
  return { ...defaultConfig(), ...overrides };
}

/** A baseline made ready by 10 seconds of `rates`. */
function readyBaseline(rates = NORMAL): Baseline {
  const b = new Baseline({ windowMinutes: 1, minSamples: 10 });
  for (let s = 0; s < 10; s++) b.add(T + s, rates);
  return b;
}

function load(t: Thresholds, row: number, atSec = T + 10): number[] {
  const out = new Float64Array(6);
  t.load(row, atSec * 1e6, out);
  return [...out];
}

/** A destination learned for `seconds` seconds at `rates`. */
function learned(t: Thresholds, row: number, seconds: number, rates: number[]): void {
  const r = Float64Array.from(rates);
  for (let s = 0; s < seconds; s++) t.learn(row, r);
}

Deno.test("Thresholds are the static keys with dynamic_threshold off, 0 meaning off", () => {
  const t = new Thresholds(
    config({ dynamic_threshold: false, pps_threshold: 5000, syn_pps_threshold: 300 }),
    readyBaseline(),
    CAPACITY,
  );
  const expected = [5000, Infinity, 300, Infinity, Infinity, Infinity];
  assertEquals(load(t, IFACE), expected);
  assertEquals(load(t, 0), expected);
});

Deno.test("Thresholds are the floors before the baseline is ready", () => {
  const cfg = config();
  const t = new Thresholds(cfg, new Baseline({ windowMinutes: 60 }), CAPACITY);
  assertEquals(load(t, IFACE), [
    cfg.min_pps_threshold,
    cfg.min_bps_threshold,
    cfg.min_syn_pps_threshold,
    cfg.min_udp_pps_threshold,
    cfg.min_icmp_pps_threshold,
    cfg.min_fragment_pps_threshold,
  ]);
});

Deno.test("Thresholds are the baseline level times the multiplier, never below the floor", () => {
  const t = new Thresholds(
    config({ threshold_multiplier: 3, min_pps_threshold: 100, min_bps_threshold: 50e6 }),
    readyBaseline(),
    CAPACITY,
  );
  const [pps, bps] = load(t, IFACE);
  assertEquals(pps, 3000); // 1000 x 3 over the floor of 100
  assertEquals(bps, 50e6); // 8e6 x 3 under the floor
});

Deno.test("Thresholds are off where both the level and the floor are 0", () => {
  const t = new Thresholds(
    config({ min_icmp_pps_threshold: 0 }),
    readyBaseline([1000, 8e6, 100, 300, 0, 5]),
    CAPACITY,
  );
  assertEquals(load(t, IFACE)[4], Infinity);
});

Deno.test("Thresholds keep the last ready levels while an attack empties the baseline", () => {
  const baseline = readyBaseline();
  const t = new Thresholds(config({ min_pps_threshold: 100 }), baseline, CAPACITY);
  assertEquals(load(t, IFACE)[0], 3000);
  // Ten minutes later the rolling window holds one sample: not ready any more.
  baseline.add(T + 600, NORMAL);
  assertEquals(baseline.ready, false);
  assertEquals(load(t, IFACE, T + 601)[0], 3000);
});

Deno.test("Thresholds give a destination the interface's level until it is tracked long enough", () => {
  const t = new Thresholds(config({ min_pps_threshold: 100 }), readyBaseline(), CAPACITY);
  learned(t, 1, DEST_READY_SECONDS - 1, [10, 8e4, 1, 3, 0, 0]);
  assertEquals(load(t, 1), load(t, IFACE));
});

Deno.test("Thresholds give a destination its own mark once tracked, never above the interface's level", () => {
  const t = new Thresholds(
    config({ min_pps_threshold: 100, threshold_multiplier: 3 }),
    readyBaseline(),
    CAPACITY,
  );
  learned(t, 1, DEST_READY_SECONDS, [200, 8e4, 1, 3, 0, 0]);
  assertEquals(load(t, 1)[0], 600); // its own 200 pps x 3
  learned(t, 2, DEST_READY_SECONDS, [5000, 8e4, 1, 3, 0, 0]);
  assertEquals(load(t, 2)[0], 3000); // capped by the interface's 1000 pps x 3
});

Deno.test("Thresholds let a destination's mark decay with its half-life", () => {
  const floorsOff = {
    min_pps_threshold: 0,
    min_bps_threshold: 0,
    min_syn_pps_threshold: 0,
    min_udp_pps_threshold: 0,
    min_icmp_pps_threshold: 0,
    min_fragment_pps_threshold: 0,
    threshold_multiplier: 1,
  };
  // No interface level: the destination's own mark is its level.
  const t = new Thresholds(config(floorsOff), new Baseline({ windowMinutes: 60 }), CAPACITY);
  learned(t, 0, 1, [1000, 0, 0, 0, 0, 0]);
  learned(t, 0, DEST_READY_SECONDS, [0, 0, 0, 0, 0, 0]);
  assertAlmostEquals(
    load(t, 0)[0],
    1000 * 0.5 ** (DEST_READY_SECONDS / DEST_HALF_LIFE_SECONDS),
    1e-6,
  );
  learned(t, 0, 1, [900, 0, 0, 0, 0, 0]);
  assertEquals(load(t, 0)[0], 900); // a higher second raises it at once
});

Deno.test("Thresholds.forget() starts a destination over", () => {
  const t = new Thresholds(config({ min_pps_threshold: 100 }), readyBaseline(), CAPACITY);
  learned(t, 3, DEST_READY_SECONDS, [200, 8e4, 1, 3, 0, 0]);
  assertEquals(load(t, 3)[0], 600);
  t.forget(3);
  assertEquals(load(t, 3), load(t, IFACE));
});

Deno.test("Thresholds.configure() applies a new config from the next load", () => {
  const t = new Thresholds(config(), readyBaseline(), CAPACITY);
  t.configure(config({ dynamic_threshold: false, pps_threshold: 42 }));
  assertEquals(load(t, IFACE)[0], 42);
});
