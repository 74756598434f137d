// Where an incident's per-packet statistics (top talkers, sources, TTLs, lengths) come from:
// a bounded pool of windows, fed either from the interface's per-second windows (a target that
// carries most of the traffic: nothing is counted twice) or from the target's own packets,
// sampled above a rate so evidence costs a bounded amount per second.
import type { PacketMeta } from "../packet/mod.ts";
import { Window, type WindowStats } from "../traffic/mod.ts";

/** A destination below this share of the interface's packets counts its own statistics. */
const OWN_STATS_BELOW = 0.5;
/** Packets per second a destination's own statistics take in full; above, a regular sample. */
const OWN_STATS_FULL_PPS = 5000;
/** Windows available to suspected/active targets at once. */
const POOL = 8;

/** Evidence windows of the targets (rows of the rate table, the interface last). */
export class EvidenceWindows {
  /**
   * Per row: packets until the next one it counts in its own statistics (its sample is due
   * when the count reaches 0: call {@linkcode add}); 0 when the row does not count its own.
   * A typed array the detector decrements inline, so the packets of other rows cost a load.
   */
  readonly countdown: Int32Array;
  readonly #pool: Window[] = [];
  readonly #free: boolean[] = [];
  /** Pool slot of each target (-1: none). */
  readonly #slot: Int32Array;
  /** Pool slot a row counts its own packets into (-1: none, or fed from the interface). */
  readonly #own: Int32Array;
  /** A row counting its own packets takes one in `#every`. */
  readonly #every: Int32Array;
  /** The countdown of a row while it does not count its own packets (kept for when it does). */
  readonly #skip: Int32Array;
  readonly #iface: number;
  #live: Window | null = null;
  readonly #scratch = new Window();

  /** `targets` rows, the last one (`targets - 1`) the interface. */
  constructor(targets: number) {
    this.#iface = targets - 1;
    this.#slot = new Int32Array(targets).fill(-1);
    this.#own = new Int32Array(targets).fill(-1);
    this.#every = new Int32Array(targets).fill(1);
    this.#skip = new Int32Array(targets).fill(1);
    this.countdown = new Int32Array(targets);
    for (let i = 0; i < POOL; i++) {
      this.#pool.push(new Window());
      this.#free.push(true);
    }
  }

  /** The pipeline's window of the second in progress. */
  watch(window: Window): void {
    this.#live = window;
  }

  /** A packet of `row` whose {@linkcode countdown} reached 0: counts it, restarts the count. */
  add(row: number, meta: PacketMeta): void {
    const s = this.#own[row];
    if (s < 0) return;
    this.countdown[row] = this.#every[row];
    this.#pool[s].add(meta);
  }

  /** A flow record's share for `row` (its countdown not 0): counted whole, not sampled. */
  addWeighted(row: number, meta: PacketMeta, packets: number, bytes: number): void {
    const s = this.#own[row];
    if (s >= 0) this.#pool[s].addWeighted(meta, packets, bytes);
  }

  /** A second of all traffic closed: targets fed from the interface take it in. */
  closed(window: Window): void {
    for (let i = 0; i <= this.#iface; i++) {
      const s = this.#slot[i];
      if (s >= 0 && this.#own[i] < 0) this.#pool[s].merge(window);
    }
  }

  /** Whether target `i` has a window. */
  has(i: number): boolean {
    return this.#slot[i] >= 0;
  }

  /** Whether target `i` counts its own packets (else it is fed from the interface's windows). */
  isOwn(i: number): boolean {
    return this.#own[i] >= 0;
  }

  /** Sampling step of target `i`'s own statistics (1: every packet). */
  every(i: number): number {
    return this.#every[i];
  }

  /** Gives target `i` a window starting at second `start`; false when the pool is exhausted. */
  acquire(i: number, start: number): boolean {
    const s = this.#free.indexOf(true);
    if (s < 0) return false;
    this.#free[s] = false;
    this.#pool[s].reset(start);
    this.#slot[i] = s;
    return true;
  }

  /** Returns target `i`'s window to the pool. */
  release(i: number): void {
    const s = this.#slot[i];
    if (s < 0) return;
    this.#free[s] = true;
    this.#slot[i] = -1;
    this.#setOwn(i, -1, 1);
  }

  /**
   * For the next second: destination row `i` with `packets` of the interface's `total` in the
   * last second keeps its own statistics when it carries less than {@linkcode OWN_STATS_BELOW}
   * of them, every packet up to {@linkcode OWN_STATS_FULL_PPS} and 1 in N above. Returns that
   * N when the row keeps its own statistics, else 0.
   */
  choose(i: number, packets: number, total: number): number {
    const s = this.#slot[i];
    if (s < 0 || i === this.#iface) return 0;
    const own = total > 0 && packets < OWN_STATS_BELOW * total;
    const every = own ? Math.max(1, Math.ceil(packets / OWN_STATS_FULL_PPS)) : 1;
    this.#setOwn(i, own ? s : -1, every);
    return own ? every : 0;
  }

  /** Row `i` counts its own packets into pool slot `s` (-1: not), one in `every`. */
  #setOwn(i: number, s: number, every: number): void {
    const was = this.#own[i] >= 0;
    if (was && s < 0) this.#skip[i] = this.countdown[i];
    this.countdown[i] = s < 0 ? 0 : was ? this.countdown[i] : this.#skip[i];
    this.#own[i] = s;
    this.#every[i] = every;
  }

  /** Statistics of target `i` so far, including the second in progress; null without any. */
  stats(i: number): WindowStats | null {
    const s = this.#slot[i];
    if (s < 0) return null;
    const w = this.#pool[s];
    const live = this.#live;
    if (this.#own[i] < 0 && live !== null && live.packets > 0) {
      const scratch = this.#scratch;
      scratch.reset(w.start);
      scratch.merge(w);
      scratch.merge(live);
      return scratch.snapshot(10, true);
    }
    return w.packets > 0 ? w.snapshot(10, true) : null;
  }
}
