/**
 * HyperLogLog distinct counting in fixed memory: how many different sources sent traffic,
 * whatever their number, in `2^precision` bytes.
 *
 * @module
 */

import { hashWords } from "./_hash.ts";

/** 2^-r for every possible register value (0..32), so the estimate needs no `Math.pow`. */
const POW2_NEG = /* @__PURE__ */ (() => {
  const t = new Float64Array(33);
  for (let r = 0; r <= 32; r++) t[r] = 2 ** -r;
  return t;
})();

const TWO_32 = 4294967296;

/**
 * A HyperLogLog sketch over 32-bit hashes (Flajolet et al., 2007) with the standard
 * corrections: linear counting for small cardinalities and the 32-bit large-range correction.
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

  /** Estimated number of distinct keys added since the last reset (not rounded). */
  estimate(): number {
    const regs = this.#registers;
    const m = regs.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const r = regs[i];
      sum += POW2_NEG[r];
      if (r === 0) zeros++;
    }
    const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m) {
      // Small range: linear counting over the empty registers is far more accurate.
      return zeros > 0 ? m * Math.log(m / zeros) : raw;
    }
    if (raw > TWO_32 / 30) {
      // Large range: correct for collisions of the 32-bit hash.
      return -TWO_32 * Math.log(1 - raw / TWO_32);
    }
    return raw;
  }

  /** Empties the sketch for reuse (no reallocation). */
  reset(): void {
    this.#registers.fill(0);
  }
}
