/**
 * Writing classic pcap (libpcap) captures: the file header, per-record headers, and an
 * in-memory builder. Pure: the bytes are returned, the caller decides where they go.
 *
 * @module
 */

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const DEFAULT_SNAPLEN = 262144;

/** Size of the classic pcap file header. */
export const PCAP_FILE_HEADER_BYTES = 24;
/** Size of one classic pcap record header. */
export const PCAP_RECORD_HEADER_BYTES = 16;

/** Classic pcap file header (24 bytes, little-endian, microsecond timestamps unless nanos). */
export function pcapFileHeader(
  linktype: number,
  snaplen: number = DEFAULT_SNAPLEN,
  nanos: boolean = false,
): Uint8Array {
  const bytes = new Uint8Array(PCAP_FILE_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  view.setUint16(4, 2, true); // version 2.4
  view.setUint16(6, 4, true);
  // thiszone and sigfigs stay 0.
  view.setUint32(16, snaplen, true);
  view.setUint32(20, linktype, true);
  return bytes;
}

/**
 * Writes a 16-byte pcap record header at `offset` of `view` (little-endian, microsecond
 * timestamp). Allocation-free (the PCAP recorder uses it per packet).
 */
export function writePcapRecordHeader(
  view: DataView,
  offset: number,
  tsUs: number,
  capLen: number,
  wireLen: number,
): void {
  const sec = Math.floor(tsUs / 1_000_000);
  view.setUint32(offset, sec, true);
  view.setUint32(offset + 4, tsUs - sec * 1_000_000, true);
  view.setUint32(offset + 8, capLen, true);
  view.setUint32(offset + 12, wireLen, true);
}

/**
 * Builds a whole capture in memory (tests, benchmarks): microsecond timestamps, frames longer
 * than the snapshot length are cut to it (their wire length is kept).
 */
export class PcapBuilder {
  readonly #linktype: number;
  readonly #snaplen: number;
  readonly #frames: Uint8Array[] = [];
  readonly #times: number[] = [];
  readonly #wireLens: number[] = [];
  #size = PCAP_FILE_HEADER_BYTES;

  /** Starts an empty capture of `linktype` frames. */
  constructor(linktype: number, snaplen: number = DEFAULT_SNAPLEN) {
    this.#linktype = linktype;
    this.#snaplen = snaplen;
  }

  /** Appends a frame seen at `tsUs` (µs since the epoch); `wireLen` defaults to its length. */
  add(frame: Uint8Array, tsUs: number, wireLen: number = frame.length): this {
    const cap = frame.slice(0, this.#snaplen); // A copy: the caller may reuse its buffer.
    this.#frames.push(cap);
    this.#times.push(tsUs);
    this.#wireLens.push(wireLen);
    this.#size += PCAP_RECORD_HEADER_BYTES + cap.length;
    return this;
  }

  /** The capture so far as one pcap file. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    out.set(pcapFileHeader(this.#linktype, this.#snaplen), 0);
    const view = new DataView(out.buffer);
    let pos = PCAP_FILE_HEADER_BYTES;
    for (let i = 0; i < this.#frames.length; i++) {
      const frame = this.#frames[i];
      writePcapRecordHeader(view, pos, this.#times[i], frame.length, this.#wireLens[i]);
      out.set(frame, pos + PCAP_RECORD_HEADER_BYTES);
      pos += PCAP_RECORD_HEADER_BYTES + frame.length;
    }
    return out;
  }

  /** Number of frames added. */
  get count(): number {
    return this.#frames.length;
  }
}
