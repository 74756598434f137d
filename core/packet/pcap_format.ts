/**
 * Streaming parser for pcap and pcapng capture bytes.
 *
 * The same parser reads capture files (the TypeScript reader) and the records libpcap writes
 * during live capture, so both paths hand identical frames to the decoder. It works on whole
 * records inside a caller-owned buffer and allocates nothing per packet.
 *
 * @module
 */

import type { PacketSink } from "./packet.ts";

/** A capture's bytes are not a valid pcap/pcapng stream (names the offset and the reason). */
export class CaptureFormatError extends Error {
  /** Creates the error; `message` is one line meant for the operator. */
  constructor(message: string) {
    super(message);
    this.name = "CaptureFormatError";
  }
}

/** Largest record the parser accepts (libpcap's limit for any link type). */
export const MAX_RECORD_BYTES = 262144;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_US_SWAPPED = 0xd4c3b2a1;
const PCAP_MAGIC_NS_SWAPPED = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const PCAPNG_BOM_SWAPPED = 0x4d3c2b1a;
const MAX_INTERFACES = 256;
const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/** Which container the stream turned out to be. */
export type CaptureFormat = "pcap" | "pcapng";

/**
 * Parses a capture stream chunk by chunk.
 *
 * Feed it bytes with {@linkcode CaptureParser.parse}; it delivers every whole record to the
 * sink and returns how many bytes it consumed, so the caller keeps the unconsumed tail and
 * appends more data after it. At the end of the stream call {@linkcode CaptureParser.finish}
 * with the number of bytes left over: anything left means the capture was cut.
 *
 * @example Count the records of a capture file read in chunks
 * ```ts
 * import { CaptureParser } from "./mod.ts";
 *
 * const parser = new CaptureParser();
 * let records = 0;
 * const sink = { packet: () => void records++ };
 * using file = await Deno.open("attack.pcap");
 * const buf = new Uint8Array(1 << 20);
 * let end = 0;
 * for (;;) {
 *   const n = await file.read(buf.subarray(end));
 *   if (n === null) break;
 *   end += n;
 *   const used = parser.parse(buf, 0, end, sink);
 *   buf.copyWithin(0, used, end); // keep the unconsumed tail
 *   end -= used;
 * }
 * parser.finish(end); // throws when the capture was cut
 * console.log(parser.format, records);
 * ```
 */
export class CaptureParser {
  /** Container format, known once the header was read. */
  format: CaptureFormat | null = null;
  /** Link type of the (first) interface, known once the header was read. */
  linktype: number = -1;
  /** Snapshot length declared by the header. */
  snaplen = 0;
  /** Records delivered so far. */
  records = 0;
  /** Bytes consumed so far (the stream offset of the next record). */
  offset = 0;

  #little = true;
  #nanos = false;
  // pcapng per-interface state, reset at every section header.
  #ifCount = 0;
  readonly #ifLinktype = new Int32Array(MAX_INTERFACES);
  readonly #ifSnaplen = new Uint32Array(MAX_INTERFACES);
  readonly #ifUnitsPerSec = new Float64Array(MAX_INTERFACES);

  /**
   * Delivers every whole record in `buf[start, end)` to `sink` and returns the bytes consumed.
   * Throws {@linkcode CaptureFormatError} when the bytes are not a capture.
   */
  parse(buf: Uint8Array, start: number, end: number, sink: PacketSink): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = start;
    if (this.format === null) {
      const used = this.#parseFileStart(view, pos, end);
      if (used < 0) return 0;
      pos += used;
      this.offset += used;
    }
    const used = this.format === "pcap"
      ? this.#parsePcap(buf, view, pos, end, sink)
      : this.#parsePcapng(buf, view, pos, end, sink);
    return pos - start + used;
  }

  /** Reports the end of the stream; throws when `leftover` bytes of a cut record remain. */
  finish(leftover: number): void {
    if (this.format === null) {
      throw new CaptureFormatError(
        leftover === 0
          ? "empty file: not a pcap or pcapng capture"
          : "not a pcap or pcapng capture (file too short)",
      );
    }
    if (leftover > 0) {
      throw new CaptureFormatError(
        `truncated capture: the last record at byte ${this.offset} is cut (${leftover} bytes of it present)`,
      );
    }
  }

  /** Reads a pcap file header (24 bytes consumed), or sees a pcapng one (0: parsed as a block); -1 needs more bytes. */
  #parseFileStart(view: DataView, pos: number, end: number): number {
    if (end - pos < 4) return -1;
    const magic = view.getUint32(pos, false);
    if (magic === PCAPNG_SHB) return 0;
    if (
      magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS || magic === PCAP_MAGIC_US_SWAPPED ||
      magic === PCAP_MAGIC_NS_SWAPPED
    ) {
      if (end - pos < 24) return -1;
      this.format = "pcap";
      this.#little = magic === PCAP_MAGIC_US_SWAPPED || magic === PCAP_MAGIC_NS_SWAPPED;
      this.#nanos = magic === PCAP_MAGIC_NS || magic === PCAP_MAGIC_NS_SWAPPED;
      this.snaplen = view.getUint32(pos + 16, this.#little);
      this.linktype = view.getUint32(pos + 20, this.#little) & 0xffff;
      return 24;
    }
    throw new CaptureFormatError(
      `not a pcap or pcapng capture (magic 0x${magic.toString(16).padStart(8, "0")})`,
    );
  }

  #parsePcap(
    buf: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    sink: PacketSink,
  ): number {
    const little = this.#little;
    const nanos = this.#nanos;
    const linktype = this.linktype;
    let pos = start;
    while (end - pos >= 16) {
      const sec = view.getUint32(pos, little);
      const frac = view.getUint32(pos + 4, little);
      const capLen = view.getUint32(pos + 8, little);
      const wireLen = view.getUint32(pos + 12, little);
      if (capLen > MAX_RECORD_BYTES) {
        throw new CaptureFormatError(
          `corrupt pcap record at byte ${this.offset}: captured length ${capLen} exceeds ${MAX_RECORD_BYTES}`,
        );
      }
      if (end - pos - 16 < capLen) break;
      const tsUs = sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
      sink.packet(buf, pos + 16, capLen, wireLen < capLen ? capLen : wireLen, tsUs, linktype);
      pos += 16 + capLen;
      this.offset += 16 + capLen;
      this.records++;
    }
    return pos - start;
  }

  #parsePcapng(
    buf: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    sink: PacketSink,
  ): number {
    let pos = start;
    while (end - pos >= 12) {
      // The section header's type reads the same in both byte orders.
      const type = view.getUint32(pos, this.#little);
      if (type === PCAPNG_SHB) {
        const bom = view.getUint32(pos + 8, false);
        if (bom === PCAPNG_BOM) this.#little = false;
        else if (bom === PCAPNG_BOM_SWAPPED) this.#little = true;
        else {
          throw new CaptureFormatError(
            `corrupt pcapng section header at byte ${this.offset}: bad byte-order magic`,
          );
        }
      }
      const little = this.#little;
      const len = view.getUint32(pos + 4, little);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) {
        throw new CaptureFormatError(
          `corrupt pcapng block at byte ${this.offset}: length ${len}`,
        );
      }
      if (end - pos < len) break;
      if (view.getUint32(pos + len - 4, little) !== len) {
        throw new CaptureFormatError(
          `corrupt pcapng block at byte ${this.offset}: trailing length does not match ${len}`,
        );
      }
      switch (type) {
        case PCAPNG_SHB:
          this.format = "pcapng";
          this.#ifCount = 0;
          break;
        case 1:
          this.#interface(buf, view, pos, len);
          break;
        case 6:
          this.#enhanced(buf, view, pos, len, sink);
          break;
        case 3:
          this.#simple(buf, view, pos, len, sink);
          break;
        case 2:
          this.#obsolete(buf, view, pos, len, sink);
          break;
        default:
          break; // name resolution, statistics, custom blocks: not packets
      }
      pos += len;
      this.offset += len;
    }
    return pos - start;
  }

  #interface(buf: Uint8Array, view: DataView, pos: number, len: number): void {
    if (len < 20) throw this.#blockError("interface description block too short");
    if (this.#ifCount >= MAX_INTERFACES) throw this.#blockError("more than 256 interfaces");
    const little = this.#little;
    const id = this.#ifCount++;
    this.#ifLinktype[id] = view.getUint16(pos + 8, little);
    this.#ifSnaplen[id] = view.getUint32(pos + 12, little);
    let units = 1e6;
    let opt = pos + 16;
    const optEnd = pos + len - 4;
    while (optEnd - opt >= 4) {
      const code = view.getUint16(opt, little);
      const olen = view.getUint16(opt + 2, little);
      if (code === 0) break;
      if (code === 9 && olen >= 1 && opt + 4 < optEnd) {
        const r = buf[opt + 4];
        units = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
      }
      opt += 4 + ((olen + 3) & ~3);
    }
    if (!(units >= 1 && units <= 2 ** 40)) {
      throw this.#blockError("unsupported timestamp resolution");
    }
    this.#ifUnitsPerSec[id] = units;
    if (id === 0) {
      this.linktype = this.#ifLinktype[0];
      this.snaplen = this.#ifSnaplen[0];
    }
  }

  #enhanced(buf: Uint8Array, view: DataView, pos: number, len: number, sink: PacketSink): void {
    if (len < 32) throw this.#blockError("enhanced packet block too short");
    this.#packet(buf, view, pos, len, view.getUint32(pos + 8, this.#little), sink);
  }

  #simple(buf: Uint8Array, view: DataView, pos: number, len: number, sink: PacketSink): void {
    if (len < 16) throw this.#blockError("simple packet block too short");
    if (this.#ifCount === 0) throw this.#blockError("simple packet before any interface");
    const wireLen = view.getUint32(pos + 8, this.#little);
    const snap = this.#ifSnaplen[0] || MAX_RECORD_BYTES;
    const capLen = Math.max(0, Math.min(wireLen, snap, len - 16));
    this.records++;
    sink.packet(buf, pos + 12, capLen, wireLen < capLen ? capLen : wireLen, 0, this.#ifLinktype[0]);
  }

  #obsolete(buf: Uint8Array, view: DataView, pos: number, len: number, sink: PacketSink): void {
    if (len < 32) throw this.#blockError("packet block too short");
    this.#packet(buf, view, pos, len, view.getUint16(pos + 8, this.#little), sink);
  }

  /** The layout enhanced and obsolete packet blocks share after the interface id. */
  #packet(
    buf: Uint8Array,
    view: DataView,
    pos: number,
    len: number,
    id: number,
    sink: PacketSink,
  ): void {
    const little = this.#little;
    if (id >= this.#ifCount) throw this.#blockError(`packet for unknown interface ${id}`);
    const capLen = view.getUint32(pos + 20, little);
    const wireLen = view.getUint32(pos + 24, little);
    if (capLen > len - 32) throw this.#blockError(`captured length ${capLen} exceeds the block`);
    const tsUs = this.#timestamp(
      view.getUint32(pos + 12, little),
      view.getUint32(pos + 16, little),
      this.#ifUnitsPerSec[id],
    );
    this.records++;
    sink.packet(
      buf,
      pos + 28,
      capLen,
      wireLen < capLen ? capLen : wireLen,
      tsUs,
      this.#ifLinktype[id],
    );
  }

  /**
   * Converts a 64-bit pcapng timestamp (high, low words) in `units` per second to
   * microseconds, exactly and without BigInt: long division in 16-bit steps keeps every
   * intermediate below 2^53.
   */
  #timestamp(high: number, low: number, units: number): number {
    if (units === 1e6) return high * 4294967296 + low;
    const r1 = high % units;
    const q1 = (high - r1) / units;
    const x = r1 * 65536 + (low >>> 16);
    const r2 = x % units;
    const q2 = (x - r2) / units;
    const y = r2 * 65536 + (low & 0xffff);
    const r3 = y % units;
    const q3 = (y - r3) / units;
    const seconds = q1 * 4294967296 + q2 * 65536 + q3;
    return seconds * 1e6 + Math.floor((r3 * 1e6) / units);
  }

  #blockError(what: string): CaptureFormatError {
    return new CaptureFormatError(`corrupt pcapng block at byte ${this.offset}: ${what}`);
  }
}
