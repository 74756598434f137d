/**
 * Test-only frame builders: link headers (Ethernet with VLAN tags, Linux cooked v1/v2, BSD
 * loopback), IPv4 (options, fragments), IPv6 (extension headers), TCP, UDP, ICMP, ICMPv6 and
 * GRE. Each builder wraps a payload, so frames read inside out:
 * `eth(EtherType.IPV4, ipv4(6, tcp(1234, 80, TcpFlag.SYN)))`.
 *
 * Override fields (`totalLen`, `ihl`, `doff`, `len`, ...) build malformed shapes.
 *
 * @module
 */

/** EtherTypes used by the builders. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  IPV6: 0x86dd,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  QINQ_OLD: 0x9100,
  TEB: 0x6558,
} as const;

const EMPTY: Uint8Array = new Uint8Array(0);

/** Concatenates byte arrays and plain byte lists. */
export function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** `n` bytes counting up from `start` (recognizable payloads). */
export function bytes(n: number, start = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const u32 = (
  v: number,
): number[] => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

/** "1.2.3.4" as 4 bytes. */
export function ip4(addr: string): number[] {
  return addr.split(".").map(Number);
}

/** IPv4 address as the unsigned 32-bit word the decoder stores. */
export function ip4word(addr: string): number {
  return ip4(addr).reduce((w, b) => w * 256 + b, 0);
}

/** IPv6 address ("2001:db8::1") as 16 bytes. */
export function ip6(addr: string): number[] {
  const [head, tail] = addr.includes("::") ? addr.split("::") : [addr, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}

/** IPv6 address as the decoder's four big-endian words. */
export function ip6words(addr: string): number[] {
  const b = ip6(addr);
  return [0, 1, 2, 3].map((i) =>
    ((b[i * 4] << 24) | (b[i * 4 + 1] << 16) | (b[i * 4 + 2] << 8) | b[i * 4 + 3]) >>> 0
  );
}

function checksum(data: Uint8Array | number[]): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i] << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---- link layer ----

/** A VLAN tag: a bare number is an 802.1Q tag with that VLAN id. */
export type VlanTag = number | { tpid: number; id: number };

/** Ethernet II frame, optionally with VLAN tags (outermost first). */
export function eth(etherType: number, payload: Uint8Array, vlans: VlanTag[] = []): Uint8Array {
  const tags = vlans.flatMap((t) => (typeof t === "number" ? [EtherType.VLAN, t] : [t.tpid, t.id]));
  // dst, src MACs; then (tpid, tci) pairs; the last TPID slot holds the real EtherType.
  const typeAndTags: number[] = [];
  for (let i = 0; i < tags.length; i += 2) typeAndTags.push(...u16(tags[i]), ...u16(tags[i + 1]));
  return cat(
    [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02],
    typeAndTags,
    u16(etherType),
    payload,
  );
}

/** Linux cooked capture v1 (16 bytes, protocol at 14-15). */
export function sll(protocol: number, payload: Uint8Array): Uint8Array {
  return cat([0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0], u16(protocol), payload);
}

/** Linux cooked capture v2 (20 bytes, protocol at 0-1). */
export function sll2(protocol: number, payload: Uint8Array): Uint8Array {
  return cat(u16(protocol), [0, 0], u32(2), [0, 1, 0, 6], [0x02, 0, 0, 0, 0, 0x01, 0, 0], payload);
}

/** BSD loopback (LINKTYPE_NULL): address family in host order, here chosen explicitly. */
export function nullLink(af: number, payload: Uint8Array, littleEndian = true): Uint8Array {
  const h = u32(af);
  return cat(littleEndian ? h.reverse() : h, payload);
}

/** OpenBSD loopback (LINKTYPE_LOOP): address family in network order. */
export function loop(af: number, payload: Uint8Array): Uint8Array {
  return cat(u32(af), payload);
}

/** An ARP request (a non-IP payload for Ethernet). */
export function arp(): Uint8Array {
  return cat(
    [0, 1, 8, 0, 6, 4, 0, 1],
    [2, 0, 0, 0, 0, 1],
    ip4("10.0.0.1"),
    [0, 0, 0, 0, 0, 0],
    ip4("10.0.0.2"),
  );
}

// ---- IP ----

/** IPv4 header fields; the overrides exist to build malformed packets. */
export interface Ipv4Opts {
  src?: string;
  dst?: string;
  ttl?: number;
  id?: number;
  /** More-fragments flag. */
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  /** Option bytes (padded to 4 with zeros, i.e. End of Options). */
  options?: number[];
  /** Override the total length field. */
  totalLen?: number;
  /** Override the header length (in 32-bit words). */
  ihl?: number;
  /** Override the version nibble. */
  version?: number;
}

/** IPv4 packet with a valid header checksum. */
export function ipv4(proto: number, payload: Uint8Array, o: Ipv4Opts = {}): Uint8Array {
  const opts = [...(o.options ?? [])];
  while (opts.length % 4 !== 0) opts.push(0);
  const hdrLen = 20 + opts.length;
  const flags = (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3);
  const hdr = [
    ((o.version ?? 4) << 4) | (o.ihl ?? hdrLen / 4),
    0,
    ...u16(o.totalLen ?? hdrLen + payload.length),
    ...u16(o.id ?? 0x1234),
    ...u16(flags),
    o.ttl ?? 64,
    proto,
    0,
    0,
    ...ip4(o.src ?? "192.0.2.1"),
    ...ip4(o.dst ?? "198.51.100.2"),
    ...opts,
  ];
  const sum = checksum(hdr);
  hdr[10] = sum >> 8;
  hdr[11] = sum & 0xff;
  return cat(hdr, payload);
}

/** One IPv6 extension header. */
export type Ipv6Ext =
  /** Hop-by-hop (0), routing (43) or destination options (60); `units` extra 8-byte units. */
  | { type: 0 | 43 | 60; units?: number }
  /** Fragment header; `offset` in bytes (multiple of 8). */
  | { type: 44; offset?: number; more?: boolean; id?: number }
  /** Authentication header with `icvWords` 32-bit words of ICV (default 3). */
  | { type: 51; icvWords?: number };

/** IPv6 header fields. */
export interface Ipv6Opts {
  src?: string;
  dst?: string;
  hopLimit?: number;
  /** Extension headers in order; the last one's next header is `proto`. */
  ext?: Ipv6Ext[];
  /** Override the payload length field. */
  payloadLen?: number;
}

function extHeader(e: Ipv6Ext, next: number): number[] {
  switch (e.type) {
    case 44:
      return [next, 0, ...u16((e.offset ?? 0) | (e.more ? 1 : 0)), ...u32(e.id ?? 0xabcd)];
    case 51: {
      const words = 3 + (e.icvWords ?? 3); // 12 fixed bytes + ICV
      return [next, words - 2, 0, 0, ...u32(0x100), ...u32(1), ...Array((words - 3) * 4).fill(0)];
    }
    default: {
      const units = e.units ?? 0;
      // PadN option filling the rest of the header.
      const padLen = 8 + units * 8 - 4;
      return [next, units, 1, padLen, ...Array(padLen).fill(0)];
    }
  }
}

/** IPv6 packet; `proto` is the upper-layer protocol after any extension headers. */
export function ipv6(proto: number, payload: Uint8Array, o: Ipv6Opts = {}): Uint8Array {
  const ext = o.ext ?? [];
  const chain: number[] = [];
  for (let i = 0; i < ext.length; i++) {
    chain.push(...extHeader(ext[i], i + 1 < ext.length ? ext[i + 1].type : proto));
  }
  const first = ext.length > 0 ? ext[0].type : proto;
  return cat(
    [0x60, 0, 0, 0],
    u16(o.payloadLen ?? chain.length + payload.length),
    [first, o.hopLimit ?? 64],
    ip6(o.src ?? "2001:db8::1"),
    ip6(o.dst ?? "2001:db8::2"),
    chain,
    payload,
  );
}

// ---- L4 ----

/** TCP segment fields. */
export interface TcpOpts {
  seq?: number;
  ack?: number;
  /** Option bytes (padded to 4 with zeros). */
  options?: number[];
  /** Override the data offset (in 32-bit words). */
  doff?: number;
}

/** TCP segment (checksum left 0: tcpdump only checks it with -v). */
export function tcp(
  sport: number,
  dport: number,
  flags: number,
  payload: Uint8Array = EMPTY,
  o: TcpOpts = {},
): Uint8Array {
  const opts = [...(o.options ?? [])];
  while (opts.length % 4 !== 0) opts.push(0);
  const doff = o.doff ?? (20 + opts.length) / 4;
  return cat(
    u16(sport),
    u16(dport),
    u32(o.seq ?? 1000),
    u32(o.ack ?? 0),
    [doff << 4, flags],
    u16(65535),
    [0, 0, 0, 0],
    opts,
    payload,
  );
}

/** UDP datagram; `len` overrides the length field. */
export function udp(
  sport: number,
  dport: number,
  payload: Uint8Array = EMPTY,
  len?: number,
): Uint8Array {
  return cat(u16(sport), u16(dport), u16(len ?? 8 + payload.length), [0, 0], payload);
}

/** ICMP message (8-byte header: type, code, checksum, rest of header). */
export function icmp(type: number, code: number, payload: Uint8Array = EMPTY): Uint8Array {
  const msg = cat([type, code, 0, 0, 0, 1, 0, 1], payload);
  const sum = checksum(msg);
  msg[2] = sum >> 8;
  msg[3] = sum & 0xff;
  return msg;
}

/** ICMPv6 message (checksum left 0). */
export function icmpv6(type: number, code: number, payload: Uint8Array = EMPTY): Uint8Array {
  return cat([type, code, 0, 0, 0, 1, 0, 1], payload);
}

/** GRE optional fields: checksum (C), key (K), sequence number (S). */
export interface GreOpts {
  c?: boolean;
  k?: boolean;
  s?: boolean;
}

/** GRE version 0 header carrying `proto` (an EtherType). */
export function gre(proto: number, payload: Uint8Array, o: GreOpts = {}): Uint8Array {
  const flags = (o.c ? 0x8000 : 0) | (o.k ? 0x2000 : 0) | (o.s ? 0x1000 : 0);
  return cat(
    u16(flags),
    u16(proto),
    o.c ? [0, 0, 0, 0] : [],
    o.k ? u32(0x01020304) : [],
    o.s ? u32(7) : [],
    payload,
  );
}
