/**
 * The plain, JSON-ready statistics of a window ({@linkcode WindowStats}): the one shape replay
 * prints, incident payloads carry and tests read.
 *
 * @module
 */

import type { TopPort } from "../sketch/mod.ts";
import type { DnsQueryStats } from "./dns_names.ts";

/** Packets and bytes of one protocol class. */
export interface ProtocolCounter {
  /** Packets of the class. */
  packets: number;
  /** Their wire bytes. */
  bytes: number;
}

/** Packets with each TCP flag set. */
export interface TcpFlagCounts {
  /** Packets with FIN set. */
  FIN: number;
  /** Packets with SYN set. */
  SYN: number;
  /** Packets with RST set. */
  RST: number;
  /** Packets with PSH set. */
  PSH: number;
  /** Packets with ACK set. */
  ACK: number;
  /** Packets with URG set. */
  URG: number;
  /** Packets with ECE set. */
  ECE: number;
  /** Packets with CWR set. */
  CWR: number;
}

/** Packets per wire-length range (bytes, bounds inclusive; `"1500+"` is above 1500). */
export interface PacketLengthHistogram {
  /** Packets of 0-64 bytes. */
  "0-64": number;
  /** Packets of 65-128 bytes. */
  "65-128": number;
  /** Packets of 129-256 bytes. */
  "129-256": number;
  /** Packets of 257-512 bytes. */
  "257-512": number;
  /** Packets of 513-1024 bytes. */
  "513-1024": number;
  /** Packets of 1025-1500 bytes. */
  "1025-1500": number;
  /** Packets over 1500 bytes. */
  "1500+": number;
}

/** Packets and bytes per protocol class. */
export interface ProtocolCounters {
  /** TCP. */
  tcp: ProtocolCounter;
  /** UDP. */
  udp: ProtocolCounter;
  /** ICMP and ICMPv6. */
  icmp: ProtocolCounter;
  /** GRE. */
  gre: ProtocolCounter;
  /** Other IP protocols and non-IP frames. */
  other: ProtocolCounter;
}

/** Fragmented IP packets by position. */
export interface FragmentCounts {
  /** First fragments (they carry the L4 header). */
  first: number;
  /** Later fragments. */
  non_first: number;
}

/** A top-talker address and the packets it is guaranteed to have sent (never an overestimate). */
export interface TopAddress {
  /** The address, as text. */
  ip: string;
  /** Packets it is guaranteed to have sent (or received). */
  count: number;
  /** What those packets looked like (sources, in snapshots asked for traits). */
  traits?: SourceTraits;
}

/**
 * What one top source's packets looked like: the same packets as its `count` (those counted
 * since it last took a counter of the top-source table).
 */
export interface SourceTraits {
  /** Pure SYNs: SYN set, ACK, RST and FIN clear. */
  syn: number;
  /** The protocol class most of its packets are known to be of (its first, in one window). */
  protocol: "tcp" | "udp" | "icmp" | "gre" | "other";
  /** Packets of another class (at most this many). */
  protocol_other: number;
  /** The TTL (hop limit) most of its packets are known to carry (its first, in one window). */
  ttl: number;
  /** Packets with another TTL (at most this many). */
  ttl_other: number;
}

/**
 * Plain, JSON-ready statistics of a {@linkcode Window} (snake_case: this is the JSON that
 * replay prints and the reporting payloads reuse).
 *
 * Frames that could not be decoded (`malformed`) count in `packets`, `bytes`, `pps`, `bps`,
 * `avg_pkt_len` and `malformed` only. Everything else describes the outer packet (GRE inner
 * packets are not looked into).
 */
export interface WindowStats {
  /** Window start, epoch seconds. */
  t: number;
  /** Seconds the window covers. */
  seconds: number;
  /** Frames seen, decodable or not. */
  packets: number;
  /** Sum of wire lengths. */
  bytes: number;
  /** Packets per second over `seconds` (3 decimals). */
  pps: number;
  /** BITS per second over `seconds` (3 decimals). */
  bps: number;
  /** Frames that could not be decoded. */
  malformed: number;
  /** IPv4 packets. */
  ipv4: number;
  /** IPv6 packets. */
  ipv6: number;
  /** Decoded frames that are not IP (ARP, LLDP, ...). */
  non_ip: number;
  /**
   * Packets the protected addresses sent out (see `LocalNetworks`): counted here only, never in
   * the inbound statistics above and below.
   */
  outbound: ProtocolCounter;
  /** Per protocol class; `icmp` is ICMP + ICMPv6, `other` is other IP protocols and non-IP. */
  protocols: ProtocolCounters;
  /** TCP packets (with a TCP header) with each flag set. */
  tcp_flags: TcpFlagCounts;
  /**
   * TCP packets (with a TCP header) per whole flags byte, named by {@linkcode tcpFlagsName}
   * (`"SYN"`, `"SYN+ACK"`, `"ACK+PSH"`, `"NONE"`, `"FIN+PSH+URG"`, ...); only non-zero entries.
   */
  tcp_flag_combos: Record<string, number>;
  /** Fragmented IP packets by position. */
  fragments: FragmentCounts;
  /** Decoded frames by wire length. */
  pkt_len_hist: PacketLengthHistogram;
  /** `bytes / packets` (3 decimals; 0 when empty). */
  avg_pkt_len: number;
  /** IP packets per TTL / hop-limit value (decimal string keys); only non-zero entries. */
  ttl: Record<string, number>;
  /** Top source addresses of IP packets, count descending, ties by address ascending. */
  top_src_ips: TopAddress[];
  /** Top destination addresses of IP packets, same order. */
  top_dst_ips: TopAddress[];
  /**
   * Top source ports of TCP/UDP packets (with an L4 header), exact counts, count descending,
   * ties by port.
   */
  top_src_ports: TopPort[];
  /** Top destination ports of TCP/UDP packets, same order. */
  top_dst_ports: TopPort[];
  /** Distinct source addresses of IP packets (HyperLogLog estimate, about 0.8% error). */
  src_count: number;
  /**
   * Shannon entropy (bits, 3 decimals) of the source-address distribution of IP packets,
   * estimated over 4096 hash buckets: see {@linkcode Window} for its limits.
   */
  src_ip_entropy: number;
  /** DNS queries to the protected addresses (names read from the packets to port 53). */
  dns: DnsQueryStats;
}

/** Flag names in the order combos are spelled: `"SYN+ACK"`, `"FIN+ACK"`, `"ACK+PSH"`. */
const FLAG_ORDER: readonly (readonly [keyof TcpFlagCounts, number])[] = [
  ["SYN", 0x02],
  ["FIN", 0x01],
  ["RST", 0x04],
  ["ACK", 0x10],
  ["PSH", 0x08],
  ["URG", 0x20],
  ["ECE", 0x40],
  ["CWR", 0x80],
];

const FLAG_NAMES: readonly string[] = /* @__PURE__ */ (() => {
  const names: string[] = [];
  for (let f = 0; f < 256; f++) {
    const parts = FLAG_ORDER.filter(([, bit]) => (f & bit) !== 0).map(([name]) => name);
    names.push(parts.length === 0 ? "NONE" : parts.join("+"));
  }
  return names;
})();

/**
 * Name of a TCP flags byte as used in `tcp_flag_combos`: set flags joined by `+` in the
 * order SYN, FIN, RST, ACK, PSH, URG, ECE, CWR (`0x12` is `"SYN+ACK"`, `0x18` `"ACK+PSH"`,
 * `0x29` `"FIN+PSH+URG"`), `"NONE"` for 0.
 */
export function tcpFlagsName(flags: number): string {
  return FLAG_NAMES[flags & 0xff];
}

/**
 * TCP flag counts and combos from packets per flags byte (`perFlags[offset + byte]`): each set
 * flag counts the byte's packets; combos list the non-zero bytes by {@linkcode tcpFlagsName}.
 */
export function tcpFlagStats(
  perFlags: Float64Array,
  offset: number,
): { flags: TcpFlagCounts; combos: Record<string, number> } {
  const flags: TcpFlagCounts = { FIN: 0, SYN: 0, RST: 0, PSH: 0, ACK: 0, URG: 0, ECE: 0, CWR: 0 };
  const combos: Record<string, number> = {};
  for (let f = 0; f < 256; f++) {
    const n = perFlags[offset + f];
    if (n === 0) continue;
    combos[FLAG_NAMES[f]] = n;
    for (const [name, bit] of FLAG_ORDER) {
      if ((f & bit) !== 0) flags[name] += n;
    }
  }
  return { flags, combos };
}
