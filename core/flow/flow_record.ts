/**
 * What the flow decoders hand out: one reused {@linkcode FlowRecord} per NetFlow/IPFIX flow,
 * one reused {@linkcode FlowSample} beside the decoded `PacketMeta` per sFlow packet sample,
 * one reused {@linkcode InterfaceCounters} per sFlow counter sample, and the counters of
 * {@linkcode FlowStats} (datagrams, records, and every drop by its {@linkcode FlowDrop} reason).
 *
 * @module
 */

import type { PacketMeta } from "../packet/mod.ts";

/** One flow of a NetFlow v5/v9 or IPFIX export, reused for every record: copy what you keep. */
export class FlowRecord {
  /** Address the datagram came from (four words, IPv4 mapped, as `PacketMeta.src`). */
  readonly exporter: Uint32Array = new Uint32Array(4);
  /** NetFlow v9 source id, IPFIX observation domain, NetFlow v5 `engine_type << 8 | engine_id`. */
  domain = 0;
  /** Export protocol version: 5, 9 or 10 (IPFIX). */
  version = 0;
  /** Source address, four words in network order (IPv4 mapped). */
  readonly src: Uint32Array = new Uint32Array(4);
  /** Destination address, same layout as `src`. */
  readonly dst: Uint32Array = new Uint32Array(4);
  /** 4 or 6 (0 when the record names no address). */
  ipVersion = 0;
  /** IP protocol number. */
  protocol = 0;
  /** IP type of service / traffic class. */
  tos = 0;
  /** Source port (TCP/UDP). */
  srcPort = 0;
  /** Destination port (TCP/UDP). */
  dstPort = 0;
  /** OR of the TCP flags seen in the flow. */
  tcpFlags = 0;
  /** ICMP / ICMPv6 type. */
  icmpType = 0;
  /** ICMP / ICMPv6 code. */
  icmpCode = 0;
  /** Packets counted by the exporter (before scaling by `samplingRate`). */
  packets = 0;
  /** Bytes counted by the exporter (before scaling by `samplingRate`). */
  bytes = 0;
  /** First packet of the flow, µs since the Unix epoch. */
  firstUs = 0;
  /** Last packet of the flow, µs since the Unix epoch (at least `firstUs`). */
  lastUs = 0;
  /** One packet in `samplingRate` was counted (1 when unsampled or unknown). */
  samplingRate = 1;
  /** SNMP index of the input interface. */
  inputIf = 0;
  /** SNMP index of the output interface. */
  outputIf = 0;

  /** Clears the per-flow fields (not `exporter`, `domain`, `version`). */
  reset(): void {
    const src = this.src;
    const dst = this.dst;
    src[0] =
      src[1] =
      src[2] =
      src[3] =
        0;
    dst[0] =
      dst[1] =
      dst[2] =
      dst[3] =
        0;
    this.ipVersion = 0;
    this.protocol = 0;
    this.tos = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.packets = 0;
    this.bytes = 0;
    this.firstUs = 0;
    this.lastUs = 0;
    this.samplingRate = 1;
    this.inputIf = 0;
    this.outputIf = 0;
  }
}

/** The sFlow flow sample a decoded packet header came from (reused for every sample). */
export class FlowSample {
  /** sFlow agent address (four words, IPv4 mapped). */
  readonly agent: Uint32Array = new Uint32Array(4);
  /** Sub-agent id. */
  subAgent = 0;
  /** Sample sequence number. */
  sequence = 0;
  /** Source id type (0 ifIndex, 1 VLAN, 2 entity). */
  sourceType = 0;
  /** Source id index. */
  sourceIndex = 0;
  /** One packet in `samplingRate` was sampled: the weight of this packet (at least 1). */
  samplingRate = 1;
  /** Packets that could have been sampled (sample pool). */
  samplePool = 0;
  /** Samples the agent dropped for lack of resources. */
  drops = 0;
  /** Input interface (ifIndex; the format bits removed). */
  inputIf = 0;
  /** Output interface (ifIndex; the format bits removed). */
  outputIf = 0;
  /** sFlow header protocol (1 Ethernet, 11 IPv4, 12 IPv6). */
  headerProtocol = 0;
  /** Length of the original frame as the agent reports it (with stripped bytes). */
  frameLength = 0;
  /** Bytes the agent stripped from the frame (e.g. the FCS). */
  stripped = 0;
}

/** sFlow generic interface counters (counter record 0:1), reused for every record. */
export class InterfaceCounters {
  /** sFlow agent address (four words, IPv4 mapped). */
  readonly agent: Uint32Array = new Uint32Array(4);
  /** Sub-agent id. */
  subAgent = 0;
  /** Sample sequence number. */
  sequence = 0;
  /** Agent uptime at export, milliseconds. */
  uptimeMs = 0;
  /** Interface index. */
  ifIndex = 0;
  /** IANA ifType. */
  ifType = 0;
  /** Speed, bits per second. */
  ifSpeed = 0;
  /** 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out. */
  ifDirection = 0;
  /** Bit 0 admin up, bit 1 operationally up. */
  ifStatus = 0;
  /** Octets received. */
  inOctets = 0;
  /** Unicast packets received. */
  inUcast = 0;
  /** Multicast packets received. */
  inMulticast = 0;
  /** Broadcast packets received. */
  inBroadcast = 0;
  /** Received packets discarded. */
  inDiscards = 0;
  /** Received packets in error. */
  inErrors = 0;
  /** Received packets of unknown protocols. */
  inUnknownProtos = 0;
  /** Octets sent. */
  outOctets = 0;
  /** Unicast packets sent. */
  outUcast = 0;
  /** Multicast packets sent. */
  outMulticast = 0;
  /** Broadcast packets sent. */
  outBroadcast = 0;
  /** Sent packets discarded. */
  outDiscards = 0;
  /** Sent packets in error. */
  outErrors = 0;
  /** 1 when the interface is promiscuous. */
  promiscuous = 0;
}

/** Receives what the decoders find; every object passed is reused after the call returns. */
export interface FlowSink {
  /** One NetFlow/IPFIX flow record. */
  flow(record: FlowRecord): void;
  /** One sFlow packet header decoded into `meta` (weight `sample.samplingRate`). */
  sample(meta: PacketMeta, sample: FlowSample): void;
  /** One sFlow generic interface counters record. */
  counters(counters: InterfaceCounters): void;
}

/** Why (part of) a datagram was dropped: the index into {@linkcode FlowStats.drops}. */
export const FlowDrop = {
  /** The datagram ends inside its header. */
  TRUNCATED_HEADER: 0,
  /** Not a version the decoder reads (or not the configured protocol). */
  BAD_VERSION: 1,
  /** The header's length or record count disagrees with the datagram's size. */
  BAD_LENGTH: 2,
  /** A NetFlow v9/IPFIX set shorter than its header or running past the datagram. */
  BAD_SET_LENGTH: 3,
  /** A template that cannot describe a record (id below 256, zero-length records, cut). */
  BAD_TEMPLATE: 4,
  /** A template with more fields than the bound. */
  TEMPLATE_TOO_LARGE: 5,
  /** A new template past the templates-per-exporter bound. */
  TEMPLATE_LIMIT: 6,
  /** A datagram from a new exporter past the exporters bound. */
  EXPORTER_LIMIT: 7,
  /** A data set whose template never came (held too long, or the holding area was full). */
  UNKNOWN_TEMPLATE: 8,
  /** A data record or sFlow sample that ends past its set or sample. */
  TRUNCATED_RECORD: 9,
  /** Records past the records-per-datagram bound. */
  RECORD_LIMIT: 10,
  /** An sFlow sample or record whose length runs past its container. */
  BAD_SAMPLE: 11,
  /** An sFlow agent address type other than IPv4 (1) or IPv6 (2). */
  BAD_ADDRESS_TYPE: 12,
  /** An sFlow raw header of a protocol other than Ethernet, IPv4 or IPv6. */
  UNKNOWN_HEADER_PROTOCOL: 13,
} as const;

/** Names of the {@linkcode FlowDrop} reasons, by index (for metrics and logs). */
export const FLOW_DROP_NAMES: readonly string[] = Object.keys(FlowDrop).map((k) => k.toLowerCase());

/** Every reason of {@linkcode FLOW_DROP_NAMES} with its count in `drops` (0 when absent). */
export function dropsByReason(drops: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of FLOW_DROP_NAMES) out[name] = drops[name] ?? 0;
  return out;
}

/** Counters of a flow decoder: what came in, what went out, and what was dropped why. */
export class FlowStats {
  /** Datagrams given to the decoder. */
  datagrams = 0;
  /** Flow records delivered (NetFlow/IPFIX). */
  flows = 0;
  /** sFlow packet samples delivered. */
  samples = 0;
  /** sFlow interface counter records delivered. */
  counters = 0;
  /** Templates and options templates learned (a redefinition counts again). */
  templates = 0;
  /** Templates withdrawn (IPFIX). */
  withdrawals = 0;
  /** Data sets held until their template comes. */
  held = 0;
  /** Held data sets decoded once their template came. */
  released = 0;
  /** Records, samples and fields of kinds the decoder does not read, skipped by their length. */
  skipped = 0;
  /** Drops by {@linkcode FlowDrop} reason. */
  readonly drops: Float64Array = new Float64Array(FLOW_DROP_NAMES.length);

  /** Counts one drop for `reason` (a {@linkcode FlowDrop} value). */
  drop(reason: number): void {
    this.drops[reason]++;
  }

  /** Total drops of every reason. */
  get dropped(): number {
    let n = 0;
    for (const d of this.drops) n += d;
    return n;
  }
}
