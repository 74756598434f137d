// What each target's traffic normally looks like per second: the vector counters of its calm
// seconds, averaged. Incidents classify what rose above it (the excess), and a rise from known
// clients is compared with it.
import { completeVectors, Vector, VECTOR_COUNT } from "../packet/mod.ts";

/** Calm seconds averaged evenly; after that each new second weighs 1/MEMORY. */
const MEMORY = 60;
/** Calm seconds before a target's normal mix is used. */
export const NORMAL_READY_SECONDS = 5;
/** Least wire bytes of a packet of each size class (Ethernet minimum, 65, 1000). */
const MIN_WIRE = 60;
const MIN_MID = 65;
const MIN_LARGE = 1000;

/**
 * Subtracts `times` normal seconds (`normal[base ..]`) from the counters `into`, each at least
 * 0, and sums the derived totals again. Size classes and categories are clamped apart, so the
 * packets are the larger of the two counts, the size classes scaled to it; the bytes are at
 * least the least the remaining size classes weigh.
 */
export function subtractNormal(
  into: Float64Array,
  normal: Float64Array,
  base: number,
  times: number,
): void {
  for (let v = 0; v < VECTOR_COUNT; v++) into[v] = Math.max(0, into[v] - normal[base + v] * times);
  completeVectors(into, 0);
  const categories = into[Vector.TCP] + into[Vector.UDP] + into[Vector.ICMP] +
    into[Vector.GRE] + into[Vector.OTHER] + into[Vector.MALFORMED];
  const sized = into[Vector.PACKETS];
  if (categories > sized && sized > 0) {
    const k = categories / sized;
    into[Vector.SMALL] *= k;
    into[Vector.MID] *= k;
    into[Vector.LARGE] *= k;
    into[Vector.PACKETS] = categories;
  }
  // Bytes are one counter: a heavy normal (content sent back) may take more than the rise's own.
  const least = MIN_WIRE * into[Vector.SMALL] + MIN_MID * into[Vector.MID] +
    MIN_LARGE * into[Vector.LARGE];
  if (into[Vector.BYTES] < least) into[Vector.BYTES] = least;
}

/** Per target (destination rows, the interface last): the mean vector counters of calm seconds. */
export class NormalMix {
  readonly #mean: Float64Array;
  readonly #seconds: Uint32Array;

  constructor(targets: number) {
    this.#mean = new Float64Array(targets * VECTOR_COUNT);
    this.#seconds = new Uint32Array(targets);
  }

  /** One more calm second of target `i` with one-second counters `sums`. */
  learn(i: number, sums: Float64Array): void {
    const n = Math.min(++this.#seconds[i], MEMORY);
    const m = this.#mean;
    const base = i * VECTOR_COUNT;
    for (let v = 0; v < VECTOR_COUNT; v++) m[base + v] += (sums[v] - m[base + v]) / n;
  }

  /** Target `i` is a new destination: its mix starts over. */
  forget(i: number): void {
    this.#seconds[i] = 0;
    this.#mean.fill(0, i * VECTOR_COUNT, (i + 1) * VECTOR_COUNT);
  }

  /** Whether target `i` has enough calm seconds for its mix to count. */
  ready(i: number): boolean {
    return this.#seconds[i] >= NORMAL_READY_SECONDS;
  }

  /** A copy of target `i`'s normal counters per second, or null while not ready. */
  copy(i: number): Float64Array | null {
    if (!this.ready(i)) return null;
    return this.#mean.slice(i * VECTOR_COUNT, (i + 1) * VECTOR_COUNT);
  }

  /** Target `i`'s normal count of vector `v` per second (0 while not ready). */
  perSecond(i: number, v: number = Vector.PACKETS): number {
    return this.ready(i) ? this.#mean[i * VECTOR_COUNT + v] : 0;
  }

  /**
   * Subtracts target `i`'s normal second from the counters `into` ({@linkcode subtractNormal});
   * nothing while the mix is not ready.
   */
  subtractFrom(i: number, into: Float64Array): void {
    if (this.ready(i)) subtractNormal(into, this.#mean, i * VECTOR_COUNT, 1);
  }

  /**
   * Cosine similarity (0 to 1) of `sums` and target `i`'s normal mix over `vectors`; 0 while
   * the mix is not ready.
   */
  similarity(i: number, sums: Float64Array, vectors: readonly number[]): number {
    if (!this.ready(i)) return 0;
    const m = this.#mean;
    const base = i * VECTOR_COUNT;
    let dot = 0, a = 0, b = 0;
    for (const v of vectors) {
      dot += sums[v] * m[base + v];
      a += sums[v] * sums[v];
      b += m[base + v] * m[base + v];
    }
    return a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 0;
  }
}
