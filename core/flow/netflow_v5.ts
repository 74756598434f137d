/**
 * NetFlow v5 datagrams: a 24-byte header and fixed 48-byte flow records.
 *
 * @module
 */

import { u16, u32 } from "./_bytes.ts";
import { FlowDrop, type FlowRecord, type FlowSink, type FlowStats } from "./flow_record.ts";

const HEADER = 24;
const RECORD = 48;

/**
 * Decodes one NetFlow v5 datagram into `record` (reused) and hands each flow to `sink.flow`.
 *
 * - The header is 24 bytes and the version 5; less, or another version, drops the datagram
 *   (`TRUNCATED_HEADER`, `BAD_VERSION`).
 * - The header's count must fit in the datagram (`24 + 48 * count` bytes at most); a count
 *   that runs past it drops the datagram (`BAD_LENGTH`). Bytes after the records are ignored.
 * - At most `maxRecords` records are read; the rest count as `RECORD_LIMIT`.
 * - Times: the flow's first/last (router uptime, ms) are placed on the Unix clock through the
 *   header's `sysUptime` and `unix_secs`/`unix_nsecs`, modulo 2^32 ms (uptime wrap).
 * - The domain is `engine_type << 8 | engine_id`; the sampling rate is the header's 14-bit
 *   interval (1 when 0).
 *
 * Returns the number of records delivered.
 */
export function decodeNetflowV5(
  buf: Uint8Array,
  start: number,
  end: number,
  record: FlowRecord,
  sink: FlowSink,
  stats: FlowStats,
  maxRecords: number,
): number {
  if (end - start < HEADER) {
    stats.drop(FlowDrop.TRUNCATED_HEADER);
    return 0;
  }
  if (u16(buf, start) !== 5) {
    stats.drop(FlowDrop.BAD_VERSION);
    return 0;
  }
  const count = u16(buf, start + 2);
  if (HEADER + count * RECORD > end - start) {
    stats.drop(FlowDrop.BAD_LENGTH);
    return 0;
  }
  const uptime = u32(buf, start + 4);
  const unixUs = u32(buf, start + 8) * 1e6 + Math.floor(u32(buf, start + 12) / 1000);
  record.version = 5;
  record.domain = buf[start + 20] << 8 | buf[start + 21];
  const interval = u16(buf, start + 22) & 0x3fff;
  const n = count < maxRecords ? count : maxRecords;
  if (count > n) stats.drops[FlowDrop.RECORD_LIMIT] += count - n;
  let p = start + HEADER;
  for (let i = 0; i < n; i++, p += RECORD) {
    record.reset();
    record.ipVersion = 4;
    record.src[2] = 0xffff;
    record.src[3] = u32(buf, p);
    record.dst[2] = 0xffff;
    record.dst[3] = u32(buf, p + 4);
    record.inputIf = u16(buf, p + 12);
    record.outputIf = u16(buf, p + 14);
    record.packets = u32(buf, p + 16);
    record.bytes = u32(buf, p + 20);
    // Milliseconds before export, modulo 2^32 (the uptime wraps after 49.7 days).
    record.firstUs = unixUs - ((uptime - u32(buf, p + 24)) >>> 0) * 1000;
    const last = unixUs - ((uptime - u32(buf, p + 28)) >>> 0) * 1000;
    record.lastUs = last > record.firstUs ? last : record.firstUs;
    record.srcPort = u16(buf, p + 32);
    record.dstPort = u16(buf, p + 34);
    record.tcpFlags = buf[p + 37];
    const proto = buf[p + 38];
    record.protocol = proto;
    record.tos = buf[p + 39];
    if (proto === 1) {
      // v5 carries the ICMP type and code in the destination port.
      record.icmpType = record.dstPort >> 8;
      record.icmpCode = record.dstPort & 0xff;
    }
    record.samplingRate = interval === 0 ? 1 : interval;
    stats.flows++;
    sink.flow(record);
  }
  return n;
}
