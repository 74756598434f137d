/**
 * The interface's rates of the last 15 minutes, one sample per closed one-second window (total
 * and per protocol, packets and bits per second), in a fixed ring: the dashboard's and
 * `ftagent top`'s charts. Fed once per window, never per packet; memory never grows.
 *
 * @module
 */

import type { Window } from "../traffic/mod.ts";

/** Seconds the history keeps (15 minutes). */
export const HISTORY_SECONDS = 900;

/** Protocol classes of the history (`other` includes GRE and non-IP). */
export const HISTORY_PROTOCOLS = ["tcp", "udp", "icmp", "other"] as const;

/** The history as JSON-ready columns, oldest first (all arrays have the same length). */
export interface RateSeries {
  /** Start of each window (s since the epoch, packet time). */
  t: number[];
  /** Packets per second. */
  pps: number[];
  /** Bits per second. */
  bps: number[];
  /** Packets per second per protocol class. */
  ppsBy: Record<(typeof HISTORY_PROTOCOLS)[number], number[]>;
  /** Bits per second per protocol class. */
  bpsBy: Record<(typeof HISTORY_PROTOCOLS)[number], number[]>;
}

// Columns of one sample: t, pps, bps, then pps and bps per protocol.
const COLS = 3 + 2 * HISTORY_PROTOCOLS.length;

/** A bounded ring of per-second rates. */
export class RateHistory {
  readonly #capacity: number;
  readonly #data: Float64Array;
  #next = 0;
  #size = 0;

  /** Keeps the last `capacity` seconds (default {@linkcode HISTORY_SECONDS}). */
  constructor(capacity = HISTORY_SECONDS) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#data = new Float64Array(this.#capacity * COLS);
  }

  /** Samples kept now. */
  get size(): number {
    return this.#size;
  }

  /** Reads a closed window (called by the pipeline once per window). */
  window(window: Window): void {
    const s = window.snapshot(0);
    const seconds = s.seconds > 0 ? s.seconds : 1;
    const p = s.protocols;
    const by = [p.tcp, p.udp, p.icmp, {
      packets: p.gre.packets + p.other.packets,
      bytes: p.gre.bytes + p.other.bytes,
    }];
    this.add(s.t, s.pps, s.bps, by.map((c) => [c.packets / seconds, (c.bytes * 8) / seconds]));
  }

  /**
   * Adds one second: its start `t`, totals, and `[pps, bps]` per protocol in
   * {@linkcode HISTORY_PROTOCOLS} order. The oldest sample goes once the ring is full.
   */
  add(t: number, pps: number, bps: number, byProtocol: readonly (readonly number[])[]): void {
    const o = this.#next * COLS;
    this.#data[o] = t;
    this.#data[o + 1] = pps;
    this.#data[o + 2] = bps;
    for (let i = 0; i < HISTORY_PROTOCOLS.length; i++) {
      this.#data[o + 3 + 2 * i] = byProtocol[i]?.[0] ?? 0;
      this.#data[o + 4 + 2 * i] = byProtocol[i]?.[1] ?? 0;
    }
    this.#next = (this.#next + 1) % this.#capacity;
    this.#size = Math.min(this.#size + 1, this.#capacity);
  }

  /** The samples, oldest first; only those after `sinceT` when given (for polling clients). */
  series(sinceT = -Infinity): RateSeries {
    const out = emptySeries();
    const first = (this.#next - this.#size + this.#capacity) % this.#capacity;
    for (let k = 0; k < this.#size; k++) {
      const o = ((first + k) % this.#capacity) * COLS;
      if (!(this.#data[o] > sinceT)) continue;
      out.t.push(this.#data[o]);
      out.pps.push(round(this.#data[o + 1]));
      out.bps.push(round(this.#data[o + 2]));
      HISTORY_PROTOCOLS.forEach((name, i) => {
        out.ppsBy[name].push(round(this.#data[o + 3 + 2 * i]));
        out.bpsBy[name].push(round(this.#data[o + 4 + 2 * i]));
      });
    }
    return out;
  }
}

/** A series with no sample. */
export function emptySeries(): RateSeries {
  return {
    t: [],
    pps: [],
    bps: [],
    ppsBy: { tcp: [], udp: [], icmp: [], other: [] },
    bpsBy: { tcp: [], udp: [], icmp: [], other: [] },
  };
}

/** `more` appended to `into` (both oldest first), keeping the last `span` seconds; in place. */
export function mergeSeries(
  into: RateSeries,
  more: RateSeries,
  span = HISTORY_SECONDS,
): RateSeries {
  const columns = (s: RateSeries) => [
    s.t,
    s.pps,
    s.bps,
    ...HISTORY_PROTOCOLS.map((p) => s.ppsBy[p]),
    ...HISTORY_PROTOCOLS.map((p) => s.bpsBy[p]),
  ];
  const to = columns(into);
  const from = columns(more);
  to.forEach((column, k) => column.push(...from[k]));
  const newest = into.t[into.t.length - 1];
  const cut = into.t.findIndex((t) => t > newest - span);
  if (cut > 0) { for (const column of to) column.splice(0, cut); }
  return into;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
