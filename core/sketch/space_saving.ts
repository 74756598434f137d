/**
 * Space-Saving top-K (Metwally et al., 2005) in fixed memory: the heaviest source addresses,
 * destination addresses or ports of a window, whatever the number of distinct keys.
 *
 * @module
 */

import { hashWords } from "./hash.ts";
import { MergeScratch } from "./_merge_scratch.ts";

/** One entry of {@linkcode SpaceSaving.top}. */
export interface SpaceSavingEntry {
  /** The key's four 32-bit words (an address; a port as `[0, 0, 0, port]`). */
  key: [number, number, number, number];
  /** Estimated weight: never below the true weight, at most `error` above it. */
  count: number;
  /** Upper bound of the overestimate in `count` (so `count - error` is a guaranteed minimum). */
  error: number;
}

/**
 * A Space-Saving summary with a fixed number of counters over keys of four 32-bit words.
 *
 * Guarantees, for a stream of total weight N into K counters: every key whose true weight
 * exceeds N / K holds a counter, each count is at least its key's true weight and at most
 * `error` above it, and `error` is at most the minimum count, itself at most N / K.
 * After {@linkcode merge}, counts are still overestimates with `count - error` a lower bound,
 * and a key left out had at most the minimum count.
 *
 * Everything lives in typed arrays allocated once: keys, counts and errors per counter, an
 * open-addressing table (linear probing, backward-shift deletion, load factor <= 1/16) from
 * key to counter, and a stack of the counters at the minimum count for eviction (amortized
 * O(1): see `#rescanMin`). `add` allocates nothing.
 *
 * Each counter may carry `sideWidth` side values ({@linkcode side}): the caller sets (for a key
 * new to its counter) or adds what it knows of the key's packets at the counter
 * {@linkcode addHashed} returns, so they describe the same packets as `count - error`.
 */
export class SpaceSaving {
  /** Number of counters (K). */
  readonly capacity: number;
  /** Key words per counter (signed 32-bit, so they stay small integers in V8). */
  readonly #keys: Int32Array;
  readonly #counts: Float64Array;
  readonly #errors: Float64Array;
  /** Side values per counter (see {@linkcode side}). */
  readonly sideWidth: number;
  /** Counter `s` owns `side[s * sideWidth ..)` (stale when it takes a new key: see `addHashed`). */
  readonly side: Float64Array;
  /** Key hash per counter. */
  readonly #hashes: Int32Array;
  /** Hash-table bucket of each counter. */
  readonly #bucket: Int32Array;
  /** Hash table: pairs of (key hash, counter + 1); counter 0 marks an empty bucket. */
  readonly #table: Int32Array;
  readonly #mask: number;
  /** Counters that held the minimum count `#min` at the last scan (see `#rescanMin`). */
  readonly #minStack: Int32Array;
  #minTop = 0;
  #min = 0;
  /** Scratch space of {@linkcode merge}, allocated at the first merge. */
  #merging: MergeScratch | null = null;
  #size = 0;
  #total = 0;

  /** Creates an empty summary with `capacity` counters (default 64), `sideWidth` side values each. */
  constructor(capacity = 64, sideWidth = 0) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 20) {
      throw new RangeError(`SpaceSaving capacity must be an integer in 1..2^20, got ${capacity}`);
    }
    this.capacity = capacity;
    this.#keys = new Int32Array(capacity * 4);
    this.#counts = new Float64Array(capacity);
    this.#errors = new Float64Array(capacity);
    this.sideWidth = sideWidth;
    this.side = new Float64Array(capacity * sideWidth);
    this.#hashes = new Int32Array(capacity);
    this.#bucket = new Int32Array(capacity);
    // A sparse table (load <= 1/16) makes a miss end at its first bucket almost always:
    // on random keys that saves branch mispredictions, which cost more than the memory.
    let buckets = 16;
    while (buckets < capacity * 16) buckets *= 2;
    this.#table = new Int32Array(buckets * 2);
    this.#mask = buckets - 1;
    this.#minStack = new Int32Array(capacity);
  }

  /** Number of counters in use (distinct keys held, at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  /** Total weight added since the last reset (N), merged summaries included. */
  get total(): number {
    return this.#total;
  }

  /** Adds `count` (default 1) to a key given as four 32-bit words. */
  add(w0: number, w1: number, w2: number, w3: number, count?: number): void {
    // No default parameter values on hot paths: V8 optimizes those functions far less.
    this.addHashed(hashWords(w0, w1, w2, w3), w0, w1, w2, w3, count === undefined ? 1 : count);
  }

  /**
   * Like {@linkcode add} with the key's hash already computed; `hash` MUST be
   * `hashWords(w0, w1, w2, w3)` (lets one hash per packet feed several sketches).
   * Hot path: allocates nothing, and a miss costs O(1) amortized. Returns the key's counter,
   * or `~counter` (negative) when the key just took it: then its side values are the evicted
   * key's, to be set rather than added to.
   */
  addHashed(
    hash: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    count?: number,
  ): number {
    const c = count === undefined ? 1 : count;
    this.#total += c;
    w0 |= 0;
    w1 |= 0;
    w2 |= 0;
    w3 |= 0;
    hash |= 0;
    const table = this.#table;
    const mask = this.#mask;
    const keys = this.#keys;
    const counts = this.#counts;
    let i = hash & mask;
    for (;;) {
      const e = table[(i << 1) | 1];
      if (e === 0) break;
      if (table[i << 1] === hash) {
        const o = (e - 1) << 2;
        if (keys[o + 3] === w3 && keys[o + 2] === w2 && keys[o + 1] === w1 && keys[o] === w0) {
          counts[e - 1] += c;
          return e - 1;
        }
      }
      i = (i + 1) & mask;
    }
    // Miss: the key takes a free counter, or else one at the minimum count, which passes that
    // count on as error (the whole path is written out here: calls cost more than the work).
    let slot: number;
    if (this.#size < this.capacity) {
      slot = this.#size++;
      counts[slot] = c;
      this.#errors[slot] = 0;
    } else {
      const stack = this.#minStack;
      const min = this.#min;
      let top = this.#minTop;
      for (;;) {
        if (top === 0) {
          slot = this.#rescanMin();
          break;
        }
        slot = stack[--top];
        if (counts[slot] === min) {
          this.#minTop = top;
          break;
        }
      }
      const m = counts[slot];
      counts[slot] = m + c;
      this.#errors[slot] = m;
      // Backward-shift deletion of the evicted key's bucket.
      const bucket = this.#bucket;
      let hole = bucket[slot];
      let j = hole;
      for (;;) {
        j = (j + 1) & mask;
        const e = table[(j << 1) | 1];
        if (e === 0) break;
        const h = table[j << 1];
        // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
        if (((j - (h & mask)) & mask) >= ((j - hole) & mask)) {
          table[hole << 1] = h;
          table[(hole << 1) | 1] = e;
          bucket[e - 1] = hole;
          hole = j;
        }
      }
      table[(hole << 1) | 1] = 0;
      // Only that bucket became empty: if it lies on the new key's probe path before the
      // empty bucket found there, the key goes in it instead.
      const home = hash & mask;
      if (((hole - home) & mask) < ((i - home) & mask)) i = hole;
    }
    const o = slot << 2;
    keys[o] = w0;
    keys[o + 1] = w1;
    keys[o + 2] = w2;
    keys[o + 3] = w3;
    this.#hashes[slot] = hash;
    this.#bucket[slot] = i;
    table[i << 1] = hash;
    table[(i << 1) | 1] = slot + 1;
    return ~slot;
  }

  /**
   * Folds `other` into this summary, as a summary of both streams (mergeable Space-Saving,
   * Agarwal et al. 2012): a key held by both gets the sum of its counts and errors; a key held
   * by one only also gets the other's minimum count (the most it can have had there unseen,
   * 0 when that summary is not full), added to its count and error; the `capacity` largest
   * counters are kept. Counts stay overestimates, `count - error` stays a lower bound, and
   * every key left out had at most the new minimum. Side values of a key held by both are
   * `combine`d (default: added; see {@linkcode SideCombine}); a key held by one keeps its own.
   */
  merge(other: SpaceSaving, combine: SideCombine = addSide): void {
    const sw = this.sideWidth;
    if (other.sideWidth !== sw) throw new RangeError("SpaceSaving.merge() needs equal sideWidth");
    const min1 = this.#size === this.capacity ? this.#minCount() : 0;
    const min2 = other.#size === other.capacity ? other.#minCount() : 0;
    // Candidates (at most both sizes) in scratch arrays, allocated once per summary.
    const m = this.#merging ??= new MergeScratch(this.capacity + other.capacity, sw);
    m.ensure(this.#size + other.#size, other.#size);
    const side = m.side;
    const taken = m.taken;
    taken.fill(0, 0, other.#size);
    let n = 0;
    const keys = this.#keys;
    for (let s = 0; s < this.#size; s++) {
      const o = s << 2;
      const t = other.#find(this.#hashes[s], keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
      if (t >= 0) taken[t] = 1;
      side.set(this.side.subarray(s * sw, s * sw + sw), n * sw);
      if (t >= 0 && sw > 0) {
        const g = this.#counts[s] - this.#errors[s];
        combine(side, n * sw, other.side, t * sw, sw, g, other.#counts[t] - other.#errors[t]);
      }
      m.set(
        n++,
        this.#hashes[s],
        keys,
        o,
        this.#counts[s] + (t >= 0 ? other.#counts[t] : min2),
        this.#errors[s] + (t >= 0 ? other.#errors[t] : min2),
      );
    }
    for (let t = 0; t < other.#size; t++) {
      if (taken[t] === 0) {
        side.set(other.side.subarray(t * sw, t * sw + sw), n * sw);
        m.set(
          n++,
          other.#hashes[t],
          other.#keys,
          t << 2,
          min1 + other.#counts[t],
          min1 + other.#errors[t],
        );
      }
    }
    const kept = m.sortTop(n, this.capacity);
    const total = this.#total + other.#total;
    this.reset();
    const order = m.order;
    for (let i = 0; i < kept; i++) {
      const c = order[i];
      const o = c << 2;
      const k = m.keys;
      // Keys are distinct: each takes a new counter (~counter returned).
      const s = ~this.addHashed(m.hashes[c], k[o], k[o + 1], k[o + 2], k[o + 3], m.counts[c]);
      this.#errors[s] = m.errors[c];
      this.side.set(side.subarray(c * sw, c * sw + sw), s * sw);
    }
    this.#total = total;
  }

  /** The smallest count held (Infinity when empty). */
  #minCount(): number {
    let min = Infinity;
    for (let s = 0; s < this.#size; s++) if (this.#counts[s] < min) min = this.#counts[s];
    return min;
  }

  /** The counter holding a key (its side values at `side[slot * sideWidth]`), or -1. */
  slotOf(w0: number, w1: number, w2: number, w3: number): number {
    return this.#find(hashWords(w0, w1, w2, w3), w0 | 0, w1 | 0, w2 | 0, w3 | 0);
  }

  /** Estimated count of a key (0 when it holds no counter). */
  count(w0: number, w1: number, w2: number, w3: number): number {
    const slot = this.#find(hashWords(w0, w1, w2, w3), w0 | 0, w1 | 0, w2 | 0, w3 | 0);
    return slot < 0 ? 0 : this.#counts[slot];
  }

  /** The `n` largest counters, count descending, ties by key words ascending. */
  top(n: number = this.capacity): SpaceSavingEntry[] {
    const keys = this.#keys;
    const out: SpaceSavingEntry[] = [];
    for (let s = 0; s < this.#size; s++) {
      const o = s << 2;
      out.push({
        key: [keys[o] >>> 0, keys[o + 1] >>> 0, keys[o + 2] >>> 0, keys[o + 3] >>> 0],
        count: this.#counts[s],
        error: this.#errors[s],
      });
    }
    out.sort(compareEntries);
    if (out.length > n) out.length = Math.max(0, n);
    return out;
  }

  /** Empties the summary for reuse (no reallocation). */
  reset(): void {
    this.#table.fill(0);
    this.#size = 0;
    this.#minTop = 0;
    this.#total = 0;
  }

  /** Counter holding a key (signed words), or -1. */
  #find(h: number, w0: number, w1: number, w2: number, w3: number): number {
    const table = this.#table;
    const mask = this.#mask;
    const keys = this.#keys;
    let i = h & mask;
    for (;;) {
      const e = table[(i << 1) | 1];
      if (e === 0) return -1;
      const o = (e - 1) << 2;
      if (
        table[i << 1] === h && keys[o + 3] === w3 && keys[o + 2] === w2 && keys[o + 1] === w1 &&
        keys[o] === w0
      ) {
        return e - 1;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Finds the minimum count and stacks the counters holding it; returns one of them (popped).
   *
   * Counts never decrease, so counters found at the minimum stay minimal until they grow:
   * eviction pops the stack, skips entries that have grown since, and rescans only when it
   * is empty (amortized O(1) per eviction on random keys, where many counters share the
   * minimum).
   */
  #rescanMin(): number {
    const counts = this.#counts;
    const stack = this.#minStack;
    let min = Infinity;
    let top = 0;
    const n = this.#size;
    for (let s = 0; s < n; s++) {
      const v = counts[s];
      if (v < min) {
        min = v;
        top = 0;
      }
      if (v === min) stack[top++] = s;
    }
    this.#min = min;
    this.#minTop = top - 1;
    return stack[top - 1];
  }
}

/**
 * Folds the `width` side values at `from[fromAt..)` into those at `into[at..)` for
 * {@linkcode SpaceSaving.merge}; they describe `intoCount` and `fromCount` packets (each
 * counter's `count - error`).
 */
export type SideCombine = (
  into: Float64Array,
  at: number,
  from: Float64Array,
  fromAt: number,
  width: number,
  intoCount: number,
  fromCount: number,
) => void;

/** The default {@linkcode SideCombine}: adds. */
function addSide(
  into: Float64Array,
  at: number,
  from: Float64Array,
  fromAt: number,
  width: number,
): void {
  for (let k = 0; k < width; k++) into[at + k] += from[fromAt + k];
}

function compareEntries(a: SpaceSavingEntry, b: SpaceSavingEntry): number {
  if (a.count !== b.count) return b.count - a.count;
  for (let i = 0; i < 4; i++) {
    if (a.key[i] !== b.key[i]) return a.key[i] - b.key[i];
  }
  return 0;
}
