/**
 * The interface's rates over the last closed one-second window (total and per protocol), for
 * the metrics endpoint. Fed once per window, never per packet.
 *
 * @module
 */

import type { Window } from "../traffic/mod.ts";

/** Rates of one window, per second. */
export interface SecondRates {
  /** Start of the window (s since the epoch, packet time); 0 before the first. */
  t: number;
  /** Packets per second. */
  pps: number;
  /** Bits per second. */
  bps: number;
  /** Packets per second per protocol class (`other` includes GRE and non-IP). */
  protocols: { tcp: number; udp: number; icmp: number; other: number };
}

/** Keeps the rates of the latest closed window. */
export class LastSecond {
  #rates: SecondRates = { t: 0, pps: 0, bps: 0, protocols: { tcp: 0, udp: 0, icmp: 0, other: 0 } };

  /** Reads a closed window (called by the pipeline once per window). */
  window(window: Window): void {
    const s = window.snapshot(0);
    const seconds = s.seconds > 0 ? s.seconds : 1;
    const p = s.protocols;
    this.#rates = {
      t: s.t,
      pps: s.pps,
      bps: s.bps,
      protocols: {
        tcp: p.tcp.packets / seconds,
        udp: p.udp.packets / seconds,
        icmp: p.icmp.packets / seconds,
        other: (p.gre.packets + p.other.packets) / seconds,
      },
    };
  }

  /** The latest window's rates. */
  rates(): SecondRates {
    return this.#rates;
  }
}
