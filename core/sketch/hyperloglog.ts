/**
 * HyperLogLog distinct counting in fixed memory: how many different sources sent traffic,
 * whatever their number, in `2^precision` bytes.
 *
 * @module
 */

import { hashWords } from "./hash.ts";

/**
 * A HyperLogLog sketch over 32-bit hashes (Flajolet et al., 2007), with an estimator that
 * stays unbiased from a single key to the ~10^8 keys a 32-bit hash can tell apart
 * (small-range linear counting and large-range corrections included: see
 * {@linkcode HyperLogLog.estimate}).
 *
 * With the default precision 14 (16384 one-byte registers) the relative standard error is
 * about 1.04 / sqrt(16384) = 0.8%. Adding and merging allocate nothing; two sketches of the
 * same precision merge by taking the maximum of each register, which gives exactly the
 * sketch of the union of their inputs.
 *
 * Keys are 4-word addresses ({@linkcode HyperLogLog.add}) or their precomputed
 * `hashWords` hash ({@linkcode HyperLogLog.addHash}).
 */
export class HyperLogLog {
  /** Number of index bits: the sketch has `2^precision` registers. */
  readonly precision: number;
  readonly #registers: Uint8Array;
  readonly #shift: number;
  readonly #rankFloor: number;

  /** Creates an empty sketch; `precision` is 4..16 (default 14). */
  constructor(precision = 14) {
    if (!Number.isInteger(precision) || precision < 4 || precision > 16) {
      throw new RangeError(`HyperLogLog precision must be an integer in 4..16, got ${precision}`);
    }
    this.precision = precision;
    this.#registers = new Uint8Array(1 << precision);
    this.#shift = 32 - precision;
    // A guard bit just below the hash bits left after the index caps the rank at
    // 32 - precision + 1 when all of them are zero.
    this.#rankFloor = 1 << (precision - 1);
  }

  /** Number of registers (`2^precision`). */
  get size(): number {
    return this.#registers.length;
  }

  /** Adds a key given as four 32-bit words (an address; a port as `0, 0, 0, port`). */
  add(w0: number, w1: number, w2: number, w3: number): void {
    this.addHash(hashWords(w0, w1, w2, w3));
  }

  /** Adds a key by its `hashWords` hash (lets one hash per packet feed several sketches). */
  addHash(hash: number): void {
    const index = hash >>> this.#shift;
    const rank = Math.clz32((hash << this.precision) | this.#rankFloor) + 1;
    if (rank > this.#registers[index]) this.#registers[index] = rank;
  }

  /** Folds `other` (same precision) into this sketch: afterwards it counts the union. */
  merge(other: HyperLogLog): void {
    if (other.precision !== this.precision) {
      throw new RangeError(
        `cannot merge HyperLogLog of precision ${other.precision} into ${this.precision}`,
      );
    }
    const a = this.#registers;
    const b = other.#registers;
    for (let i = 0; i < a.length; i++) {
      if (b[i] > a[i]) a[i] = b[i];
    }
  }

  /**
   * Estimated number of distinct keys added since the last reset (not rounded).
   *
   * Uses Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
   * sketches", 2017): computed from the histogram of register values, it folds in the
   * small-range (linear counting) and large-range (hash saturation) corrections and, unlike
   * the classic estimator with its switch to linear counting at 2.5 m, has no bias bump in
   * between (the classic one reads about 2% high near 40,000 keys at precision 14).
   */
  estimate(): number {
    const regs = this.#registers;
    const m = regs.length;
    const q = 32 - this.precision;
    const hist = new Int32Array(q + 2);
    for (let i = 0; i < m; i++) hist[regs[i]]++;
    let z = m * tau(1 - hist[q + 1] / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + hist[k]);
    z += m * sigma(hist[0] / m);
    return (m * m) / (2 * Math.LN2) / z;
  }

  /** Empties the sketch for reuse (no reallocation). */
  reset(): void {
    this.#registers.fill(0);
  }
}

/** Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for the share of empty registers. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let last: number;
  do {
    x *= x;
    last = z;
    z += x * y;
    y += y;
  } while (z !== last);
  return z;
}

/** Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, for saturated registers. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let last: number;
  do {
    x = Math.sqrt(x);
    last = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z !== last);
  return z / 3;
}
