/**
 * The traffic baseline: what normal per-second rates look like, so the detector can alarm on
 * traffic well above them. Pure and deterministic: times are passed in (packet time, epoch
 * seconds), the same sequence of {@linkcode Baseline.add} calls gives the same results and the
 * same {@linkcode Baseline.toJSON}.
 *
 * Two views of the same samples:
 *
 * - **Rolling**: the samples of the last `windowMinutes` of packet time, kept exactly (a ring
 *   of `windowMinutes * 60` seconds plus one sorted copy per metric), from which
 *   {@linkcode Baseline.p99} and {@linkcode Baseline.mean} are read.
 * - **Hour of day**: per local hour (UTC + `utcOffsetMinutes`) and metric, log-scale
 *   histograms of that hour's samples today and on the previous day that hour was seen,
 *   from which {@linkcode Baseline.hourlyP99} is read. A quiet night does not lower the
 *   evening's level, and a busy evening is not an attack.
 *
 * The detector decides what feeds the baseline: attack seconds and seconds under confirmation
 * are skipped by not calling `add()` for them (a skipped second is a gap, neither a zero nor a
 * sample); idle seconds are fed as zero rates by the detector.
 *
 * @module
 */

import { z } from "zod";
import { HourlyProfile, type HourState, HourStateSchema } from "./_hourly_profile.ts";

export type { HourState as BaselineHourState } from "./_hourly_profile.ts";

/** Series a baseline tracks, per second: indexes into the values given to `add()`. */
export const BaselineMetric = {
  /** Packets per second. */
  PPS: 0,
  /** Bits per second. */
  BPS: 1,
  /** TCP SYN (connection attempts) per second. */
  SYN_PPS: 2,
  /** UDP packets per second. */
  UDP_PPS: 3,
  /** ICMP packets per second. */
  ICMP_PPS: 4,
  /** IP fragments per second. */
  FRAG_PPS: 5,
} as const;

/** Number of series in {@linkcode BaselineMetric}. */
export const BASELINE_METRICS = 6;

/** Version of {@linkcode BaselineState}; a state of another version is rejected. */
export const BASELINE_STATE_VERSION = 1;

/** Options of a {@linkcode Baseline}. */
export interface BaselineOptions {
  /** Rolling span in minutes (integer, 1 to 10080 = a week; the config default is 60). */
  windowMinutes: number;
  /**
   * Samples (seconds) the rolling window needs before the baseline is ready; default
   * `min(300, windowMinutes * 60)`. At most `windowMinutes * 60`.
   */
  minSamples?: number;
  /** Samples an hour-of-day slot needs before it counts; default 1800 (half an hour). */
  hourlyMinSamples?: number;
  /** Local time of the hour-of-day profile is UTC + this offset (minutes); default 0. */
  utcOffsetMinutes?: number;
}

/** The plain, JSON-ready state of a {@linkcode Baseline} (the store adds the wall time). */
export interface BaselineState {
  /** {@linkcode BASELINE_STATE_VERSION}. */
  version: number;
  /** Rolling span in seconds; a state of another span is rejected. */
  windowSeconds: number;
  /** Seconds of the samples in the rolling window, ascending. */
  times: number[];
  /** Per metric, the samples aligned with `times`. */
  values: number[][];
  /** The 24 hour-of-day slots, local hour 0 first. */
  hours: HourState[];
}

const OptionsSchema = z.object({
  windowMinutes: z.number().int().min(1).max(10080),
  minSamples: z.number().int().min(1).optional(),
  hourlyMinSamples: z.number().int().min(1).max(7200).optional(),
  utcOffsetMinutes: z.number().int().min(-1440).max(1440).optional(),
});

const HeaderSchema = z.object({ version: z.number(), windowSeconds: z.number() });

const StateSchema = z.object({
  version: z.number(),
  windowSeconds: z.number(),
  times: z.array(z.number().int()),
  values: z.array(z.array(z.number().min(0))).length(BASELINE_METRICS),
  hours: z.array(HourStateSchema).length(24),
});

/** The first zod issue as one line: `path: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.join(".");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}

/**
 * A rolling baseline of per-second rates plus an hour-of-day profile, in fixed memory:
 * about 375 KB per hour of rolling window (ring, sorted copies: 22 MB for a day, 63 MB for
 * the week the config allows) plus 370 KB for the profile.
 *
 * - **p99** is nearest-rank: of n samples sorted ascending, the one at rank ceil(0.99 n)
 *   (1-based). With fewer than 100 samples that is the maximum.
 * - **Expiry** is by packet time: after `add(t)`, samples of seconds `<= t - windowSeconds` are
 *   gone, whatever the gaps. Nothing expires without an `add()`.
 * - **Ready** once the rolling window holds `minSamples` samples; before that
 *   {@linkcode level} is 0 so only the detector's floors apply.
 * - **Hourly p99** is read from histograms with buckets 2^(1/16) apart (about 4.4%) covering
 *   (0, 2^40 ~ 1.1e12), plus one bucket for exactly 0; it reports the bucket's upper edge, so
 *   it is never below the true p99 and at most 4.4% above it (0 is exact; values in (0, 1)
 *   report 1; values from 2^40 report 2^40).
 *
 * Costs (2-core build machine): `add()` moves part of each sorted copy (O(window) memmove,
 * once a second): about 5 us at 60 minutes, 90 us at a day; `level()` and `p99()` about 30-60
 * ns; `mean()` and `hourlyP99()` are recomputed at most once per `add()` (a pass over the
 * window, resp. over one histogram) and cached.
 */
export class Baseline {
  /** Rolling span in seconds. */
  readonly windowSeconds: number;
  /** Samples the rolling window needs before {@linkcode ready}. */
  readonly minSamples: number;
  /** Samples an hour slot needs before {@linkcode hourlyP99} answers. */
  readonly hourlyMinSamples: number;
  /** Offset of local time from UTC, minutes. */
  readonly utcOffsetMinutes: number;

  readonly #cap: number;
  /** Second of each ring slot (NaN: empty); slot of second t is t mod cap. */
  readonly #times: Float64Array;
  /** Samples by ring slot: `slot * BASELINE_METRICS + metric`. */
  readonly #ring: Float64Array;
  /** Per metric, the live samples sorted ascending: `metric * cap + i`, i < count. */
  readonly #sorted: Float64Array;
  #count = 0;
  #newest = -Infinity;
  readonly #sum = new Float64Array(BASELINE_METRICS);
  readonly #sumValid = new Uint8Array(BASELINE_METRICS);
  readonly #scratch = new Float64Array(BASELINE_METRICS);
  readonly #hourly: HourlyProfile;

  /** Creates an empty baseline; throws a one-line RangeError on bad options. */
  constructor(options: BaselineOptions) {
    const parsed = OptionsSchema.safeParse(options);
    if (!parsed.success) throw new RangeError(`bad baseline options: ${firstIssue(parsed.error)}`);
    const o = parsed.data;
    const cap = o.windowMinutes * 60;
    const minSamples = o.minSamples ?? Math.min(300, cap);
    if (minSamples > cap) {
      throw new RangeError(
        `bad baseline options: minSamples ${minSamples} exceeds the window (${cap} s)`,
      );
    }
    this.windowSeconds = cap;
    this.minSamples = minSamples;
    this.hourlyMinSamples = o.hourlyMinSamples ?? 1800;
    this.utcOffsetMinutes = o.utcOffsetMinutes ?? 0;
    this.#cap = cap;
    this.#times = new Float64Array(cap).fill(NaN);
    this.#ring = new Float64Array(cap * BASELINE_METRICS);
    this.#sorted = new Float64Array(cap * BASELINE_METRICS);
    this.#hourly = new HourlyProfile(
      BASELINE_METRICS,
      this.hourlyMinSamples,
      this.utcOffsetMinutes,
    );
  }

  /**
   * Adds the sample of second `tSec` (packet time, epoch seconds; a fraction is floored);
   * `values` is indexed by {@linkcode BaselineMetric} (missing, negative or non-finite values
   * count as 0). A sample for a second already added, or older than the newest added, is
   * ignored (so if packet time steps back, samples are ignored until it passes the newest
   * again). Gaps are not filled: the detector feeds idle seconds as zeros itself.
   */
  add(tSec: number, values: ArrayLike<number>): void {
    if (!Number.isFinite(tSec)) return;
    const t = Math.floor(tSec);
    if (t <= this.#newest) return;
    const cap = this.#cap;
    this.#expireThrough(t - cap);
    const v = this.#scratch;
    for (let m = 0; m < BASELINE_METRICS; m++) {
      const x = m < values.length ? +values[m] : 0;
      v[m] = x > 0 && x < Infinity ? x : 0;
    }
    const slot = ((t % cap) + cap) % cap;
    this.#times[slot] = t;
    const ring = this.#ring, sorted = this.#sorted, n = this.#count;
    for (let m = 0; m < BASELINE_METRICS; m++) {
      const x = v[m];
      ring[slot * BASELINE_METRICS + m] = x;
      const base = m * cap;
      const at = lowerBound(sorted, base, base + n, x);
      sorted.copyWithin(at + 1, at, base + n);
      sorted[at] = x;
    }
    this.#count = n + 1;
    this.#newest = t;
    this.#sumValid.fill(0);
    this.#hourly.add(t, v);
  }

  /** Drops the samples of seconds `<= through` (all live samples are within the last cap seconds). */
  #expireThrough(through: number): void {
    if (this.#count === 0) return;
    const cap = this.#cap;
    if (through >= this.#newest) {
      this.#count = 0;
      this.#times.fill(NaN);
      return;
    }
    const times = this.#times, ring = this.#ring, sorted = this.#sorted;
    for (let s = this.#newest - cap + 1; s <= through; s++) {
      const slot = ((s % cap) + cap) % cap;
      if (times[slot] !== s) continue;
      times[slot] = NaN;
      const n = this.#count;
      for (let m = 0; m < BASELINE_METRICS; m++) {
        const base = m * cap;
        const at = lowerBound(sorted, base, base + n, ring[slot * BASELINE_METRICS + m]);
        sorted.copyWithin(at, at + 1, base + n);
      }
      this.#count = n - 1;
    }
  }

  /** True once the rolling window holds {@linkcode minSamples} samples. */
  get ready(): boolean {
    return this.#count >= this.minSamples;
  }

  /** Samples in the rolling window. */
  get samples(): number {
    return this.#count;
  }

  /** The newest second added, or null before the first. */
  get newest(): number | null {
    return this.#count === 0 ? null : this.#newest;
  }

  /** The sample of `metric` for second `tSec` (floored), or null when that second is not held. */
  sample(metric: number, tSec: number): number | null {
    checkMetric(metric);
    const t = Math.floor(tSec);
    const slot = ((t % this.#cap) + this.#cap) % this.#cap;
    return this.#count > 0 && this.#times[slot] === t
      ? this.#ring[slot * BASELINE_METRICS + metric]
      : null;
  }

  /** Nearest-rank p99 of `metric` over the rolling window (0 when empty). */
  p99(metric: number): number {
    checkMetric(metric);
    const n = this.#count;
    if (n === 0) return 0;
    return this.#sorted[metric * this.#cap + Math.ceil((99 * n) / 100) - 1];
  }

  /** Mean of `metric` over the rolling window (0 when empty). */
  mean(metric: number): number {
    checkMetric(metric);
    const n = this.#count;
    if (n === 0) return 0;
    if (this.#sumValid[metric] === 0) {
      // Summed in ascending order: the same multiset always gives the same sum.
      const sorted = this.#sorted, base = metric * this.#cap;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += sorted[base + i];
      this.#sum[metric] = sum;
      this.#sumValid[metric] = 1;
    }
    return this.#sum[metric] / n;
  }

  /**
   * Nearest-rank p99 of `metric` in the hour-of-day slot of `tSec` (local time), today's and
   * the previous day's samples of that hour together, or null while the slot has fewer than
   * {@linkcode hourlyMinSamples}. Resolution: see {@linkcode Baseline}.
   */
  hourlyP99(metric: number, tSec: number): number | null {
    checkMetric(metric);
    return this.#hourly.p99(metric, Math.floor(tSec));
  }

  /** True when at least one hour-of-day slot holds {@linkcode hourlyMinSamples} samples. */
  get hourlyReady(): boolean {
    return this.#hourly.ready;
  }

  /**
   * The level the detector's threshold multiplies: the larger of the rolling p99 and the
   * hourly p99 of `tSec`'s hour (when that slot is ready); 0 while not {@linkcode ready}.
   */
  level(metric: number, tSec: number): number {
    if (this.#count < this.minSamples) return 0;
    const rolling = this.p99(metric);
    const hourly = this.#hourly.p99(metric, Math.floor(tSec));
    return hourly !== null && hourly > rolling ? hourly : rolling;
  }

  /** The state as plain data; {@linkcode Baseline.fromJSON} restores it exactly. */
  toJSON(): BaselineState {
    const times: number[] = [];
    const values: number[][] = [];
    for (let m = 0; m < BASELINE_METRICS; m++) values.push([]);
    if (this.#count > 0) {
      const cap = this.#cap;
      for (let s = this.#newest - cap + 1; s <= this.#newest; s++) {
        const slot = ((s % cap) + cap) % cap;
        if (this.#times[slot] !== s) continue;
        times.push(s);
        for (let m = 0; m < BASELINE_METRICS; m++) {
          values[m].push(this.#ring[slot * BASELINE_METRICS + m]);
        }
      }
    }
    return {
      version: BASELINE_STATE_VERSION,
      windowSeconds: this.windowSeconds,
      times,
      values,
      hours: this.#hourly.toJSON(),
    };
  }

  /**
   * Restores a baseline from {@linkcode toJSON} data (validated with zod). Throws a one-line
   * Error on a bad state, or one of another version or rolling span than `options`.
   */
  static fromJSON(state: unknown, options: BaselineOptions): Baseline {
    const b = new Baseline(options);
    const header = HeaderSchema.safeParse(state);
    if (!header.success) throw new Error(`bad baseline state: ${firstIssue(header.error)}`);
    if (header.data.version !== BASELINE_STATE_VERSION) {
      throw new Error(
        `baseline state version ${header.data.version} is not supported (expected ${BASELINE_STATE_VERSION})`,
      );
    }
    if (header.data.windowSeconds !== b.windowSeconds) {
      throw new Error(
        `baseline state window is ${header.data.windowSeconds} s, configured ${b.windowSeconds} s`,
      );
    }
    const parsed = StateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`bad baseline state: ${firstIssue(parsed.error)}`);
    try {
      b.#restore(parsed.data);
    } catch (err) {
      throw new Error(`bad baseline state: ${(err as Error).message}`);
    }
    return b;
  }

  #restore(s: z.infer<typeof StateSchema>): void {
    const cap = this.#cap, n = s.times.length;
    if (n > cap) throw new Error(`times: ${n} samples exceed the window (${cap} s)`);
    for (let i = 1; i < n; i++) {
      if (s.times[i] <= s.times[i - 1]) throw new Error(`times.${i}: not ascending`);
    }
    if (n > 0 && s.times[n - 1] - s.times[0] >= cap) {
      throw new Error(`times: span more than the window (${cap} s)`);
    }
    for (let m = 0; m < BASELINE_METRICS; m++) {
      if (s.values[m].length !== n) {
        throw new Error(`values.${m}: expected ${n} samples, got ${s.values[m].length}`);
      }
    }
    this.#hourly.restore(s.hours);
    for (let i = 0; i < n; i++) {
      const t = s.times[i];
      const slot = ((t % cap) + cap) % cap;
      this.#times[slot] = t;
      for (let m = 0; m < BASELINE_METRICS; m++) {
        const x = s.values[m][i];
        this.#ring[slot * BASELINE_METRICS + m] = x;
        this.#sorted[m * cap + i] = x;
      }
    }
    for (let m = 0; m < BASELINE_METRICS; m++) {
      this.#sorted.subarray(m * cap, m * cap + n).sort();
    }
    this.#count = n;
    this.#newest = n > 0 ? s.times[n - 1] : -Infinity;
  }
}

/** First index in [lo, hi) of sorted `a` whose value is >= x. */
function lowerBound(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkMetric(metric: number): void {
  if (!(metric >= 0 && metric < BASELINE_METRICS && Number.isInteger(metric))) {
    throw new RangeError(`baseline metric ${metric} is not one of 0..${BASELINE_METRICS - 1}`);
  }
}
