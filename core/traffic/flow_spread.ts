/**
 * Flow records spread over time: a NetFlow/IPFIX record counts `packets` packets seen between
 * its first and last packet, so its packets are split evenly over the 100 ms slots it spans
 * instead of landing in one second.
 *
 * @module
 */

import { PacketMeta } from "../packet/mod.ts";
import { SLOT_US } from "./rate_table.ts";

/** Where spread records go (the {@linkcode Pipeline}'s `addWeighted`). */
export interface WeightedSink {
  /** `meta` (its `tsUs` set) stands for `packets` packets of `bytes` bytes in all. */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void;
}

/** Options of a {@linkcode FlowSpreader}. */
export interface FlowSpreadOptions {
  /** A record is spread over its last this many seconds at most (default 10). */
  maxSeconds?: number;
  /** Records being spread at once at most (default 4096); beyond, one lands whole at once. */
  maxActive?: number;
}

/** Counters of a {@linkcode FlowSpreader}. */
export class FlowSpreadStats {
  /** Records given. */
  records = 0;
  /** Records that started before the current slot (moved to start in it). */
  late = 0;
  /** Records that ended after the collector's clock (cut to end now). */
  future = 0;
  /** Records longer than `maxSeconds` (only their last `maxSeconds` spread). */
  long = 0;
  /** Records counted whole at once because `maxActive` records were being spread. */
  overflow = 0;
}

/** One record being spread: its packet, what is left of it, and its slots. */
class Spread {
  readonly meta = new PacketMeta(false);
  packets = 0;
  bytes = 0;
  /** Slots left, the current one included. */
  slots = 0;
}

/**
 * Splits flow records over the 100 ms slots between their first and last packet and hands
 * each slot's share to a {@linkcode WeightedSink} when the collector's clock reaches that
 * slot. Pure: the clock is passed in ({@linkcode add}, {@linkcode advance}).
 *
 * - A record spans the slots of its first to its last packet (one slot when they are equal or
 *   disordered), at most `maxSeconds` of them (its last ones: a long-lived flow's recent rate).
 * - Time only moves forward: slots before the current one were handed over already. A record
 *   that starts before the current slot (the usual case: exporters send a flow after it ended
 *   or at its active timeout) keeps its length and so its rate, but starts in the current slot:
 *   detection sees it late by the export delay, never at a rate it did not have. A record of
 *   one slot lands in the current slot.
 * - A record ending after the clock (an exporter's clock ahead) is cut to end now.
 * - Each slot's share is `packets` split evenly in whole packets (rounding carried to the
 *   next slots), `bytes` in proportion; the share's time is the slot's start (the current
 *   slot's: the clock).
 */
export class FlowSpreader {
  /** What was spread and how. */
  readonly stats: FlowSpreadStats = new FlowSpreadStats();
  readonly #sink: WeightedSink;
  readonly #maxSlots: number;
  readonly #maxActive: number;
  readonly #active: Spread[] = [];
  readonly #free: Spread[] = [];
  /** The current slot (shares up to it were handed over), NaN before the first call. */
  #slot = NaN;
  #nowUs = 0;

  /** Creates a spreader handing its shares to `sink`. */
  constructor(sink: WeightedSink, options: FlowSpreadOptions = {}) {
    this.#sink = sink;
    this.#maxSlots = Math.max(1, Math.round((options.maxSeconds ?? 10) * 1e6 / SLOT_US));
    this.#maxActive = options.maxActive ?? 4096;
  }

  /** Records being spread now. */
  get active(): number {
    return this.#active.length;
  }

  /**
   * One record at collector time `nowUs`: `meta` (copied: reuse it) stands for `packets`
   * packets of `bytes` bytes seen from `firstUs` to `lastUs` (µs since the epoch).
   */
  add(
    meta: PacketMeta,
    packets: number,
    bytes: number,
    firstUs: number,
    lastUs: number,
    nowUs: number,
  ): void {
    this.advance(nowUs);
    const stats = this.stats;
    stats.records++;
    const now = this.#slot;
    let first = Math.floor(firstUs / SLOT_US);
    let last = Math.floor(lastUs / SLOT_US);
    if (!(first <= last)) first = last = Number.isFinite(last) ? last : now;
    if (last > now) {
      stats.future++;
      last = now;
      if (first > last) first = last;
    }
    let slots = last - first + 1;
    if (slots > this.#maxSlots) {
      stats.long++;
      slots = this.#maxSlots;
      first = last - slots + 1;
    }
    if (first < now) stats.late++;
    if (slots > 1 && this.#active.length >= this.#maxActive) {
      stats.overflow++;
      slots = 1;
    }
    const s = this.#free.pop() ?? new Spread();
    copyMeta(meta, s.meta);
    s.packets = packets;
    s.bytes = bytes;
    s.slots = slots;
    this.#share(s, this.#nowUs);
    if (s.slots > 0) this.#active.push(s);
    else this.#free.push(s);
  }

  /** The collector's clock is `nowUs`: hands over the shares of every slot up to it. */
  advance(nowUs: number): void {
    const slot = Math.floor(nowUs / SLOT_US);
    if (Number.isNaN(this.#slot)) this.#slot = slot;
    if (nowUs > this.#nowUs) this.#nowUs = nowUs;
    // A long jump: every record ends within maxSlots, so no more slots need handing over.
    const to = Math.min(slot, this.#slot + this.#maxSlots + 1);
    while (this.#slot < to) {
      this.#slot++;
      const active = this.#active;
      const tsUs = this.#slot * SLOT_US;
      for (let i = active.length - 1; i >= 0; i--) {
        const s = active[i];
        this.#share(s, tsUs);
        if (s.slots === 0) {
          active[i] = active[active.length - 1];
          active.pop();
          this.#free.push(s);
        }
      }
    }
    if (slot > this.#slot) this.#slot = slot;
  }

  /**
   * End of collection: what is left of every record is handed over in the slots it still
   * spans, as if the clock ran on (its rate kept; packet time ends a little later).
   */
  flush(): void {
    if (this.#active.length === 0 || Number.isNaN(this.#slot)) return;
    this.advance((this.#slot + this.#maxSlots) * SLOT_US);
  }

  /** Hands over `s`'s share of one slot at `tsUs`. */
  #share(s: Spread, tsUs: number): void {
    const packets = s.slots === 1 ? s.packets : Math.round(s.packets / s.slots);
    const bytes = packets === s.packets ? s.bytes : Math.round((s.bytes * packets) / s.packets);
    s.slots--;
    if (packets <= 0) return;
    s.packets -= packets;
    s.bytes -= bytes;
    s.meta.tsUs = tsUs;
    this.#sink.addWeighted(s.meta, packets, bytes);
  }
}

/** Copies the fields detection and the windows read (no frame: no payload). */
function copyMeta(from: PacketMeta, to: PacketMeta): void {
  to.tsUs = from.tsUs;
  to.wireLen = from.wireLen;
  to.capLen = from.capLen;
  to.linktype = from.linktype;
  to.malformed = from.malformed;
  to.vlanCount = from.vlanCount;
  to.vlanId = from.vlanId;
  to.etherType = from.etherType;
  to.ipVersion = from.ipVersion;
  to.src.set(from.src);
  to.dst.set(from.dst);
  to.ttl = from.ttl;
  to.ipLen = from.ipLen;
  to.protocol = from.protocol;
  to.fragment = from.fragment;
  to.fragOffset = from.fragOffset;
  to.srcPort = from.srcPort;
  to.dstPort = from.dstPort;
  to.tcpFlags = from.tcpFlags;
  to.icmpType = from.icmpType;
  to.icmpCode = from.icmpCode;
  to.hasL4 = from.hasL4;
  to.payloadOffset = -1;
  to.payloadLen = 0;
  to.greProtocol = from.greProtocol;
  to.hasInner = false;
  to.vector = from.vector;
  to.outbound = from.outbound;
}
