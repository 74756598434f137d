/**
 * Space-Saving top-K (Metwally et al., 2005) in fixed memory: the heaviest source addresses,
 * destination addresses or ports of a window, whatever the number of distinct keys.
 *
 * @module
 */

import { hashWords } from "./_hash.ts";

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
 * exceeds N / K holds a counter, and each counter overestimates its key's weight by at most
 * its `error`, which is at most N / K (the minimum counter). After {@linkcode merge} the
 * overestimate bounds of the two summaries add up.
 *
 * Everything lives in typed arrays allocated once: keys, counts and errors per counter, an
 * open-addressing table (linear probing, backward-shift deletion, load factor <= 1/4) from
 * key to counter, and a stack of the counters at the minimum count for eviction (amortized
 * O(1): see `#rescanMin`). `add` allocates nothing.
 */
export class SpaceSaving {
  /** Number of counters (K). */
  readonly capacity: number;
  /** Key words per counter (signed 32-bit, so they stay small integers in V8). */
  readonly #keys: Int32Array;
  readonly #counts: Float64Array;
  readonly #errors: Float64Array;
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
  #size = 0;

  /** Creates an empty summary with `capacity` counters (default 64). */
  constructor(capacity = 64) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 20) {
      throw new RangeError(`SpaceSaving capacity must be an integer in 1..2^20, got ${capacity}`);
    }
    this.capacity = capacity;
    this.#keys = new Int32Array(capacity * 4);
    this.#counts = new Float64Array(capacity);
    this.#errors = new Float64Array(capacity);
    this.#hashes = new Int32Array(capacity);
    this.#bucket = new Int32Array(capacity);
    let buckets = 16;
    while (buckets < capacity * 4) buckets *= 2;
    this.#table = new Int32Array(buckets * 2);
    this.#mask = buckets - 1;
    this.#minStack = new Int32Array(capacity);
  }

  /** Number of counters in use (distinct keys held, at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  /** Total weight added since the last reset (N; counters always sum to it). */
  get total(): number {
    let sum = 0;
    for (let s = 0; s < this.#size; s++) sum += this.#counts[s];
    return sum;
  }

  /** Adds `count` (default 1) to a key given as four 32-bit words. */
  add(w0: number, w1: number, w2: number, w3: number, count?: number): void {
    // No default parameter values on hot paths: V8 optimizes those functions far less.
    this.addHashed(hashWords(w0, w1, w2, w3), w0, w1, w2, w3, count === undefined ? 1 : count);
  }

  /**
   * Like {@linkcode add} with the key's hash already computed; `hash` MUST be
   * `hashWords(w0, w1, w2, w3)` (lets one hash per packet feed several sketches).
   * Hot path: allocates nothing, and a miss costs O(1) amortized.
   */
  addHashed(hash: number, w0: number, w1: number, w2: number, w3: number, count?: number): void {
    const c = count === undefined ? 1 : count;
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
          return;
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
      for (;;) {
        if (this.#minTop === 0) {
          slot = this.#rescanMin();
          break;
        }
        slot = stack[--this.#minTop];
        if (counts[slot] === min) break;
      }
      const m = counts[slot];
      counts[slot] = m + c;
      this.#errors[slot] = m;
      // Backward-shift deletion of the evicted key's bucket.
      const bucket = this.#bucket;
      let hole = bucket[slot];
      let j = hole;
      let shifted = false;
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
          shifted = true;
        }
      }
      table[(hole << 1) | 1] = 0;
      if (shifted) {
        i = hash & mask;
        while (table[(i << 1) | 1] !== 0) i = (i + 1) & mask;
      }
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
  }

  /** Folds every counter of `other` into this summary (weighted adds carrying their errors). */
  merge(other: SpaceSaving): void {
    const keys = other.#keys;
    for (let s = 0; s < other.#size; s++) {
      const o = s << 2;
      const h = other.#hashes[s];
      const w0 = keys[o], w1 = keys[o + 1], w2 = keys[o + 2], w3 = keys[o + 3];
      this.addHashed(h, w0, w1, w2, w3, other.#counts[s]);
      // The key now holds a counter; its overestimate bound grows by other's.
      this.#errors[this.#find(h, w0, w1, w2, w3)] += other.#errors[s];
    }
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

function compareEntries(a: SpaceSavingEntry, b: SpaceSavingEntry): number {
  if (a.count !== b.count) return b.count - a.count;
  for (let i = 0; i < 4; i++) {
    if (a.key[i] !== b.key[i]) return a.key[i] - b.key[i];
  }
  return 0;
}
