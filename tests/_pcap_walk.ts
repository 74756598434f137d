/**
 * Test-only classic pcap walker: enough to feed whole in-memory captures to the decoder
 * without depending on the streaming reader.
 *
 * @module
 */

/** One record, valid only during the callback (`buf` is the whole capture). */
export type PcapRecordFn = (
  buf: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  tsUs: number,
) => void;

/** Header facts of a classic pcap file. */
export interface PcapInfo {
  linktype: number;
  snaplen: number;
  nanos: boolean;
  records: number;
}

/** Walks every record of a classic pcap capture (either byte order, µs or ns). */
export function walkPcap(buf: Uint8Array, fn: PcapRecordFn): PcapInfo {
  if (buf.length < 24) throw new Error("not a pcap file: shorter than its header");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, true);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`not a classic pcap file: magic 0x${magic.toString(16)}`);
  const nanos = view.getUint32(0, le) === 0xa1b23c4d;
  const snaplen = view.getUint32(16, le);
  const linktype = view.getUint32(20, le) & 0x0fffffff;
  let pos = 24;
  let records = 0;
  while (pos + 16 <= buf.length) {
    const sec = view.getUint32(pos, le);
    const frac = view.getUint32(pos + 4, le);
    const capLen = view.getUint32(pos + 8, le);
    const wireLen = view.getUint32(pos + 12, le);
    if (pos + 16 + capLen > buf.length) throw new Error(`record ${records} cut at ${pos}`);
    fn(buf, pos + 16, capLen, wireLen, sec * 1_000_000 + (nanos ? Math.floor(frac / 1000) : frac));
    pos += 16 + capLen;
    records++;
  }
  if (pos !== buf.length) throw new Error(`trailing ${buf.length - pos} bytes`);
  return { linktype, snaplen, nanos, records };
}
