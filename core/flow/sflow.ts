/**
 * sFlow v5 datagrams: flow samples (plain and expanded) with raw packet header records decoded
 * by the packet decoder, and counter samples (plain and expanded) with generic interface
 * counters.
 *
 * @module
 */

import { decode, LinkType, type PacketMeta } from "../packet/mod.ts";
import { readIpv4, readIpv6, u32, u64 } from "./_bytes.ts";
import {
  FlowDrop,
  type FlowSample,
  type FlowSink,
  type FlowStats,
  type InterfaceCounters,
} from "./flow_record.ts";

/** Generic interface counters record: 88 bytes. */
const GENERIC_COUNTERS = 88;

/** The objects an {@linkcode decodeSflow} call fills (reused across datagrams). */
export interface SflowScratch {
  /** Decoded packet header of a flow sample. */
  meta: PacketMeta;
  /** The flow sample around it. */
  sample: FlowSample;
  /** A counter record. */
  counters: InterfaceCounters;
}

/**
 * Decodes one sFlow v5 datagram; returns the samples and counter records delivered.
 *
 * - Header: version 5 (else `BAD_VERSION`), agent address type 1 (IPv4) or 2 (IPv6) (else
 *   `BAD_ADDRESS_TYPE`); a datagram ending inside it is `TRUNCATED_HEADER`.
 * - Samples are walked by their length; one running past the datagram is `BAD_SAMPLE` and ends
 *   the walk. Enterprise samples and formats other than 1-4 are skipped (`stats.skipped`).
 * - Flow samples (format 1, expanded 3): each raw packet header record (format 1) is decoded
 *   with `decode()` (Ethernet 1, IPv4 11, IPv6 12; other protocols `UNKNOWN_HEADER_PROTOCOL`)
 *   at time `nowUs`, with `wireLen` the frame length less the stripped bytes (at least the
 *   header), and handed to `sink.sample` with the sample (weight: the sampling rate, 0 read as
 *   1). A header longer than its record is `BAD_SAMPLE`. Other records are skipped.
 * - Counter samples (format 2, expanded 4): generic interface counters (record 1, 88 bytes)
 *   go to `sink.counters`; a shorter one is `BAD_SAMPLE`; other records are skipped.
 * - At most `maxRecords` samples are read; the rest count once as `RECORD_LIMIT`.
 */
export function decodeSflow(
  buf: Uint8Array,
  start: number,
  end: number,
  nowUs: number,
  scratch: SflowScratch,
  sink: FlowSink,
  stats: FlowStats,
  maxRecords: number,
): number {
  if (end - start < 8) return drop(stats, FlowDrop.TRUNCATED_HEADER);
  if (u32(buf, start) !== 5) return drop(stats, FlowDrop.BAD_VERSION);
  const { sample, counters } = scratch;
  const type = u32(buf, start + 4);
  let p = start + 8;
  if (type === 1) {
    if (end - p < 4 + 16) return drop(stats, FlowDrop.TRUNCATED_HEADER);
    readIpv4(buf, p, sample.agent);
    p += 4;
  } else if (type === 2) {
    if (end - p < 16 + 16) return drop(stats, FlowDrop.TRUNCATED_HEADER);
    readIpv6(buf, p, sample.agent);
    p += 16;
  } else {
    return drop(stats, FlowDrop.BAD_ADDRESS_TYPE);
  }
  counters.agent.set(sample.agent);
  const subAgent = u32(buf, p);
  sample.subAgent = counters.subAgent = subAgent;
  counters.uptimeMs = u32(buf, p + 8);
  const declared = u32(buf, p + 12);
  p += 16;
  let delivered = 0;
  for (let i = 0; i < declared && p < end; i++) {
    if (i === maxRecords) return drop(stats, FlowDrop.RECORD_LIMIT) + delivered;
    if (end - p < 8) return drop(stats, FlowDrop.BAD_SAMPLE) + delivered;
    const format = u32(buf, p);
    const len = u32(buf, p + 4);
    p += 8;
    if (len > end - p) return drop(stats, FlowDrop.BAD_SAMPLE) + delivered;
    const sampleEnd = p + len;
    if (format === 1 || format === 3) {
      delivered += flowSample(buf, p, sampleEnd, format === 3, nowUs, scratch, sink, stats);
    } else if (format === 2 || format === 4) {
      delivered += counterSample(buf, p, sampleEnd, format === 4, counters, sink, stats);
    } else {
      stats.skipped++;
    }
    p = sampleEnd;
  }
  return delivered;
}

/** One flow sample in `[p, end)`; returns the packet headers delivered. */
function flowSample(
  buf: Uint8Array,
  p: number,
  end: number,
  expanded: boolean,
  nowUs: number,
  scratch: SflowScratch,
  sink: FlowSink,
  stats: FlowStats,
): number {
  const { meta, sample } = scratch;
  if (end - p < (expanded ? 44 : 32)) return drop(stats, FlowDrop.BAD_SAMPLE);
  sample.sequence = u32(buf, p);
  if (expanded) {
    sample.sourceType = u32(buf, p + 4);
    sample.sourceIndex = u32(buf, p + 8);
    p += 12;
  } else {
    const source = u32(buf, p + 4);
    sample.sourceType = source >>> 24;
    sample.sourceIndex = source & 0xffffff;
    p += 8;
  }
  const rate = u32(buf, p);
  sample.samplingRate = rate === 0 ? 1 : rate;
  sample.samplePool = u32(buf, p + 4);
  sample.drops = u32(buf, p + 8);
  if (expanded) {
    sample.inputIf = u32(buf, p + 16);
    sample.outputIf = u32(buf, p + 24);
    p += 28;
  } else {
    sample.inputIf = u32(buf, p + 12) & 0x3fffffff;
    sample.outputIf = u32(buf, p + 16) & 0x3fffffff;
    p += 20;
  }
  const records = u32(buf, p);
  p += 4;
  let delivered = 0;
  for (let i = 0; i < records && p < end; i++) {
    if (end - p < 8) return drop(stats, FlowDrop.BAD_SAMPLE) + delivered;
    const format = u32(buf, p);
    const len = u32(buf, p + 4);
    p += 8;
    if (len > end - p) return drop(stats, FlowDrop.BAD_SAMPLE) + delivered;
    const recordEnd = p + len;
    if (format !== 1) {
      stats.skipped++;
    } else if (len < 16) {
      stats.drop(FlowDrop.BAD_SAMPLE);
    } else {
      const proto = u32(buf, p);
      const frameLength = u32(buf, p + 4);
      const stripped = u32(buf, p + 8);
      const headerLen = u32(buf, p + 12);
      const linktype = proto === 1
        ? LinkType.EN10MB
        : proto === 11
        ? LinkType.IPV4
        : proto === 12
        ? LinkType.IPV6
        : -1;
      if (headerLen > len - 16) {
        stats.drop(FlowDrop.BAD_SAMPLE);
      } else if (linktype < 0) {
        stats.drop(FlowDrop.UNKNOWN_HEADER_PROTOCOL);
      } else {
        sample.headerProtocol = proto;
        sample.frameLength = frameLength;
        sample.stripped = stripped;
        const wire = frameLength > stripped ? frameLength - stripped : 0;
        meta.tsUs = nowUs;
        meta.capLen = headerLen;
        meta.wireLen = wire > headerLen ? wire : headerLen;
        decode(buf, p + 16, headerLen, linktype, meta);
        stats.samples++;
        delivered++;
        sink.sample(meta, sample);
      }
    }
    p = recordEnd;
  }
  return delivered;
}

/** One counter sample in `[p, end)`; returns the counter records delivered. */
function counterSample(
  buf: Uint8Array,
  p: number,
  end: number,
  expanded: boolean,
  c: InterfaceCounters,
  sink: FlowSink,
  stats: FlowStats,
): number {
  if (end - p < (expanded ? 16 : 12)) return drop(stats, FlowDrop.BAD_SAMPLE);
  c.sequence = u32(buf, p);
  p += expanded ? 12 : 8;
  const records = u32(buf, p);
  p += 4;
  let delivered = 0;
  for (let i = 0; i < records && p < end; i++) {
    if (end - p < 8) return drop(stats, FlowDrop.BAD_SAMPLE) + delivered;
    const format = u32(buf, p);
    const len = u32(buf, p + 4);
    p += 8;
    if (len > end - p) return drop(stats, FlowDrop.BAD_SAMPLE) + delivered;
    if (format !== 1) {
      stats.skipped++;
    } else if (len < GENERIC_COUNTERS) {
      stats.drop(FlowDrop.BAD_SAMPLE);
    } else {
      c.ifIndex = u32(buf, p);
      c.ifType = u32(buf, p + 4);
      c.ifSpeed = u64(buf, p + 8);
      c.ifDirection = u32(buf, p + 16);
      c.ifStatus = u32(buf, p + 20);
      c.inOctets = u64(buf, p + 24);
      c.inUcast = u32(buf, p + 32);
      c.inMulticast = u32(buf, p + 36);
      c.inBroadcast = u32(buf, p + 40);
      c.inDiscards = u32(buf, p + 44);
      c.inErrors = u32(buf, p + 48);
      c.inUnknownProtos = u32(buf, p + 52);
      c.outOctets = u64(buf, p + 56);
      c.outUcast = u32(buf, p + 64);
      c.outMulticast = u32(buf, p + 68);
      c.outBroadcast = u32(buf, p + 72);
      c.outDiscards = u32(buf, p + 76);
      c.outErrors = u32(buf, p + 80);
      c.promiscuous = u32(buf, p + 84);
      stats.counters++;
      delivered++;
      sink.counters(c);
    }
    p += len;
  }
  return delivered;
}

/** Counts a drop; returns 0 so callers can `return drop(...) + delivered`. */
function drop(stats: FlowStats, reason: number): number {
  stats.drop(reason);
  return 0;
}
