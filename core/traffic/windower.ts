/**
 * Cuts a packet stream into consecutive one-second {@linkcode Window}s of packet time.
 *
 * @module
 */

import type { PacketMeta } from "../packet/mod.ts";
import { Window } from "./window.ts";

/** Options of a {@linkcode Windower}. */
export interface WindowerOptions {
  /** Counters per top-K table of each window (default 64). */
  topK?: number;
  /**
   * Longest run of missing seconds filled with empty windows (default 300). A larger jump
   * forward (or any jump backward beyond it) closes the current window and starts afresh.
   */
  maxGapSeconds?: number;
}

/**
 * Groups packets into one-second windows by packet time (`Math.floor(meta.tsUs / 1e6)`)
 * and hands each closed window to `onWindow`.
 *
 * - The first window starts at the first packet's second.
 * - When a packet's second is after the current window, the current window is closed, an
 *   empty window is emitted for each skipped second (only when at most `maxGapSeconds`
 *   seconds are missing; a larger jump emits none), and a window opens at the packet's
 *   second.
 * - A packet older than the current window (out of order) counts in the current window,
 *   unless it is more than `maxGapSeconds` older (a clock step back): then the current window
 *   is closed and a new one starts at the packet's second.
 * - {@linkcode advance} closes windows on an idle link; {@linkcode flush} closes the last one.
 *
 * One {@linkcode Window} object is reused for every window: `onWindow` must snapshot or
 * merge it during the call and not keep it.
 */
export class Windower {
  readonly #onWindow: (window: Window) => void;
  readonly #window: Window;
  readonly #maxGap: number;
  /** Second of the open window, or NaN when none is open. */
  #current = NaN;
  /** Packet-time span of the open window (µs), empty when none is open. */
  #startUs = Infinity;
  #endUs = -Infinity;

  /** Creates a windower that calls `onWindow` with each closed window. */
  constructor(onWindow: (window: Window) => void, options: WindowerOptions = {}) {
    this.#onWindow = onWindow;
    this.#window = new Window({ topK: options.topK });
    this.#maxGap = options.maxGapSeconds ?? 300;
  }

  /** The window being filled now (read-only use: it is reset at every second). */
  get window(): Window {
    return this.#window;
  }

  /** Start (epoch seconds) of the open window, or `undefined` when none is open. */
  get current(): number | undefined {
    return Number.isNaN(this.#current) ? undefined : this.#current;
  }

  /**
   * Counts one packet (or `n` copies: a sampled frame) in the window of its second, closing
   * earlier windows first.
   */
  add(meta: PacketMeta, n = 1): void {
    // Small on purpose, so the pipeline inlines it; no division per packet.
    const tsUs = meta.tsUs;
    if (tsUs >= this.#endUs || tsUs < this.#startUs) this.#changeTo(Math.floor(tsUs / 1e6));
    this.#window.add(meta, n);
  }

  /** Counts `meta` as `packets` packets of `bytes` bytes (a flow record's share; see `Window`). */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void {
    const tsUs = meta.tsUs;
    if (tsUs >= this.#endUs || tsUs < this.#startUs) this.#changeTo(Math.floor(tsUs / 1e6));
    this.#window.addWeighted(meta, packets, bytes);
  }

  /**
   * Live mode: the clock says it is `tsUs` (microseconds since the epoch). Closes the open
   * window (and emits empty ones for the seconds since, within `maxGapSeconds`) once `tsUs`
   * is past its end, and opens an empty window for the current second, so windows keep coming
   * on an idle link. With no window open, opens one at `tsUs`'s second.
   */
  advance(tsUs: number): void {
    const second = Math.floor(tsUs / 1e6);
    const current = this.#current;
    if (Number.isNaN(current)) this.#open(second);
    else if (second > current) this.#moveTo(second);
  }

  /** End of capture: closes the open window if it counted any packet; none is open after. */
  flush(): void {
    if (Number.isNaN(this.#current)) return;
    if (this.#window.packets > 0) this.#emit();
    this.#current = NaN;
    this.#startUs = Infinity;
    this.#endUs = -Infinity;
  }

  /** A packet of another second than the open window's (see the class doc). */
  #changeTo(second: number): void {
    const current = this.#current;
    if (Number.isNaN(current)) this.#open(second);
    else if (second > current) this.#moveTo(second);
    else if (current - second > this.#maxGap) {
      this.#emit();
      this.#open(second);
    }
  }

  /** Closes the current window, fills a short gap with empty windows, opens `second`. */
  #moveTo(second: number): void {
    const current = this.#current;
    this.#emit();
    const missing = second - current - 1;
    if (missing > 0 && missing <= this.#maxGap) {
      for (let s = current + 1; s < second; s++) {
        this.#window.reset(s);
        this.#emit();
      }
    }
    this.#open(second);
  }

  #open(second: number): void {
    this.#window.reset(second);
    this.#current = second;
    this.#startUs = second * 1e6;
    this.#endUs = (second + 1) * 1e6;
  }

  #emit(): void {
    this.#onWindow(this.#window);
  }
}
