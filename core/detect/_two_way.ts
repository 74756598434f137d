// The other direction: what the protected addresses send out (sliding one-second sums, and
// their normal second) and the clients they answered while calm (the known clients). Outbound
// traffic never opens an incident; it tells legitimate two-way flows from floods.
import type { PacketMeta } from "../packet/mod.ts";
import { RecentAddresses } from "../sketch/mod.ts";
import { RateTable } from "../traffic/mod.ts";
import { NormalMix } from "./_normal_mix.ts";

/** Seconds of packet time per generation of known clients (kept one to two generations). */
const KNOWN_GENERATION_SECONDS = 900;

/** Outbound accounting and the known clients of the protected addresses. */
export class TwoWay {
  /** Outbound packets, all in the table's shared row (`out.sums` are the last second's). */
  readonly out: RateTable = new RateTable(0);
  /** The normal outbound second (learned while calm; its one target is 0). */
  readonly outNormal: NormalMix = new NormalMix(1);
  /** No target suspected or under attack: known clients and normal seconds are learned. */
  calm = true;
  readonly #known = new RecentAddresses();
  /** Whether outbound traffic was seen (else no source can be known: lookups are skipped). */
  #seen = false;

  /** Counts an outbound packet; while calm, its destination becomes a known client. */
  add(meta: PacketMeta): void {
    this.out.addShared(meta);
    this.#seen = true;
    if (this.calm) this.#known.add(meta.dst);
  }

  /** Whether `src` is a known client. */
  isKnown(src: Uint32Array): boolean {
    return this.#seen && this.#known.has(src);
  }

  /** One slot of packet time passed (with the detector's rate table). */
  tick(): void {
    this.out.finishSlot();
    this.out.rotate();
  }

  /** The second `tSec` ended: learns the normal outbound second, ages the known clients. */
  second(tSec: number): void {
    if (this.calm) this.outNormal.learn(0, this.out.sums);
    if (Math.floor(tSec) % KNOWN_GENERATION_SECONDS === 0) this.#known.rotate();
  }
}
