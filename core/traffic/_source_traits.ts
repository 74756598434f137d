// Per-source traits of a window's top-source table: what each source's own packets looked like
// (pure SYNs, protocol classes, TTL), kept as side values of its Space-Saving counter, so they
// describe the same packets as the source's guaranteed count.
import type { SourceTraits } from "./window_stats.ts";

/** Side values per source counter (layout below). */
export const TRAIT_WIDTH = 5;
/** Pure SYNs (SYN without ACK, RST or FIN). */
const SYN = 0;
/** The protocol class of the first packet seen (the window's classes, 0 TCP .. 4 other), plus one. */
const CLASS = 1;
/** Packets of another class than that one. */
const CLASS_OTHER = 2;
/** The TTL of the first packet seen, plus one (0: none yet). */
const TTL = 3;
/** Packets with another TTL than that one. */
const TTL_OTHER = 4;
/** Names of the protocol classes, in the window's order. */
const CLASS_NAMES = ["tcp", "udp", "icmp", "gre", "other"] as const;

/** Whether TCP flags make a pure SYN (SYN set; ACK, RST and FIN clear). */
export function pureSyn(flags: number): boolean {
  return (flags & 0x17) === 0x02;
}

/**
 * The traits of the current run of one source's packets (see `Window`), folded into the
 * source's counter when the run ends. Scalar fields: counting a packet allocates nothing.
 */
export class SourceRun {
  /** Pure SYNs of the run. */
  syn = 0;
  #cls = 0;
  #clsOther = 0;
  #ttl = 0;
  #ttlOther = 0;

  /** Starts a run whose first packet has protocol class `cls` and TTL `ttl`. */
  start(cls: number, ttl: number): void {
    this.syn = 0;
    this.#cls = cls;
    this.#clsOther = 0;
    this.#ttl = ttl;
    this.#ttlOther = 0;
  }

  /** Counts `n` packets of protocol class `cls` with TTL `ttl`. */
  count(cls: number, ttl: number, n: number): void {
    if (ttl !== this.#ttl) this.#ttlOther += n;
    if (cls !== this.#cls) this.#clsOther += n;
  }

  /**
   * Adds the run (`run` packets) to the side values of counter `slot` (`~counter` when the
   * source just took it: they are set). A run whose first class or TTL is not the counter's
   * counts all its packets as another one (an upper bound).
   */
  flush(side: Float64Array, slot: number, run: number): void {
    if (slot < 0) {
      // The source just took the counter (~slot): its values are the evicted source's.
      const o = ~slot * TRAIT_WIDTH;
      side[o + SYN] = this.syn;
      side[o + CLASS] = this.#cls + 1;
      side[o + CLASS_OTHER] = this.#clsOther;
      side[o + TTL] = this.#ttl + 1;
      side[o + TTL_OTHER] = this.#ttlOther;
      return;
    }
    const o = slot * TRAIT_WIDTH;
    side[o + SYN] += this.syn;
    side[o + CLASS_OTHER] += side[o + CLASS] === this.#cls + 1 ? this.#clsOther : run;
    side[o + TTL_OTHER] += side[o + TTL] === this.#ttl + 1 ? this.#ttlOther : run;
  }
}

/**
 * Merges the traits of one source from two windows (a `SideCombine`; `a` and `b` packets):
 * SYNs add; the merged class and TTL are the ones more packets are known to carry, the other
 * packets count as another class or TTL.
 */
export function combineTraits(
  into: Float64Array,
  at: number,
  from: Float64Array,
  fromAt: number,
  _width: number,
  a: number,
  b: number,
): void {
  into[at + SYN] += from[fromAt + SYN];
  combineFirst(into, at + CLASS, from, fromAt + CLASS, a, b);
  combineFirst(into, at + TTL, from, fromAt + TTL, a, b);
}

/** Merges a (first value + 1, packets with another) pair at `into[i]` with `from[j]`. */
function combineFirst(
  into: Float64Array,
  i: number,
  from: Float64Array,
  j: number,
  a: number,
  b: number,
): void {
  const va = into[i], vb = from[j];
  if (vb === 0) return;
  if (va === vb) {
    into[i + 1] += from[j + 1];
    return;
  }
  const sameA = va === 0 ? 0 : a - into[i + 1];
  const sameB = b - from[j + 1];
  into[i] = sameB > sameA ? vb : va;
  into[i + 1] = a + b - Math.max(sameA, sameB);
}

/** The traits of counter `slot` (whose key is guaranteed `count` packets) as plain data. */
export function traitsAt(side: Float64Array, slot: number): SourceTraits {
  const o = slot * TRAIT_WIDTH;
  return {
    syn: side[o + SYN],
    protocol: CLASS_NAMES[Math.max(0, side[o + CLASS] - 1)] ?? "other",
    protocol_other: side[o + CLASS_OTHER],
    ttl: Math.max(0, side[o + TTL] - 1),
    ttl_other: side[o + TTL_OTHER],
  };
}
