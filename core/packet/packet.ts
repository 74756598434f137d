/**
 * The decoded view of one packet, shared by the decoder, the windows and everything downstream.
 *
 * One `PacketMeta` is allocated per pipeline and reused for every packet: the decoder fills it
 * in place, so the per-packet path allocates nothing.
 *
 * @module
 */

/** Link-layer header types (tcpdump.org LINKTYPE_* values) the decoder understands. */
export const LinkType = {
  /** BSD loopback: 4-byte address family in host byte order. */
  NULL: 0,
  /** Ethernet II (with 802.1Q / 802.1ad tags). */
  EN10MB: 1,
  /** Raw IPv4 or IPv6, no link header. */
  RAW: 101,
  /** OpenBSD loopback: 4-byte address family in network byte order. */
  LOOP: 108,
  /** Linux "cooked" capture v1 (16-byte header). */
  LINUX_SLL: 113,
  /** Raw IPv4 (LINKTYPE_IPV4). */
  IPV4: 228,
  /** Raw IPv6 (LINKTYPE_IPV6). */
  IPV6: 229,
  /** Linux "cooked" capture v2 (20-byte header). */
  LINUX_SLL2: 276,
} as const;

/** IP protocol numbers the windows and classifier name. */
export const IpProto = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  GRE: 47,
  ICMPV6: 58,
} as const;

/** IP protocol numbers with names (other protocols are written as numbers). */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  icmpv6: 58,
};

/** Name of an IP protocol number (the number itself when unnamed). */
export function protocolName(n: number): string {
  for (const [name, v] of Object.entries(PROTOCOL_NUMBERS)) if (v === n) return name;
  return String(n);
}

/** TCP flag bits as they appear in byte 13 of the TCP header. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Fragment position of an IP packet (IPv4 flags/offset or IPv6 fragment header). */
export const Fragment = {
  /** Not a fragment. */
  NONE: 0,
  /** First fragment: offset 0 with more-fragments set; carries the L4 header. */
  FIRST: 1,
  /** Any later fragment: no L4 header. */
  NON_FIRST: 2,
} as const;

/** Why a frame could not be decoded (set in {@linkcode PacketMeta.malformed}). */
export const Malformed = {
  NONE: 0,
  /** The frame ends inside the link-layer header (or a VLAN tag). */
  LINK_TRUNCATED: 1,
  /** The capture's link type is not one the decoder knows. */
  UNSUPPORTED_LINKTYPE: 2,
  /** The frame ends inside the IP header (or an IPv6 extension header). */
  IP_TRUNCATED: 3,
  /** IP header fields are inconsistent (version, header length, total length). */
  IP_INVALID: 4,
  /** The frame ends inside the TCP/UDP/ICMP/GRE header. */
  L4_TRUNCATED: 5,
  /** L4 header fields are inconsistent (TCP data offset < 5, UDP length < 8). */
  L4_INVALID: 6,
  /** More VLAN tags than the decoder follows (3). */
  TOO_MANY_TAGS: 7,
} as const;

/**
 * Decoded fields of one packet. Addresses are kept as four 32-bit words in network order
 * (IPv4 as the IPv4-mapped IPv6 address `::ffff:a.b.c.d`), so IPv4 and IPv6 share one key
 * shape in sketches and top-K tables.
 */
export class PacketMeta {
  /** Packet time in microseconds since the Unix epoch. */
  tsUs = 0;
  /** Length of the frame on the wire (bytes). */
  wireLen = 0;
  /** Bytes actually captured (may be less than `wireLen`). */
  capLen = 0;
  /** Link type the frame was decoded as. */
  linktype = 0;
  /** Why decoding failed, or `Malformed.NONE`. */
  malformed = 0;
  /** Number of 802.1Q / 802.1ad tags. */
  vlanCount = 0;
  /** VLAN id of the outermost tag (0 when untagged). */
  vlanId = 0;
  /** EtherType of the network layer (0x0800, 0x86dd, 0x0806, ...; 0 when unknown). */
  etherType = 0;
  /** 4 or 6 for IP packets, 0 for anything else (ARP, LLDP, ...). */
  ipVersion = 0;
  /** Source address, four words in network order; IPv4 is `0, 0, 0xffff, addr`. */
  readonly src: Uint32Array = new Uint32Array(4);
  /** Destination address, same layout as `src`. */
  readonly dst: Uint32Array = new Uint32Array(4);
  /** IPv4 TTL or IPv6 hop limit. */
  ttl = 0;
  /** IP length as declared by the header (IPv4 total length; IPv6 40 + payload length). */
  ipLen = 0;
  /** Final protocol number: TCP 6, UDP 17, ICMP 1, GRE 47, ICMPv6 58, anything else as is. */
  protocol = 0;
  /** `Fragment.NONE`, `Fragment.FIRST` or `Fragment.NON_FIRST`. */
  fragment = 0;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  /** Of a fragment: where its data ends in the datagram (offset + length, bytes); else 0. */
  fragEnd = 0;
  /** Of a fragment: the datagram's identification (IPv4 16 bits, IPv6 32 bits); else 0. */
  fragId = 0;
  /** Source port (TCP/UDP), 0 otherwise. */
  srcPort = 0;
  /** Destination port (TCP/UDP), 0 otherwise. */
  dstPort = 0;
  /** TCP flags byte (see {@linkcode TcpFlag}), 0 for non-TCP. */
  tcpFlags = 0;
  /** ICMP / ICMPv6 type, 0 otherwise. */
  icmpType = 0;
  /** ICMP / ICMPv6 code, 0 otherwise. */
  icmpCode = 0;
  /** True when the L4 header (TCP/UDP/ICMP/GRE) was read. */
  hasL4 = false;
  /** Offset of the L4 payload in the frame buffer (-1 when there is none). */
  payloadOffset: number = -1;
  /** Bytes of L4 payload captured. */
  payloadLen = 0;
  /** Protocol (EtherType) carried inside GRE, 0 otherwise. */
  greProtocol = 0;
  /** True when `inner` holds the decoded packet carried inside GRE. */
  hasInner = false;
  /**
   * Attack-vector category (a `Vector` index of `vectors.ts`: SYN, UDP from an amplification
   * port, later fragment, malformed...). The decoder sets it while it reads the headers, so
   * detection does not sort the packet again; a meta filled by hand gets it from `vectorOf()`.
   */
  vector = 0;
  /**
   * Sent by a protected address to an outside one (set by the pipeline from its
   * `LocalNetworks`; false when none are known): counted apart from inbound traffic.
   */
  outbound = false;
  /** The packet inside a GRE tunnel (preallocated; valid when `hasInner`). Null on inner metas. */
  readonly inner: PacketMeta | null;

  /** Creates a meta; `withInner` preallocates the GRE inner packet (one level deep). */
  constructor(withInner = true) {
    this.inner = withInner ? new PacketMeta(false) : null;
  }

  /** Clears every decoded field (not the time or lengths set by the source). */
  reset(): void {
    this.malformed = 0;
    this.vlanCount = 0;
    this.vlanId = 0;
    this.etherType = 0;
    this.ipVersion = 0;
    // Stores by index: TypedArray.fill() is not inlined and doubles the decoder's cost.
    const src = this.src;
    const dst = this.dst;
    src[0] = 0;
    src[1] = 0;
    src[2] = 0;
    src[3] = 0;
    dst[0] = 0;
    dst[1] = 0;
    dst[2] = 0;
    dst[3] = 0;
    this.ttl = 0;
    this.ipLen = 0;
    this.protocol = 0;
    this.fragment = 0;
    this.fragOffset = 0;
    this.fragEnd = 0;
    this.fragId = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.hasL4 = false;
    this.payloadOffset = -1;
    this.payloadLen = 0;
    this.greProtocol = 0;
    this.hasInner = false;
    this.vector = 0;
    this.outbound = false;
  }
}

/**
 * Receives captured frames from a source (file reader, libpcap) without allocation: `buf`
 * is the source's own buffer, valid only during the call.
 */
export interface PacketSink {
  /** Called once per captured frame. */
  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void;
  /**
   * Optional: a source reading frames in batches announces each batch, `buf[start, end)` holding
   * `frames` frames, before their `packet` calls (see `PacketRing.batch`).
   */
  batch?(buf: Uint8Array, start: number, end: number, frames: number): void;
}
