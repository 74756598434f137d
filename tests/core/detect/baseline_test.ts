import {
  Baseline,
  BASELINE_METRICS,
  BaselineMetric,
  type BaselineState,
} from "../../../core/detect/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../support/assert.ts";
import { xorshift32 } from "../../support/random.ts";

const DAY = 86400;
/** A Monday, 00:00:00 UTC. */
const T0 = 1_763_942_400;

function sample(pps: number): number[] {
  return [pps, pps * 8000, pps / 10, pps / 2, pps / 100, 0];
}

/** Nearest-rank p99 of a list: rank ceil(0.99 n), 1-based, ascending order. */
function bruteP99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length - 1e-9) - 1];
}

Deno.test("a new baseline is not ready and its level is 0", () => {
  const b = new Baseline({ windowMinutes: 60 });
  assertEquals(b.ready, false);
  assertEquals(b.samples, 0);
  assertEquals(b.newest, null);
  assertEquals(b.minSamples, 300);
  assertEquals(b.p99(BaselineMetric.PPS), 0);
  assertEquals(b.mean(BaselineMetric.PPS), 0);
  assertEquals(b.level(BaselineMetric.PPS, T0), 0);
  assertEquals(b.hourlyReady, false);
  assertEquals(b.hourlyP99(BaselineMetric.PPS, T0), null);
});

Deno.test("the baseline becomes ready after minSamples seconds and only then has a level", () => {
  const b = new Baseline({ windowMinutes: 60 });
  for (let i = 0; i < 299; i++) b.add(T0 + i, sample(1000));
  assertEquals(b.ready, false);
  assertEquals(b.level(BaselineMetric.PPS, T0 + 299), 0);
  b.add(T0 + 299, sample(1000));
  assertEquals(b.ready, true);
  assertEquals(b.level(BaselineMetric.PPS, T0 + 299), 1000);
  assertEquals(b.level(BaselineMetric.BPS, T0 + 299), 8_000_000);

  // A short window needs at most the whole window; an explicit minSamples is honoured.
  assertEquals(new Baseline({ windowMinutes: 2 }).minSamples, 120);
  const c = new Baseline({ windowMinutes: 60, minSamples: 10 });
  for (let i = 0; i < 10; i++) c.add(T0 + i, sample(5));
  assert(c.ready);
});

Deno.test("p99 and mean match a brute-force nearest-rank computation over random series", () => {
  const rand = xorshift32(0xba5e);
  const b = new Baseline({ windowMinutes: 5, minSamples: 1 });
  const cap = b.windowSeconds;
  const seen: { t: number; v: number[] }[] = [];
  let t = T0;
  for (let step = 0; step < 3000; step++) {
    const r = rand() % 100;
    t += r < 80 ? 1 : r < 95 ? 1 + (rand() % 30) : 1 + (rand() % 400); // gaps, some > window
    const v: number[] = [];
    for (let m = 0; m < BASELINE_METRICS; m++) {
      // Heavy ties (small integers) on some metrics, spread values on others.
      v.push(m % 2 === 0 ? rand() % 7 : (rand() % 1_000_000) / 8);
    }
    b.add(t, v);
    seen.push({ t, v });
    const live = seen.filter((s) => s.t > t - cap);
    assertEquals(b.samples, live.length);
    if (step % 7 !== 0) continue;
    for (let m = 0; m < BASELINE_METRICS; m++) {
      const values = live.map((s) => s.v[m]);
      assertEquals(b.p99(m), bruteP99(values), `p99 metric ${m} step ${step}`);
      const mean = values.reduce((a, x) => a + x, 0) / values.length;
      assertAlmostEquals(b.mean(m), mean, Math.abs(mean) * 1e-12 + 1e-12);
    }
  }
});

Deno.test("p99 is the maximum below 100 samples and the 99th value at 100", () => {
  const b = new Baseline({ windowMinutes: 5, minSamples: 1 });
  for (let i = 1; i <= 99; i++) b.add(T0 + i, sample(i));
  assertEquals(b.p99(BaselineMetric.PPS), 99);
  b.add(T0 + 100, sample(100));
  assertEquals(b.p99(BaselineMetric.PPS), 99);
  b.add(T0 + 101, sample(101));
  assertEquals(b.p99(BaselineMetric.PPS), 100);
});

Deno.test("samples expire by packet time, across gaps", () => {
  const b = new Baseline({ windowMinutes: 1, minSamples: 30 });
  for (let i = 0; i < 60; i++) b.add(T0 + i, sample(i < 30 ? 1000 : 10));
  assertEquals(b.samples, 60);
  assertEquals(b.p99(BaselineMetric.PPS), 1000);
  // 40 s later: seconds <= T0 + 40 are gone, among them every 1000 pps second.
  b.add(T0 + 100, sample(10));
  assertEquals(b.samples, 20);
  assertEquals(b.p99(BaselineMetric.PPS), 10);
  assertEquals(b.ready, false);
  // A gap longer than the window leaves only the new sample.
  b.add(T0 + 1000, sample(7));
  assertEquals(b.samples, 1);
  assertEquals(b.p99(BaselineMetric.PPS), 7);
  assertEquals(b.mean(BaselineMetric.PPS), 7);
  assertEquals(b.toJSON().times, [T0 + 1000]);
});

Deno.test("duplicate and out-of-order seconds are ignored", () => {
  const b = new Baseline({ windowMinutes: 5, minSamples: 1 });
  b.add(T0 + 10, sample(100));
  b.add(T0 + 10, sample(9999)); // duplicate
  b.add(T0 + 5, sample(9999)); // older than the newest
  b.add(T0 + 10.7, sample(9999)); // floors to the same second
  b.add(NaN, sample(9999));
  assertEquals(b.samples, 1);
  assertEquals(b.p99(BaselineMetric.PPS), 100);
  assertEquals(b.newest, T0 + 10);
  b.add(T0 + 11, sample(200));
  assertEquals(b.samples, 2);
  assertEquals(b.p99(BaselineMetric.PPS), 200);
});

Deno.test("missing, negative and non-finite values count as zero", () => {
  const b = new Baseline({ windowMinutes: 5, minSamples: 1 });
  b.add(T0, [NaN, -5, Infinity, 3]);
  const state = b.toJSON();
  assertEquals(state.values.map((v) => v[0]), [0, 0, 0, 3, 0, 0]);
});

Deno.test("the hour-of-day profile sees a 5x busier evening in local time", () => {
  // Local time is UTC+2: local 20:00 is 18:00 UTC.
  const b = new Baseline({ windowMinutes: 60, utcOffsetMinutes: 120 });
  const rand = xorshift32(20);
  const busy: number[] = [];
  const start = T0 - 2 * 3600; // local midnight
  for (let s = 0; s < DAY; s++) {
    const hour = Math.floor(s / 3600);
    const pps = (hour === 20 ? 5000 : 1000) * (0.9 + (rand() % 1000) / 5000);
    if (hour === 20) busy.push(pps);
    b.add(start + s, sample(pps));
    if (s === 1798) assertEquals(b.hourlyReady, false);
    if (s === 1799) assertEquals(b.hourlyReady, true);
  }
  const at20 = start + 20 * 3600 + 600;
  const at03 = start + 3 * 3600 + 600;
  const h20 = b.hourlyP99(BaselineMetric.PPS, at20)!;
  const h03 = b.hourlyP99(BaselineMetric.PPS, at03)!;
  // Upper bucket edge: never below the true p99, at most one bucket (2^(1/16)) above.
  const trueP99 = bruteP99(busy);
  assert(h20 >= trueP99 && h20 <= trueP99 * Math.pow(2, 1 / 16), `${h20} vs ${trueP99}`);
  assert(h03 >= 1000 && h03 <= 1100 * Math.pow(2, 1 / 16), `${h03}`);
  // In UTC terms the busy hour is 18:00; 20:00 UTC (local 22:00) is quiet.
  assertEquals(b.hourlyP99(BaselineMetric.PPS, T0 + 18 * 3600), h20);
  assert(b.hourlyP99(BaselineMetric.PPS, T0 + 20 * 3600)! < 1200);
  // The rolling window now holds local 23:00 (quiet): the level at 20:00 comes from the
  // evening profile, the one at 03:00 from the larger of the two quiet figures.
  const rolling = b.p99(BaselineMetric.PPS);
  assert(rolling < 1100);
  assertEquals(b.level(BaselineMetric.PPS, at20), h20);
  assertEquals(b.level(BaselineMetric.PPS, at03), Math.max(rolling, h03));
  const ratio = b.level(BaselineMetric.PPS, at20) / b.level(BaselineMetric.PPS, at03);
  assert(ratio > 4.3 && ratio < 5.7, `ratio ${ratio}`);
  // Other metrics have their own histograms.
  assertAlmostEquals(b.hourlyP99(BaselineMetric.BPS, at20)! / h20, 8000, 8000 * 0.05);
  assertEquals(b.hourlyP99(BaselineMetric.FRAG_PPS, at20), 0);
});

Deno.test("an hour slot holds that hour's samples of today and of the previous day", () => {
  const b = new Baseline({ windowMinutes: 60 });
  const hour5 = (day: number, s: number) => T0 + day * DAY + 5 * 3600 + s;
  for (let s = 0; s < 3600; s++) b.add(hour5(0, s), sample(5000)); // day 0 busy
  for (let s = 0; s < 3600; s++) b.add(hour5(1, s), sample(1000)); // day 1 quiet
  // Days 0 and 1 together: 7200 samples, the top 72 (1%) are busy.
  assertEquals(b.hourlyP99(BaselineMetric.PPS, hour5(2, 0)), bucketEdgeAbove(5000));
  // Day 2 quiet: day 0 leaves the slot.
  for (let s = 0; s < 10; s++) b.add(hour5(2, s), sample(1000));
  assertEquals(b.hourlyP99(BaselineMetric.PPS, hour5(2, 10)), bucketEdgeAbove(1000));
});

/** The smallest 2^(k/16) above v (the hourly histogram's report for a constant v). */
function bucketEdgeAbove(v: number): number {
  let k = 0;
  while (Math.pow(2, k / 16) <= v) k++;
  return Math.pow(2, k / 16);
}

function randomRun(seed: number, seconds: number): Baseline {
  const rand = xorshift32(seed);
  const b = new Baseline({ windowMinutes: 10, hourlyMinSamples: 60, utcOffsetMinutes: -300 });
  let t = T0 + 3000;
  for (let i = 0; i < seconds; i++) {
    t += 1 + (rand() % 50 === 0 ? rand() % 900 : 0);
    b.add(t, sample((rand() % 100_000) / 3));
  }
  return b;
}

Deno.test("the same adds give identical results and identical JSON", () => {
  const a = randomRun(7, 5000);
  const b = randomRun(7, 5000);
  assertEquals(JSON.stringify(a.toJSON()), JSON.stringify(b.toJSON()));
  for (let m = 0; m < BASELINE_METRICS; m++) {
    assertEquals(a.p99(m), b.p99(m));
    assertEquals(a.mean(m), b.mean(m));
    assertEquals(a.level(m, T0 + 9000), b.level(m, T0 + 9000));
  }
  assert(JSON.stringify(randomRun(8, 5000).toJSON()) !== JSON.stringify(a.toJSON()));
});

Deno.test("fromJSON restores a baseline that then behaves identically", () => {
  const options = { windowMinutes: 10, hourlyMinSamples: 60, utcOffsetMinutes: -300 };
  const a = randomRun(11, 4000);
  const text = JSON.stringify(a.toJSON());
  const b = Baseline.fromJSON(JSON.parse(text), options);
  assertEquals(JSON.stringify(b.toJSON()), text);
  assertEquals(b.samples, a.samples);
  assertEquals(b.newest, a.newest);
  const t = a.newest!;
  for (let i = 1; i <= 700; i++) {
    const v = sample(i * 3.5);
    a.add(t + i, v);
    b.add(t + i, v);
  }
  assertEquals(JSON.stringify(b.toJSON()), JSON.stringify(a.toJSON()));
  for (let m = 0; m < BASELINE_METRICS; m++) {
    assertEquals(b.p99(m), a.p99(m));
    assertEquals(b.mean(m), a.mean(m));
    for (let h = 0; h < 24; h++) assertEquals(b.hourlyP99(m, h * 3600), a.hourlyP99(m, h * 3600));
  }
  // An empty baseline round-trips too.
  const empty = new Baseline(options).toJSON();
  assertEquals(Baseline.fromJSON(empty, options).toJSON(), empty);
});

Deno.test("fromJSON rejects garbage with a one-line error", () => {
  const options = { windowMinutes: 10 };
  const a = new Baseline(options);
  for (let i = 0; i < 100; i++) a.add(T0 + i, sample(i));
  const good = () => JSON.parse(JSON.stringify(a.toJSON())) as BaselineState;
  const cases: [string, unknown, RegExp][] = [
    ["a list", [1, 2, 3], /expected object/],
    ["null", null, /expected object/],
    ["another version", { ...good(), version: 2 }, /version 2 is not supported/],
    ["another window", good(), /window is 600 s, configured 3600 s/],
    ["a list for hours", { ...good(), hours: [] }, /hours/],
    ["five metrics", { ...good(), values: good().values.slice(1) }, /values/],
    [
      "short values",
      (() => {
        const s = good();
        s.values[3].pop();
        return s;
      })(),
      /values\.3: expected 100 samples, got 99/,
    ],
    [
      "NaN",
      (() => {
        const s = good();
        s.values[0][5] = NaN;
        return s;
      })(),
      /values\.0\.5/,
    ],
    [
      "a negative rate",
      (() => {
        const s = good();
        s.values[0][5] = -1;
        return s;
      })(),
      /values\.0\.5/,
    ],
    [
      "times not ascending",
      (() => {
        const s = good();
        s.times[7] = s.times[6];
        return s;
      })(),
      /times\.7: not ascending/,
    ],
    [
      "a histogram that disagrees with its count",
      (() => {
        const s = good();
        const slot = s.hours.find((h) => h.count > 0)!;
        slot.count += 1;
        return s;
      })(),
      /holds 100 samples, slot says 101/,
    ],
    [
      "a bucket out of range",
      (() => {
        const s = good();
        const slot = s.hours.find((h) => h.count > 0)!;
        slot.cur[0][0] = 100_000;
        return s;
      })(),
      /bad bucket/,
    ],
  ];
  for (const [name, state, pattern] of cases) {
    const opts = name === "another window" ? { windowMinutes: 60 } : options;
    const err = assertThrows(() => Baseline.fromJSON(state, opts), pattern);
    assert(!err.message.includes("\n"), `${name}: ${err.message}`);
  }
});

Deno.test("bad options are a one-line RangeError", () => {
  const bad = [
    { windowMinutes: 0 },
    { windowMinutes: 1.5 },
    { windowMinutes: 60, minSamples: 3601 },
    { windowMinutes: 60, hourlyMinSamples: 0 },
    { windowMinutes: 60, utcOffsetMinutes: 3000 },
  ];
  for (const options of bad) {
    const err = assertThrows(() => new Baseline(options), /^bad baseline options: /);
    assert(err instanceof RangeError && !err.message.includes("\n"), err.message);
  }
  assertThrows(() => new Baseline({ windowMinutes: 1 }).p99(6), /metric 6/);
});
