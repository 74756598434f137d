/**
 * What each NetFlow v9 / IPFIX field means to a {@linkcode FlowRecord}: the information
 * elements the detector needs, read into the record or into a {@linkcode FieldScratch} (times,
 * sampling) that the record decoder settles after the last field.
 *
 * @module
 */

import { readIpv4, readIpv6, u32, uint } from "./_bytes.ts";
import type { FlowRecord } from "./flow_record.ts";

/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const NTP_UNIX = 2208988800;

/** Per-record values that need the header or the domain to become record fields. */
export class FieldScratch {
  /** FIRST_SWITCHED / flowStartSysUpTime (ms; -1 when absent). */
  firstUp: number = -1;
  /** LAST_SWITCHED / flowEndSysUpTime (ms; -1 when absent). */
  lastUp: number = -1;
  /** Absolute flow start (µs since the Unix epoch; -1 when absent). */
  startUs: number = -1;
  /** Absolute flow end (µs; -1 when absent). */
  endUs: number = -1;
  /** flowStartDeltaMicroseconds (before export; -1 when absent). */
  startDeltaUs: number = -1;
  /** flowEndDeltaMicroseconds (before export; -1 when absent). */
  endDeltaUs: number = -1;
  /** Sampler / selector id (-1 when absent). */
  samplerId: number = -1;
  /** samplingInterval (IE 34) or FLOW_SAMPLER_RANDOM_INTERVAL (50), 0 when absent. */
  interval = 0;
  /** samplingPacketInterval (305). */
  packetInterval = 0;
  /** samplingPacketSpace (306). */
  packetSpace = 0;
  /** samplingSize (309). */
  size = 0;
  /** samplingPopulation (310). */
  population = 0;
  /** systemInitTimeMilliseconds (160; -1 when absent). */
  initMs: number = -1;
  /** An IPv6 address field was seen. */
  v6 = false;

  /** Clears every value. */
  reset(): void {
    this.firstUp =
      this.lastUp =
      this.startUs =
      this.endUs =
        -1;
    this.startDeltaUs =
      this.endDeltaUs =
      this.samplerId =
      this.initMs =
        -1;
    this.interval =
      this.packetInterval =
      this.packetSpace =
      this.size =
      this.population =
        0;
    this.v6 = false;
  }

  /** The sampling rate these fields announce (0 when none). */
  get rate(): number {
    if (this.interval > 0) return this.interval;
    if (this.packetInterval > 0) {
      return (this.packetInterval + this.packetSpace) / this.packetInterval;
    }
    if (this.size > 0 && this.population >= this.size) return this.population / this.size;
    return 0;
  }
}

/** NTP timestamp (64 bits) at `p` as µs since the Unix epoch. */
function ntpUs(buf: Uint8Array, p: number): number {
  return (u32(buf, p) - NTP_UNIX) * 1e6 + Math.floor(u32(buf, p + 4) / 4294.967296);
}

/**
 * Applies field `ie` (`len` bytes at `p`, already bounds-checked) to `rec` and `s`.
 *
 * Read: bytes 1/85, packets 2/86, protocol 4, tos 5, TCP flags 6, ports 7/11, IPv4 8/12,
 * IPv6 27/28, interfaces 10/14, ICMP type-code 32/139 and 176-179, IP version 60, uptime times
 * 21/22, absolute times 150-157, delta times 158/159, sampling 34/50/305/306/309/310, sampler
 * ids 48/302, systemInitTimeMilliseconds 160. Every other field, and a known field of a length
 * it cannot have (an address not 4/16 bytes, a number over 8 bytes), is ignored.
 */
export function applyField(
  ie: number,
  buf: Uint8Array,
  p: number,
  len: number,
  rec: FlowRecord,
  s: FieldScratch,
): void {
  if (len === 0 || (len > 8 && ie !== 27 && ie !== 28)) return;
  switch (ie) {
    case 1:
    case 85:
      rec.bytes = uint(buf, p, len);
      return;
    case 2:
    case 86:
      rec.packets = uint(buf, p, len);
      return;
    case 4:
      rec.protocol = buf[p + len - 1];
      return;
    case 5:
      rec.tos = buf[p + len - 1];
      return;
    case 6:
      rec.tcpFlags = buf[p + len - 1];
      return;
    case 7:
      rec.srcPort = uint(buf, p, len) & 0xffff;
      return;
    case 11:
      rec.dstPort = uint(buf, p, len) & 0xffff;
      return;
    case 8:
      if (len === 4) readIpv4(buf, p, rec.src);
      return;
    case 12:
      if (len === 4) readIpv4(buf, p, rec.dst);
      return;
    case 27:
      if (len === 16) {
        readIpv6(buf, p, rec.src);
        s.v6 = true;
      }
      return;
    case 28:
      if (len === 16) {
        readIpv6(buf, p, rec.dst);
        s.v6 = true;
      }
      return;
    case 10:
      rec.inputIf = uint(buf, p, len);
      return;
    case 14:
      rec.outputIf = uint(buf, p, len);
      return;
    case 32:
    case 139: {
      const v = uint(buf, p, len) & 0xffff;
      rec.icmpType = v >> 8;
      rec.icmpCode = v & 0xff;
      return;
    }
    case 176:
    case 178:
      rec.icmpType = buf[p + len - 1];
      return;
    case 177:
    case 179:
      rec.icmpCode = buf[p + len - 1];
      return;
    case 60:
      rec.ipVersion = buf[p + len - 1];
      return;
    case 21:
      s.lastUp = uint(buf, p, len);
      return;
    case 22:
      s.firstUp = uint(buf, p, len);
      return;
    case 150:
      s.startUs = uint(buf, p, len) * 1e6;
      return;
    case 151:
      s.endUs = uint(buf, p, len) * 1e6;
      return;
    case 152:
      s.startUs = uint(buf, p, len) * 1e3;
      return;
    case 153:
      s.endUs = uint(buf, p, len) * 1e3;
      return;
    case 154:
    case 156:
      if (len === 8) s.startUs = ntpUs(buf, p);
      return;
    case 155:
    case 157:
      if (len === 8) s.endUs = ntpUs(buf, p);
      return;
    case 158:
      s.startDeltaUs = uint(buf, p, len);
      return;
    case 159:
      s.endDeltaUs = uint(buf, p, len);
      return;
    case 34:
    case 50:
      s.interval = uint(buf, p, len);
      return;
    case 305:
      s.packetInterval = uint(buf, p, len);
      return;
    case 306:
      s.packetSpace = uint(buf, p, len);
      return;
    case 309:
      s.size = uint(buf, p, len);
      return;
    case 310:
      s.population = uint(buf, p, len);
      return;
    case 48:
    case 302:
      s.samplerId = uint(buf, p, len);
      return;
    case 160:
      s.initMs = uint(buf, p, len);
      return;
  }
}
