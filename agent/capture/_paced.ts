// Paced delivery for capture files: records of one parsed chunk are indexed, then handed to
// the real sink when as much wall time has passed as packet time did since the first packet.
// A frame whose time is not a date is handed over at once (the pipeline counts it as
// malformed); a jump of more than MAX_WAIT_US from the frame before (a pause, a clock set, a
// corrupt time) is not waited for: the schedule starts again from that frame.
import type { PacketSink } from "../../core/packet/mod.ts";
import { isPacketTime } from "../../core/traffic/mod.ts";

const INITIAL = 1 << 16;
/** Longest packet-time gap waited for (the windower starts afresh after such a gap anyway). */
const MAX_WAIT_US = 300e6;

/** Collects records of a chunk (as a sink) and delivers them on schedule. */
export class PacedDelivery implements PacketSink {
  #n = 0;
  #offset = new Int32Array(INITIAL);
  #capLen = new Int32Array(INITIAL);
  #wireLen = new Int32Array(INITIAL);
  #linktype = new Int32Array(INITIAL);
  #tsUs = new Float64Array(INITIAL);
  #firstTsUs = NaN;
  #lastTsUs = NaN;
  #startMs = 0;

  constructor(readonly sink: PacketSink, readonly signal?: AbortSignal) {}

  /** Indexes one record of the chunk being parsed (its bytes stay in the source's buffer). */
  packet(
    _buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    if (this.#n === this.#offset.length) this.#grow();
    const i = this.#n++;
    this.#offset[i] = offset;
    this.#capLen[i] = capLen;
    this.#wireLen[i] = wireLen;
    this.#tsUs[i] = tsUs;
    this.#linktype[i] = linktype;
  }

  /** Delivers the indexed records of `buf` on schedule; resolves when all were handed over. */
  async deliver(buf: Uint8Array): Promise<void> {
    for (let i = 0; i < this.#n; i++) {
      const tsUs = this.#tsUs[i];
      const onTime = isPacketTime(tsUs);
      if (onTime && !(Math.abs(tsUs - this.#lastTsUs) <= MAX_WAIT_US)) {
        this.#firstTsUs = tsUs;
        this.#startMs = performance.now();
      }
      if (onTime) this.#lastTsUs = tsUs;
      const wait = onTime ? this.#startMs + (tsUs - this.#firstTsUs) / 1000 - performance.now() : 0;
      if (wait > 2) await new Promise((r) => setTimeout(r, wait));
      if (this.signal?.aborted) break;
      this.sink.packet(
        buf,
        this.#offset[i],
        this.#capLen[i],
        this.#wireLen[i],
        tsUs,
        this.#linktype[i],
      );
    }
    this.#n = 0;
  }

  #grow(): void {
    const grow = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.#offset = grow(this.#offset);
    this.#capLen = grow(this.#capLen);
    this.#wireLen = grow(this.#wireLen);
    this.#linktype = grow(this.#linktype);
    this.#tsUs = grow(this.#tsUs);
  }
}
