// Scratch space of SpaceSaving.merge(): the candidate counters of both summaries, sorted.

/** The candidates of a `SpaceSaving.merge()`: typed arrays reused across merges. */
export class MergeScratch {
  keys: Int32Array;
  hashes: Int32Array;
  counts: Float64Array;
  errors: Float64Array;
  order: Int32Array;
  taken: Uint8Array;
  /** Side values per candidate, `width` each. */
  side: Float64Array;
  readonly width: number;

  constructor(size: number, width: number) {
    this.width = width;
    this.side = new Float64Array(size * width);
    this.keys = new Int32Array(size * 4);
    this.hashes = new Int32Array(size);
    this.counts = new Float64Array(size);
    this.errors = new Float64Array(size);
    this.order = new Int32Array(size);
    this.taken = new Uint8Array(size);
  }

  /** Makes room for `size` candidates and `other` flags (summaries of other capacities). */
  ensure(size: number, other: number): void {
    if (size > this.hashes.length) {
      this.keys = new Int32Array(size * 4);
      this.hashes = new Int32Array(size);
      this.counts = new Float64Array(size);
      this.errors = new Float64Array(size);
      this.order = new Int32Array(size);
      this.side = new Float64Array(size * this.width);
    }
    if (other > this.taken.length) this.taken = new Uint8Array(other);
  }

  /** Candidate `i`: the key at `from[o..o+4)` with its hash, count and error. */
  set(i: number, hash: number, from: Int32Array, o: number, count: number, error: number): void {
    const k = i << 2;
    this.keys[k] = from[o];
    this.keys[k + 1] = from[o + 1];
    this.keys[k + 2] = from[o + 2];
    this.keys[k + 3] = from[o + 3];
    this.hashes[i] = hash;
    this.counts[i] = count;
    this.errors[i] = error;
  }

  /**
   * Orders candidates `0..n` in {@linkcode order} by count descending, ties by key words
   * (unsigned) ascending, and returns how many of them to keep (at most `keep`).
   */
  sortTop(n: number, keep: number): number {
    const order = this.order;
    // Insertion sort: merges hold at most two summaries' counters (128 by default).
    for (let i = 0; i < n; i++) {
      let j = i;
      while (j > 0 && this.#before(i, order[j - 1])) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    return n < keep ? n : keep;
  }

  /** Whether candidate `a` sorts before candidate `b`. */
  #before(a: number, b: number): boolean {
    const ca = this.counts[a], cb = this.counts[b];
    if (ca !== cb) return ca > cb;
    const k = this.keys;
    for (let w = 0; w < 4; w++) {
      const x = k[(a << 2) + w] >>> 0, y = k[(b << 2) + w] >>> 0;
      if (x !== y) return x < y;
    }
    return false;
  }
}
