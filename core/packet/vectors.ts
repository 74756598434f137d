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
  { port: 3283, name: "apple_remote" },
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

/** UDP port of QUIC (HTTP/3). */
export const QUIC_PORT = 443;

/**
 * Indices into a vector counter block (see {@linkcode VECTOR_COUNT}).
 *
 * Per packet, {@linkcode countVectors} adds the bytes, one size class and one exclusive
 * category (plus the fragment counters for fragments); the totals marked "derived" are sums of
 * those and are filled in by {@linkcode completeVectors}, once per block rather than per packet.
 */
export const Vector = {
  /** Every frame (derived: the three size classes). */
  PACKETS: 0,
  /** Wire bytes of every frame. */
  BYTES: 1,
  /** TCP (derived: the TCP categories). */
  TCP: 2,
  /** UDP (derived: the UDP categories). */
  UDP: 3,
  /** ICMP and ICMPv6 (derived: echo, other ICMP and oversized fragments). */
  ICMP: 4,
  GRE: 5,
  /** Other IP protocols and non-IP frames. */
  OTHER: 6,
  /** IP fragments, first and later (in addition to their category). */
  FRAGMENTS: 7,
  /** Later fragments (no L4 header; in addition to their category). */
  FRAG_NON_FIRST: 8,
  /** TCP with SYN and without ACK/RST/FIN (connection attempts; ECE/CWR allowed). */
  SYN: 9,
  /** TCP SYN+ACK (reflection). */
  SYN_ACK: 10,
  /** TCP with ACK only (no SYN/FIN/RST/PSH), and ACK with URG. */
  ACK: 11,
  /** TCP with RST (alone or with ACK). */
  RST: 12,
  /** TCP FIN, FIN+ACK and FIN+PSH+ACK. */
  FIN: 13,
  /** TCP PSH+ACK (data segments). */
  PSH_ACK: 14,
  /** TCP FIN+PSH+URG ("Christmas tree"). */
  XMAS: 15,
  /** TCP with no flags at all. */
  NULL: 16,
  /** TCP flag combinations no legitimate stack sends (SYN+FIN, SYN+RST, ...). */
  TCP_ANOMALOUS: 17,
  /** UDP from one of {@linkcode AMPLIFICATION_SERVICES}' source ports (derived: the services). */
  UDP_AMP: 18,
  /** UDP to port 53 (queries) not from an amplification port. */
  DNS_QUERY: 19,
  /** Frames of 64 bytes or less on the wire (minimum-size floods). */
  SMALL: 20,
  /** ICMP echo requests (IPv4 type 8, IPv6 type 128). */
  ICMP_ECHO: 21,
  /** Frames of 1000 bytes and more (bulk transfer, amplified responses, fragments). */
  LARGE: 22,
  /** Frames of 65 to 999 bytes. */
  MID: 23,
  /** TCP later fragments (no flags to read). */
  TCP_NO_PORTS: 24,
  /** UDP from and to ordinary ports. */
  UDP_PLAIN: 25,
  /** UDP later fragments (no ports to read). */
  UDP_NO_PORTS: 26,
  /** ICMP other than echo requests. */
  ICMP_OTHER: 27,
  /** Frames the decoder rejected. */
  MALFORMED: 28,
  /**
   * Packets from sources the protected host answered while calm (counted by the detector's
   * rate table only, in addition to their category; see `RateTable.countKnown`).
   */
  KNOWN: 29,
  /** UDP from or to port 443 (QUIC), not from an amplification port. */
  UDP_QUIC: 30,
  /**
   * ICMP fragments that break reassembly, a ping of death: later fragments ending past 65,535
   * bytes (offset + length: a datagram larger than IP allows), and fragments overlapping an
   * earlier one of their datagram (marked by `IcmpFragmentWatch` in the pipeline).
   */
  ICMP_OVERSIZED: 31,
  /** First of the per-service amplification counters, in {@linkcode AMPLIFICATION_SERVICES} order. */
  AMP_FIRST: 32,
} as const;

/** Number of counters in one vector block. */
export const VECTOR_COUNT: number = Vector.AMP_FIRST + AMPLIFICATION_SERVICES.length;

/** Vector of a TCP segment by its SYN, ACK, FIN, RST, PSH and URG bits (`flags & 0x3f`). */
export const TCP_VECTORS: Uint8Array = /* @__PURE__ */ (() => {
  const t = new Uint8Array(64);
  for (let f = 0; f < 64; f++) t[f] = tcpVector(f);
  return t;
})();

/**
 * Vector of a UDP datagram by its source port: the amplification service's, `UDP_QUIC` from
 * 443, else `UDP_PLAIN` (see {@linkcode udpVector} for the destination port).
 */
export const UDP_VECTORS: Uint8Array = /* @__PURE__ */ (() => {
  const t = new Uint8Array(65536).fill(Vector.UDP_PLAIN);
  t[QUIC_PORT] = Vector.UDP_QUIC;
  for (let i = 0; i < AMPLIFICATION_SERVICES.length; i++) {
    t[AMPLIFICATION_SERVICES[i].port] = Vector.AMP_FIRST + i;
  }
  return t;
})();

/**
 * Vector of a UDP datagram by its ports: by source port ({@linkcode UDP_VECTORS}), a plain one
 * to port 53 `DNS_QUERY`, to port 443 `UDP_QUIC`.
 */
export function udpVector(srcPort: number, dstPort: number): number {
  const v = UDP_VECTORS[srcPort & 0xffff];
  if (v !== Vector.UDP_PLAIN) return v;
  return dstPort === 53 ? Vector.DNS_QUERY : dstPort === QUIC_PORT ? Vector.UDP_QUIC : v;
}

/**
 * Vector of a later fragment of protocol `proto` at byte offset `offset` carrying `length`
 * bytes: `ICMP_OVERSIZED` for ICMP ending past 65,535 bytes, else by its protocol.
 */
export function laterFragmentVector(proto: number, offset: number, length: number): number {
  if ((proto === IpProto.ICMP || proto === IpProto.ICMPV6) && offset + length > 0xffff) {
    return Vector.ICMP_OVERSIZED;
  }
  return LATER_FRAGMENT_VECTORS[proto & 0xff];
}

/** Vector of a later fragment (no L4 header) by its IP protocol. */
export const LATER_FRAGMENT_VECTORS: Uint8Array = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256).fill(Vector.OTHER);
  t[IpProto.TCP] = Vector.TCP_NO_PORTS;
  t[IpProto.UDP] = Vector.UDP_NO_PORTS;
  t[IpProto.ICMP] = Vector.ICMP_OTHER;
  t[IpProto.ICMPV6] = Vector.ICMP_OTHER;
  t[IpProto.GRE] = Vector.GRE;
  return t;
})();

/**
 * The category of a packet from its decoded fields: the one exclusive vector it counts under.
 * The decoder sets the same value in `meta.vector` as it reads the headers; this is for metas
 * filled by hand (tests, tools).
 */
export function vectorOf(meta: PacketMeta): number {
  if (meta.malformed !== 0) return Vector.MALFORMED;
  if (meta.ipVersion === 0) return Vector.OTHER;
  const p = meta.protocol;
  if (meta.fragment === Fragment.NON_FIRST) {
    // The fragment's data: the IP length less the smallest header (IPv6: and fragment header).
    const data = meta.ipLen - (meta.ipVersion === 6 ? 48 : 20);
    return laterFragmentVector(p, meta.fragOffset, data);
  }
  if (p === IpProto.TCP) return TCP_VECTORS[meta.tcpFlags & 0x3f];
  if (p === IpProto.UDP) return udpVector(meta.srcPort, meta.dstPort);
  if (p === IpProto.ICMP) return meta.icmpType === 8 ? Vector.ICMP_ECHO : Vector.ICMP_OTHER;
  if (p === IpProto.ICMPV6) return meta.icmpType === 128 ? Vector.ICMP_ECHO : Vector.ICMP_OTHER;
  return p === IpProto.GRE ? Vector.GRE : Vector.OTHER;
}

/** Kinds of one fragment position (see {@linkcode packetKind}): 3 size classes of categories. */
const FRAGMENT_KINDS = 3 * VECTOR_COUNT;

/**
 * Number of packet kinds (see {@linkcode packetKind}): a category for each fragment position
 * (none, first, later) and size class.
 */
export const KIND_COUNT: number = 3 * FRAGMENT_KINDS;

/** Size class by vector counter, in the order kinds number them. */
const SIZE_VECTORS = [Vector.SMALL, Vector.MID, Vector.LARGE];

/** Kind offset of the largest size class. */
const LARGE_KINDS = 2 * VECTOR_COUNT;

/** Kind offset of the size class of a wire length up to 65535 (a table: sizes are random). */
const SIZE_KINDS: Uint16Array = /* @__PURE__ */ (() => {
  const t = new Uint16Array(65536);
  for (let len = 0; len < 65536; len++) {
    t[len] = (len <= 64 ? 0 : len >= 1000 ? 2 : 1) * VECTOR_COUNT;
  }
  return t;
})();

/**
 * Everything the vector counters need of a decoded packet except its bytes, as one number below
 * {@linkcode KIND_COUNT}: its category, size class and fragment position. Counting one kind per
 * packet and turning the kinds into vector counters once per block ({@linkcode addKinds}) costs
 * much less than counting each vector per packet; both give the same counters.
 */
export function packetKind(meta: PacketMeta): number {
  const len = meta.wireLen;
  return meta.fragment * FRAGMENT_KINDS + (len <= 0xffff ? SIZE_KINDS[len] : LARGE_KINDS) +
    meta.vector;
}

/**
 * Adds the packets of `kinds[kbase .. kbase + KIND_COUNT)` (counts per {@linkcode packetKind})
 * to the vector counters at `counters[base ..]` and zeroes the kinds. Bytes are not in the kinds:
 * add them to `Vector.BYTES` directly. Call {@linkcode completeVectors} afterwards.
 */
export function addKinds(
  kinds: Int32Array,
  kbase: number,
  counters: Float64Array,
  base: number,
): void {
  for (let k = 0; k < KIND_COUNT; k++) {
    const n = kinds[kbase + k];
    if (n === 0) continue;
    kinds[kbase + k] = 0;
    const c = k % VECTOR_COUNT;
    const fragment = Math.floor(k / FRAGMENT_KINDS);
    counters[base + c] += n;
    counters[base + SIZE_VECTORS[Math.floor(k / VECTOR_COUNT) % 3]] += n;
    // A frame cut inside its first fragment's L4 header is malformed, not a fragment.
    if (fragment !== Fragment.NONE && c !== Vector.MALFORMED) {
      counters[base + Vector.FRAGMENTS] += n;
      if (fragment === Fragment.NON_FIRST) counters[base + Vector.FRAG_NON_FIRST] += n;
    }
  }
}

/**
 * Counts one decoded packet into `counters[base .. base + VECTOR_COUNT)`: bytes, size class,
 * its category (`meta.vector`) and the fragment counters. Call {@linkcode completeVectors}
 * before reading the derived totals.
 */
export function countVectors(meta: PacketMeta, counters: Float64Array, base: number): void {
  const len = meta.wireLen;
  const c = meta.vector;
  counters[base + Vector.BYTES] += len;
  counters[base + (len <= 64 ? Vector.SMALL : len >= 1000 ? Vector.LARGE : Vector.MID)]++;
  counters[base + c]++;
  if (meta.fragment !== Fragment.NONE && c !== Vector.MALFORMED) {
    counters[base + Vector.FRAGMENTS]++;
    if (meta.fragment === Fragment.NON_FIRST) counters[base + Vector.FRAG_NON_FIRST]++;
  }
}

/** Fills the derived totals (packets, TCP, UDP, ICMP, amplification) of a counted block. */
export function completeVectors(c: Float64Array, base: number): void {
  c[base + Vector.PACKETS] = c[base + Vector.SMALL] + c[base + Vector.MID] + c[base + Vector.LARGE];
  let tcp = c[base + Vector.TCP_NO_PORTS];
  for (let v = Vector.SYN; v <= Vector.TCP_ANOMALOUS; v++) tcp += c[base + v];
  c[base + Vector.TCP] = tcp;
  let amp = 0;
  for (let v = Vector.AMP_FIRST; v < VECTOR_COUNT; v++) amp += c[base + v];
  c[base + Vector.UDP_AMP] = amp;
  c[base + Vector.UDP] = amp + c[base + Vector.DNS_QUERY] + c[base + Vector.UDP_PLAIN] +
    c[base + Vector.UDP_QUIC] + c[base + Vector.UDP_NO_PORTS];
  c[base + Vector.ICMP] = c[base + Vector.ICMP_ECHO] + c[base + Vector.ICMP_OTHER] +
    c[base + Vector.ICMP_OVERSIZED];
}

/** The TCP vector of a flags byte (SYN, ACK, FIN, RST, PSH, URG bits only). */
function tcpVector(f: number): number {
  switch (f) {
    case TcpFlag.SYN:
      return Vector.SYN;
    case TcpFlag.SYN | TcpFlag.ACK:
      return Vector.SYN_ACK;
    case TcpFlag.ACK:
    case TcpFlag.ACK | TcpFlag.URG:
      return Vector.ACK;
    case TcpFlag.PSH | TcpFlag.ACK:
    case TcpFlag.PSH | TcpFlag.ACK | TcpFlag.URG:
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
      return Vector.TCP_ANOMALOUS;
  }
}
