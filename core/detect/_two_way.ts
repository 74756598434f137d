// The other direction: what the protected addresses send out (sliding one-second sums, and
// their normal second) and the clients they answered while calm (the known clients). Outbound
// traffic never opens an inbound incident; it tells legitimate two-way flows from floods, counts
// the SYN-ACKs a SYN flood's sources may answer, and (with `detect_outbound`) feeds the
// compromised-host finding of `_outbound_watch.ts`.
import { type PacketMeta, Vector } from "../packet/mod.ts";
import { RecentAddresses } from "../sketch/mod.ts";
import { RateTable } from "../traffic/mod.ts";
import { NormalMix } from "./_normal_mix.ts";
import type { DetectionConfig } from "../config/mod.ts";
import type { IncidentEvent } from "./incident.ts";
import { OutboundWatch } from "./_outbound_watch.ts";

/** Seconds of packet time per generation of known clients (kept one to two generations). */
const KNOWN_GENERATION_SECONDS = 900;

/** Outbound accounting and the known clients of the protected addresses. */
export class TwoWay {
  /** Outbound packets, all in the table's shared row (`out.sums` are the last second's). */
  readonly out: RateTable = new RateTable(0);
  /** The normal outbound second (learned while calm; its one target is 0). */
  readonly outNormal: NormalMix = new NormalMix(1);
  /**
   * SYN-ACKs sent out while each target was busy (suspected or under attack), by target row:
   * the handshakes a SYN flood's sources may answer with RSTs (interface-wide: outbound
   * traffic is counted in one row).
   */
  readonly answered: Float64Array;
  /** No target suspected or under attack: known clients and normal seconds are learned. */
  calm = true;
  readonly #known = new RecentAddresses();
  /** Whether outbound traffic was seen (else no source can be known: lookups are skipped). */
  #seen = false;

  /** Floods the host sends itself (the compromised-host finding, `detect_outbound`). */
  readonly #watch: OutboundWatch;

  /** Outbound accounting for `targets` target rows; finding ids derive from `idSeed`. */
  constructor(targets: number, idSeed: string) {
    this.answered = new Float64Array(targets);
    this.#watch = new OutboundWatch(this, idSeed);
  }

  /**
   * One evaluation of the compromised-host finding at `tUs` (after the slot rotated), with the
   * interface's inbound one-second sums: the event due, or null.
   */
  watch(cfg: DetectionConfig, tUs: number, inbound: Float64Array): IncidentEvent | null {
    return this.#watch.step(cfg, tUs, inbound);
  }

  /** End of the traffic: resolves an open compromised-host finding (its event), else null. */
  finish(cfg: DetectionConfig, tUs: number): IncidentEvent | null {
    return this.#watch.finish(cfg, tUs);
  }

  /** Counts an outbound packet; while calm, its destination becomes a known client. */
  add(meta: PacketMeta): void {
    this.out.addShared(meta);
    this.#seen = true;
    if (this.calm) this.#known.add(meta.dst);
  }

  /** Counts an outbound flow record's share (`packets` packets of `bytes` bytes) as {@linkcode add}. */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void {
    this.out.addWeighted(meta, packets, bytes);
    this.#seen = true;
    if (this.calm) this.#known.add(meta.dst);
  }

  /** Whether `src` is a known client. */
  isKnown(src: Uint32Array): boolean {
    return this.#seen && this.#known.has(src);
  }

  /** Target `i` became suspected: its SYN-ACKs start with the last second's. */
  follow(i: number): void {
    this.answered[i] = this.out.sums[Vector.SYN_ACK];
  }

  /** Adds the slot being counted (after `out.finishSlot()`) to busy target `i`. */
  count(i: number): void {
    this.answered[i] += this.out.current(0)[Vector.SYN_ACK];
  }

  /** The second `tSec` ended: learns the normal outbound second, ages the known clients. */
  second(tSec: number): void {
    if (this.calm) this.outNormal.learn(0, this.out.sums);
    this.#watch.second(tSec);
    if (Math.floor(tSec) % KNOWN_GENERATION_SECONDS === 0) this.#known.rotate();
  }
}
