// The hour-of-day profile of a Baseline: per local hour and metric, log-scale histograms of
// per-second samples of the current day and of the previous day that hour was seen, from which
// a p99 is read. Private to baseline.ts.

import { z } from "zod";

/** Buckets per doubling of the value: adjacent bucket edges differ by 2^(1/16), about 4.4%. */
const BUCKETS_PER_OCTAVE = 16;
const OCTAVES = 40;
const LOG_BUCKETS = OCTAVES * BUCKETS_PER_OCTAVE;
/**
 * Buckets of one histogram: 0 holds exactly 0; 1 holds (0, 1); 2 + k holds
 * [2^(k/16), 2^((k+1)/16)) for k in 0..639; the last holds everything from 2^40 (about 1.1e12).
 */
const HIST_BUCKETS = 2 + LOG_BUCKETS + 1;
const LAST = HIST_BUCKETS - 1;
const HOURS = 24;
/** A slot's count of one day is stored in 16 bits; samples beyond this are not counted. */
const MAX_DAY_COUNT = 65535;

/** EDGES[k] = 2^(k/16), k = 0..640. */
const EDGES: Float64Array = /* @__PURE__ */ (() => {
  const e = new Float64Array(LOG_BUCKETS + 1);
  for (let k = 0; k <= LOG_BUCKETS; k++) e[k] = Math.pow(2, k / BUCKETS_PER_OCTAVE);
  return e;
})();

/** The histogram bucket of a value (already sanitized: finite and >= 0). */
function bucketOf(v: number): number {
  if (v <= 0) return 0;
  if (v < 1) return 1;
  if (v >= EDGES[LOG_BUCKETS]) return LAST;
  let k = Math.floor(Math.log2(v) * BUCKETS_PER_OCTAVE);
  if (k < 0) k = 0;
  else if (k > LOG_BUCKETS - 1) k = LOG_BUCKETS - 1;
  // Math.log2 may round across an edge: the edge table decides.
  if (v < EDGES[k]) k--;
  else if (v >= EDGES[k + 1]) k++;
  return 2 + k;
}

/** The value a bucket reports: its upper edge (0 for the zero bucket, 2^40 for the last). */
function bucketValue(b: number): number {
  if (b === 0) return 0;
  if (b === LAST) return EDGES[LOG_BUCKETS];
  return EDGES[b - 1];
}

/**
 * One hour-of-day slot as JSON: `day` is the local day number (days since the epoch in local
 * time) of `cur`; `cur`/`prev` hold one sparse histogram per metric as a flat list of
 * `[bucket, count, bucket, count, ...]` pairs, buckets ascending, counts > 0.
 */
export interface HourState {
  /** Local day number of `cur` (null: never filled). */
  day: number | null;
  /** Samples in `cur`. */
  count: number;
  /** Samples in `prev`. */
  prevCount: number;
  /** This day's histograms, one per metric. */
  cur: number[][];
  /** The previous day's histograms, one per metric. */
  prev: number[][];
}

const Count = z.number().int().min(0).max(MAX_DAY_COUNT);

/** Shape of an {@linkcode HourState}; the cross-field checks are in {@linkcode HourlyProfile.restore}. */
export const HourStateSchema: z.ZodType<HourState> = z.object({
  day: z.number().int().nullable(),
  count: Count,
  prevCount: Count,
  cur: z.array(z.array(z.number().int().min(0))),
  prev: z.array(z.array(z.number().int().min(0))),
});

/** Hour-of-day histograms of `metrics` series; see baseline.ts for the semantics. */
export class HourlyProfile {
  readonly #metrics: number;
  readonly #minSamples: number;
  readonly #offsetSec: number;
  readonly #cur: Uint16Array;
  readonly #prev: Uint16Array;
  readonly #count = new Float64Array(HOURS);
  readonly #prevCount = new Float64Array(HOURS);
  readonly #day = new Float64Array(HOURS).fill(NaN);
  // Cache of p99 per (hour, metric), valid while the slot's mutation counter is unchanged.
  readonly #version = new Float64Array(HOURS);
  readonly #cacheVersion: Float64Array;
  readonly #cacheValue: Float64Array;

  constructor(metrics: number, minSamples: number, utcOffsetMinutes: number) {
    this.#metrics = metrics;
    this.#minSamples = minSamples;
    this.#offsetSec = utcOffsetMinutes * 60;
    this.#cur = new Uint16Array(HOURS * metrics * HIST_BUCKETS);
    this.#prev = new Uint16Array(HOURS * metrics * HIST_BUCKETS);
    this.#cacheVersion = new Float64Array(HOURS * metrics).fill(-1);
    this.#cacheValue = new Float64Array(HOURS * metrics);
  }

  /** Counts one sample of second `tSec` (sanitized values, one per metric). */
  add(tSec: number, values: Float64Array): void {
    const local = tSec + this.#offsetSec;
    const day = Math.floor(local / 86400);
    const h = Math.floor((local - day * 86400) / 3600);
    const span = this.#metrics * HIST_BUCKETS;
    const base = h * span;
    const slotDay = this.#day[h];
    if (Number.isNaN(slotDay)) {
      this.#day[h] = day;
    } else if (day > slotDay) {
      // A new day for this hour: the current day becomes the previous one.
      this.#prev.set(this.#cur.subarray(base, base + span), base);
      this.#cur.fill(0, base, base + span);
      this.#prevCount[h] = this.#count[h];
      this.#count[h] = 0;
      this.#day[h] = day;
    } // day < slotDay (the clock stepped back): counted in the slot's current day.
    if (this.#count[h] >= MAX_DAY_COUNT) return;
    this.#count[h]++;
    const cur = this.#cur;
    for (let m = 0; m < this.#metrics; m++) cur[base + m * HIST_BUCKETS + bucketOf(values[m])]++;
    this.#version[h]++;
  }

  /** Nearest-rank p99 of `metric` in the slot of `tSec` (bucket upper edge), or null. */
  p99(metric: number, tSec: number): number | null {
    const local = tSec + this.#offsetSec;
    const h = Math.floor((local - Math.floor(local / 86400) * 86400) / 3600);
    const n = this.#count[h] + this.#prevCount[h];
    if (n < this.#minSamples || n === 0) return null;
    const key = h * this.#metrics + metric;
    if (this.#cacheVersion[key] === this.#version[h]) return this.#cacheValue[key];
    const rank = Math.ceil((99 * n) / 100);
    const base = key * HIST_BUCKETS;
    const cur = this.#cur, prev = this.#prev;
    let seen = 0;
    let b = 0;
    for (; b < LAST; b++) {
      seen += cur[base + b] + prev[base + b];
      if (seen >= rank) break;
    }
    const value = bucketValue(b);
    this.#cacheVersion[key] = this.#version[h];
    this.#cacheValue[key] = value;
    return value;
  }

  /** True when at least one hour slot holds `minSamples` samples. */
  get ready(): boolean {
    for (let h = 0; h < HOURS; h++) {
      if (this.#count[h] + this.#prevCount[h] >= this.#minSamples) return true;
    }
    return false;
  }

  /** The 24 slots as plain data (see {@linkcode HourState}). */
  toJSON(): HourState[] {
    const out: HourState[] = [];
    for (let h = 0; h < HOURS; h++) {
      const day = this.#day[h];
      out.push({
        day: Number.isNaN(day) ? null : day,
        count: this.#count[h],
        prevCount: this.#prevCount[h],
        cur: this.#sparse(this.#cur, h),
        prev: this.#sparse(this.#prev, h),
      });
    }
    return out;
  }

  #sparse(hist: Uint16Array, h: number): number[][] {
    const lists: number[][] = [];
    for (let m = 0; m < this.#metrics; m++) {
      const base = (h * this.#metrics + m) * HIST_BUCKETS;
      const list: number[] = [];
      for (let b = 0; b < HIST_BUCKETS; b++) {
        if (hist[base + b] !== 0) list.push(b, hist[base + b]);
      }
      lists.push(list);
    }
    return lists;
  }

  /**
   * Loads slots parsed by {@linkcode HourStateSchema} into this (empty) profile; throws a
   * one-line Error naming the first inconsistency.
   */
  restore(hours: HourState[]): void {
    if (hours.length !== HOURS) {
      throw new Error(`hours: expected ${HOURS} slots, got ${hours.length}`);
    }
    for (let h = 0; h < HOURS; h++) {
      const slot = hours[h];
      if (slot.day === null && (slot.count !== 0 || slot.prevCount !== 0)) {
        throw new Error(`hours.${h}: samples without a day`);
      }
      this.#day[h] = slot.day ?? NaN;
      this.#count[h] = slot.count;
      this.#prevCount[h] = slot.prevCount;
      this.#fill(this.#cur, h, slot.cur, slot.count, `hours.${h}.cur`);
      this.#fill(this.#prev, h, slot.prev, slot.prevCount, `hours.${h}.prev`);
    }
  }

  #fill(hist: Uint16Array, h: number, lists: number[][], count: number, where: string): void {
    if (lists.length !== this.#metrics) {
      throw new Error(`${where}: expected ${this.#metrics} histograms, got ${lists.length}`);
    }
    for (let m = 0; m < this.#metrics; m++) {
      const list = lists[m];
      if (list.length % 2 !== 0) throw new Error(`${where}.${m}: odd length ${list.length}`);
      const base = (h * this.#metrics + m) * HIST_BUCKETS;
      let total = 0;
      let last = -1;
      for (let i = 0; i < list.length; i += 2) {
        const b = list[i], c = list[i + 1];
        if (b <= last || b >= HIST_BUCKETS) throw new Error(`${where}.${m}: bad bucket ${b}`);
        if (c < 1 || c > MAX_DAY_COUNT) throw new Error(`${where}.${m}: bad count ${c}`);
        hist[base + b] = c;
        total += c;
        last = b;
      }
      if (total !== count) {
        throw new Error(`${where}.${m}: histogram holds ${total} samples, slot says ${count}`);
      }
    }
  }
}
