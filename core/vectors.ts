/**
 * Attack-vector counters: each packet is counted under the vectors it belongs to (SYN-only
 * TCP, UDP from an amplification source port, fragments, ...). The detector keeps these
 * counters per 100 ms slot and per destination, and the classifier reads their shares, so a
 * rate alarm and the verdict on what kind of attack it is come from the same numbers.
 *
 * @module
 */

import { Fragment, IpProto, type PacketMeta, TcpFlag } from "./packet.ts";

/** A UDP service abused for reflection/amplification, keyed by its (source) port. */
export interface AmplificationService {
  /** Source port of the reflected responses. */
  port: number;
  /** Name used in subtypes: `${name}_amplification`. */
  name: string;
}

/** Services whose responses are used for reflection floods, by source port. */
export const AMPLIFICATION_SERVICES: readonly AmplificationService[] = [
  { port: 53, name: "dns" },
  { port: 123, name: "ntp" },
  { port: 1900, name: "ssdp" },
  { port: 11211, name: "memcached" },
  { port: 389, name: "cldap" },
  { port: 19, name: "chargen" },
  { port: 161, name: "snmp" },
  { port: 3702, name: "wsd" },
  { port: 5353, name: "mdns" },
  { port: 1194, name: "openvpn" },
  { port: 3283, name: "arms" },
  { port: 500, name: "isakmp" },
  { port: 4500, name: "isakmp" },
  { port: 47808, name: "bacnet" },
  { port: 37810, name: "dvr" },
  { port: 10001, name: "ubiquiti" },
  { port: 5683, name: "coap" },
  { port: 520, name: "rip" },
  { port: 137, name: "netbios" },
  { port: 111, name: "portmap" },
  { port: 17, name: "qotd" },
];

/** Indices into a vector counter block (see {@linkcode VECTOR_COUNT}). */
export const Vector = {
  /** Every frame. */
  PACKETS: 0,
  /** Wire bytes of every frame. */
  BYTES: 1,
  TCP: 2,
  UDP: 3,
  /** ICMP and ICMPv6. */
  ICMP: 4,
  GRE: 5,
  /** Other IP protocols and non-IP frames. */
  OTHER: 6,
  /** IP fragments, first and later. */
  FRAGMENTS: 7,
  /** Later fragments (no L4 header). */
  FRAG_NON_FIRST: 8,
  /** TCP with SYN and without ACK/RST/FIN (connection attempts; ECE/CWR allowed). */
  SYN: 9,
  /** TCP SYN+ACK (reflection). */
  SYN_ACK: 10,
  /** TCP with ACK only (no SYN/FIN/RST/PSH). */
  ACK: 11,
  /** TCP with RST (alone or with ACK). */
  RST: 12,
  /** TCP with FIN and without PSH+URG (FIN or FIN+ACK). */
  FIN: 13,
  /** TCP PSH+ACK (data segments). */
  PSH_ACK: 14,
  /** TCP FIN+PSH+URG ("Christmas tree"). */
  XMAS: 15,
  /** TCP with no flags at all. */
  NULL: 16,
  /** TCP flag combinations no legitimate stack sends (SYN+FIN, SYN+RST, ...). */
  TCP_ANOMALOUS: 17,
  /** UDP from one of {@linkcode AMPLIFICATION_SERVICES}' source ports. */
  UDP_AMP: 18,
  /** UDP to port 53 (queries). */
  DNS_QUERY: 19,
  /** Frames of 64 bytes or less on the wire (minimum-size floods). */
  SMALL: 20,
  /** ICMP echo requests (IPv4 type 8, IPv6 type 128). */
  ICMP_ECHO: 21,
  /** TCP or UDP frames of 1000 bytes and more (bulk transfer, amplified responses). */
  LARGE: 22,
  /** First of the per-service amplification counters, in {@linkcode AMPLIFICATION_SERVICES} order. */
  AMP_FIRST: 23,
} as const;

/** Number of counters in one vector block. */
export const VECTOR_COUNT: number = Vector.AMP_FIRST + AMPLIFICATION_SERVICES.length;

/** Service index + 1 by UDP source port (0: not an amplification port). */
const AMP_INDEX = new Uint8Array(65536);
for (let i = 0; i < AMPLIFICATION_SERVICES.length; i++) {
  AMP_INDEX[AMPLIFICATION_SERVICES[i].port] = i + 1;
}

/** The amplification service index (into {@linkcode AMPLIFICATION_SERVICES}) of a UDP source port, or -1. */
export function amplificationIndex(srcPort: number): number {
  return AMP_INDEX[srcPort & 0xffff] - 1;
}

const FLAGS_MAIN = TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST | TcpFlag.FIN | TcpFlag.PSH |
  TcpFlag.URG;

/**
 * Counts one decoded packet into `counters[base .. base + VECTOR_COUNT)`. Allocation-free: this
 * runs per packet. Malformed frames count in PACKETS and BYTES only.
 */
export function countVectors(meta: PacketMeta, counters: Float64Array, base: number): void {
  counters[base + Vector.PACKETS]++;
  counters[base + Vector.BYTES] += meta.wireLen;
  if (meta.wireLen <= 64) counters[base + Vector.SMALL]++;
  if (meta.malformed !== 0) return;
  if (meta.ipVersion === 0) {
    counters[base + Vector.OTHER]++;
    return;
  }
  if (meta.fragment !== Fragment.NONE) {
    counters[base + Vector.FRAGMENTS]++;
    if (meta.fragment === Fragment.NON_FIRST) counters[base + Vector.FRAG_NON_FIRST]++;
  }
  const hasPorts = meta.fragment !== Fragment.NON_FIRST;
  switch (meta.protocol) {
    case IpProto.TCP: {
      counters[base + Vector.TCP]++;
      if (meta.wireLen >= 1000) counters[base + Vector.LARGE]++;
      if (hasPorts) counters[base + tcpVector(meta.tcpFlags & FLAGS_MAIN)]++;
      break;
    }
    case IpProto.UDP: {
      counters[base + Vector.UDP]++;
      if (meta.wireLen >= 1000) counters[base + Vector.LARGE]++;
      if (!hasPorts) break;
      const amp = AMP_INDEX[meta.srcPort];
      if (amp !== 0) {
        counters[base + Vector.UDP_AMP]++;
        counters[base + Vector.AMP_FIRST + amp - 1]++;
      }
      if (meta.dstPort === 53) counters[base + Vector.DNS_QUERY]++;
      break;
    }
    case IpProto.ICMP:
    case IpProto.ICMPV6:
      counters[base + Vector.ICMP]++;
      if (meta.icmpType === (meta.protocol === IpProto.ICMP ? 8 : 128)) {
        counters[base + Vector.ICMP_ECHO]++;
      }
      break;
    case IpProto.GRE:
      counters[base + Vector.GRE]++;
      break;
    default:
      counters[base + Vector.OTHER]++;
  }
}

/** The TCP vector of a flags byte (SYN, ACK, FIN, RST, PSH, URG bits only). */
function tcpVector(f: number): number {
  switch (f) {
    case TcpFlag.SYN:
      return Vector.SYN;
    case TcpFlag.SYN | TcpFlag.ACK:
      return Vector.SYN_ACK;
    case TcpFlag.ACK:
      return Vector.ACK;
    case TcpFlag.PSH | TcpFlag.ACK:
      return Vector.PSH_ACK;
    case TcpFlag.RST:
    case TcpFlag.RST | TcpFlag.ACK:
      return Vector.RST;
    case TcpFlag.FIN:
    case TcpFlag.FIN | TcpFlag.ACK:
    case TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK:
      return Vector.FIN;
    case TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG:
      return Vector.XMAS;
    case 0:
      return Vector.NULL;
    default:
      // Legitimate stacks also send ACK+URG and PSH+ACK+URG, rarely; the rest is crafted.
      return (f & TcpFlag.ACK) && !(f & (TcpFlag.SYN | TcpFlag.RST))
        ? Vector.ACK
        : Vector.TCP_ANOMALOUS;
  }
}

/** Names of the counters, for evidence and debugging (`vectorNames()[Vector.SYN] === "syn"`). */
export function vectorNames(): string[] {
  const names = [
    "packets",
    "bytes",
    "tcp",
    "udp",
    "icmp",
    "gre",
    "other",
    "fragments",
    "frag_non_first",
    "syn",
    "syn_ack",
    "ack",
    "rst",
    "fin",
    "psh_ack",
    "xmas",
    "null",
    "tcp_anomalous",
    "udp_amp",
    "dns_query",
    "small",
    "icmp_echo",
    "large",
  ];
  for (const s of AMPLIFICATION_SERVICES) names.push(`amp_${s.name}_${s.port}`);
  return names;
}
