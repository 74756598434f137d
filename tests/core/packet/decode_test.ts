import { assert, assertEquals } from "../../support/assert.ts";
import {
  decode,
  Fragment,
  IpProto,
  LinkType,
  Malformed,
  PacketMeta,
  PcapBuilder,
  pcapFileHeader,
  TcpFlag,
  writePcapRecordHeader,
} from "../../../core/packet/mod.ts";
import {
  arp,
  bytes,
  cat,
  eth,
  EtherType,
  gre,
  icmp,
  icmpv6,
  ip4word,
  ip6words,
  ipv4,
  ipv6,
  loop,
  nullLink,
  sll,
  sll2,
  tcp,
  udp,
} from "../../support/frames.ts";
import { walkCapture } from "../../support/splice.ts";

const { SYN, ACK, FIN, RST, PSH, URG, ECE, CWR } = TcpFlag;
/** Every frame is decoded from this offset of a larger buffer padded with 0xee. */
const AT = 7;
const meta = new PacketMeta();

/** Decodes `frame` placed at `AT` in a bigger buffer (so reads past capLen would show). */
function dec(
  frame: Uint8Array,
  linktype: number = LinkType.EN10MB,
  wireLen: number = frame.length,
): { ok: boolean; m: PacketMeta } {
  const buf = new Uint8Array(AT + frame.length + 64).fill(0xee);
  buf.set(frame, AT);
  meta.tsUs = 1;
  meta.capLen = frame.length;
  meta.wireLen = wireLen;
  const ok = decode(buf, AT, frame.length, linktype, meta);
  return { ok, m: meta };
}

/** Decodes and expects success. */
function good(frame: Uint8Array, linktype: number = LinkType.EN10MB, wireLen?: number): PacketMeta {
  const { ok, m } = dec(frame, linktype, wireLen);
  assertEquals(m.malformed, Malformed.NONE, "malformed code");
  assert(ok, "decode() returned false");
  return m;
}

/** Decodes and expects failure with `reason`. */
function bad(
  reason: number,
  frame: Uint8Array,
  linktype: number = LinkType.EN10MB,
  wireLen?: number,
): void {
  const { ok, m } = dec(frame, linktype, wireLen);
  assertEquals(m.malformed, reason, "malformed code");
  assertEquals(ok, false);
}

/** `frame` cut to its first `n` bytes; the wire length stays the whole frame (short snaplen). */
function cut(frame: Uint8Array, n: number): [Uint8Array, number, number] {
  return [frame.slice(0, n), LinkType.EN10MB, frame.length];
}

const V4 = (addr: string) => [0, 0, 0xffff, ip4word(addr)];
const tcpSyn = () => ipv4(IpProto.TCP, tcp(40000, 80, SYN));

// ---- supported shapes ----

Deno.test("decode() reads Ethernet IPv4 TCP SYN", () => {
  const m = good(
    eth(
      EtherType.IPV4,
      ipv4(6, tcp(40000, 443, SYN), { src: "1.2.3.4", dst: "10.0.0.200", ttl: 57 }),
    ),
  );
  assertEquals(m.linktype, LinkType.EN10MB);
  assertEquals(m.etherType, 0x0800);
  assertEquals(m.ipVersion, 4);
  assertEquals([...m.src], [0, 0, 0xffff, 0x01020304]);
  assertEquals([...m.dst], V4("10.0.0.200"));
  assertEquals(m.dst[3], 0x0a0000c8);
  assertEquals(m.ttl, 57);
  assertEquals(m.ipLen, 40);
  assertEquals(m.protocol, IpProto.TCP);
  assertEquals([m.srcPort, m.dstPort, m.tcpFlags], [40000, 443, SYN]);
  assertEquals([m.vlanCount, m.vlanId, m.fragment, m.fragOffset], [0, 0, Fragment.NONE, 0]);
  assert(m.hasL4);
  assertEquals([m.payloadOffset, m.payloadLen], [AT + 54, 0]);
  assertEquals([m.hasInner, m.greProtocol, m.icmpType], [false, 0, 0]);
  assertEquals([m.tsUs, m.capLen, m.wireLen], [1, 54, 54]);
});

Deno.test("decode() reads every TCP flag including ECE and CWR", () => {
  for (
    const flags of [FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, SYN | ECE | CWR, SYN | ACK, 0xff, 0]
  ) {
    assertEquals(good(eth(EtherType.IPV4, ipv4(6, tcp(1, 2, flags)))).tcpFlags, flags);
  }
});

Deno.test("decode() skips TCP options and reports the captured payload", () => {
  const options = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]; // 20 bytes
  const m = good(eth(EtherType.IPV4, ipv4(6, tcp(5, 6, PSH | ACK, bytes(100), { options }))));
  assertEquals([m.payloadOffset, m.payloadLen], [AT + 14 + 20 + 40, 100]);
  assertEquals(m.ipLen, 160);
});

Deno.test("decode() keeps a snaplen-cut TCP header's ports and flags with no payload", () => {
  const options = [2, 4, 5, 0xb4, 1, 1, 4, 2];
  const frame = eth(EtherType.IPV4, ipv4(6, tcp(5, 6, SYN, bytes(10), { options })));
  const m = good(...cut(frame, 14 + 20 + 22));
  assertEquals([m.srcPort, m.dstPort, m.tcpFlags], [5, 6, SYN]);
  assertEquals([m.payloadOffset, m.payloadLen], [AT + 56, 0]);
});

Deno.test("decode() reads 802.1Q tagged IPv4 UDP", () => {
  const m = good(eth(EtherType.IPV4, ipv4(17, udp(53, 5353, bytes(12))), [0x2123]));
  assertEquals([m.vlanCount, m.vlanId], [1, 0x123]);
  assertEquals([m.srcPort, m.dstPort, m.payloadOffset, m.payloadLen], [53, 5353, AT + 18 + 28, 12]);
});

Deno.test("decode() reads 802.1ad double-tagged IPv4 UDP", () => {
  const frame = eth(EtherType.IPV4, ipv4(17, udp(161, 40000, bytes(30))), [
    { tpid: EtherType.QINQ, id: 100 },
    { tpid: EtherType.VLAN, id: 200 },
  ]);
  const m = good(frame);
  assertEquals([m.vlanCount, m.vlanId, m.etherType, m.protocol], [2, 100, 0x0800, 17]);
  assertEquals([m.srcPort, m.dstPort, m.payloadLen], [161, 40000, 30]);
});

Deno.test("decode() reads three tags with the old 0x9100 QinQ type and IPv6", () => {
  const frame = eth(EtherType.IPV6, ipv6(6, tcp(1, 2, ACK)), [
    { tpid: EtherType.QINQ_OLD, id: 7 },
    { tpid: EtherType.QINQ, id: 8 },
    9,
  ]);
  const m = good(frame);
  assertEquals([m.vlanCount, m.vlanId, m.ipVersion, m.tcpFlags], [3, 7, 6, ACK]);
});

Deno.test("decode() accepts a non-IP EtherType such as ARP with ipVersion 0", () => {
  const m = good(eth(EtherType.ARP, arp(), [5]));
  assertEquals([m.ipVersion, m.etherType, m.protocol, m.hasL4, m.vlanId], [0, 0x0806, 0, false, 5]);
});

Deno.test("decode() clears the previous packet's fields when the meta is reused", () => {
  good(eth(EtherType.IPV4, ipv4(17, udp(1000, 2000), { mf: true })));
  const m = good(eth(EtherType.ARP, arp()));
  assertEquals([m.srcPort, m.dstPort, m.fragment, m.hasL4, m.payloadOffset], [0, 0, 0, false, -1]);
  assertEquals([...m.src], [0, 0, 0, 0]);
});

Deno.test("decode() skips IPv4 options", () => {
  const options = [0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0]; // router alert + record route
  const m = good(eth(EtherType.IPV4, ipv4(17, udp(7, 9, bytes(5)), { options })));
  assertEquals([m.ipLen, m.srcPort, m.dstPort], [20 + 12 + 13, 7, 9]);
  assertEquals([m.payloadOffset, m.payloadLen], [AT + 14 + 32 + 8, 5]);
});

Deno.test("decode() ignores Ethernet padding after a short IP packet", () => {
  const frame = cat(eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(2)))), new Uint8Array(16));
  assertEquals(frame.length, 60);
  const m = good(frame);
  assertEquals([m.ipLen, m.payloadLen], [30, 2]);
  const t = good(cat(eth(EtherType.IPV4, ipv4(6, tcp(1, 2, RST))), new Uint8Array(6)));
  assertEquals(t.payloadLen, 0);
});

Deno.test("decode() bounds the UDP payload by the IP length, the UDP length and the capture", () => {
  // UDP length larger than the IP packet: the IP length wins.
  assertEquals(good(eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(20), 500)))).payloadLen, 20);
  // UDP length smaller than the IP packet: the UDP length wins.
  assertEquals(good(eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(20), 18)))).payloadLen, 10);
  // Captured bytes fewer than both.
  const m = good(...cut(eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(100)))), 14 + 28 + 30));
  assertEquals([m.payloadOffset, m.payloadLen, m.ipLen], [AT + 42, 30, 128]);
});

Deno.test("decode() decodes the L4 header of a first IPv4 fragment", () => {
  const m = good(eth(EtherType.IPV4, ipv4(17, udp(53, 3333, bytes(64), 3000), { mf: true })));
  assertEquals([m.fragment, m.fragOffset, m.srcPort, m.dstPort, m.hasL4], [
    Fragment.FIRST,
    0,
    53,
    3333,
    true,
  ]);
  assertEquals(m.payloadLen, 64);
});

Deno.test("decode() marks later IPv4 fragments NON_FIRST without L4", () => {
  for (const mf of [true, false]) {
    const m = good(eth(EtherType.IPV4, ipv4(17, bytes(200), { mf, fragOffset: 1480 })));
    assertEquals([m.fragment, m.fragOffset, m.protocol], [Fragment.NON_FIRST, 1480, 17]);
    assertEquals([m.hasL4, m.srcPort, m.dstPort, m.payloadOffset, m.payloadLen], [
      false,
      0,
      0,
      -1,
      0,
    ]);
  }
});

Deno.test("decode() reads ICMP type and code", () => {
  const m = good(eth(EtherType.IPV4, ipv4(1, icmp(3, 3, bytes(28)))));
  assertEquals([m.protocol, m.icmpType, m.icmpCode, m.hasL4, m.srcPort], [1, 3, 3, true, 0]);
  assertEquals([m.payloadOffset, m.payloadLen], [AT + 42, 28]);
});

Deno.test("decode() reports other IP protocols by number only", () => {
  const m = good(eth(EtherType.IPV4, ipv4(132, bytes(40))));
  assertEquals([m.protocol, m.hasL4, m.payloadOffset, m.srcPort], [132, false, -1, 0]);
});

Deno.test("decode() reads IPv6 TCP addresses, hop limit and length", () => {
  const src = "2001:db8:1:2:3:4:5:6";
  const dst = "fe80::abcd:1";
  const m = good(
    eth(EtherType.IPV6, ipv6(6, tcp(22, 50000, SYN | ACK, bytes(8)), { src, dst, hopLimit: 3 })),
  );
  assertEquals([m.etherType, m.ipVersion, m.ttl, m.ipLen, m.protocol], [0x86dd, 6, 3, 68, 6]);
  assertEquals([...m.src], ip6words(src));
  assertEquals([...m.dst], ip6words(dst));
  assertEquals(m.src[0], 0x20010db8);
  assertEquals([m.srcPort, m.dstPort, m.tcpFlags, m.payloadLen], [22, 50000, SYN | ACK, 8]);
});

Deno.test("decode() walks each IPv6 extension header to UDP", () => {
  for (
    const ext of [{ type: 0 as const, units: 1 }, { type: 43 as const }, {
      type: 60 as const,
      units: 2,
    }, { type: 51 as const }]
  ) {
    const m = good(eth(EtherType.IPV6, ipv6(17, udp(500, 4500, bytes(9)), { ext: [ext] })));
    assertEquals([m.protocol, m.srcPort, m.dstPort, m.payloadLen, m.fragment], [
      17,
      500,
      4500,
      9,
      0,
    ], `ext ${ext.type}`);
  }
});

Deno.test("decode() walks a chain of every IPv6 extension header including a first fragment", () => {
  const ext = [{ type: 0 as const }, { type: 60 as const }, { type: 43 as const }, {
    type: 44 as const,
    more: true,
  }, {
    type: 51 as const,
  }, { type: 60 as const }];
  const m = good(eth(EtherType.IPV6, ipv6(58, icmpv6(128, 0, bytes(4)), { ext })));
  assertEquals([m.protocol, m.icmpType, m.icmpCode, m.fragment, m.fragOffset], [
    58,
    128,
    0,
    Fragment.FIRST,
    0,
  ]);
});

Deno.test("decode() stops at a non-first IPv6 fragment", () => {
  const m = good(
    eth(EtherType.IPV6, ipv6(17, bytes(64), { ext: [{ type: 0 }, { type: 44, offset: 1232 }] })),
  );
  assertEquals([m.fragment, m.fragOffset, m.protocol, m.hasL4, m.srcPort], [
    Fragment.NON_FIRST,
    1232,
    17,
    false,
    0,
  ]);
});

Deno.test("decode() reports IPv6 No Next Header as protocol 59 without L4", () => {
  const m = good(eth(EtherType.IPV6, ipv6(59, new Uint8Array(0), { ext: [{ type: 60 }] })));
  assertEquals([m.protocol, m.hasL4, m.ipLen], [59, false, 48]);
});

Deno.test("decode() stops walking a chain longer than 8 IPv6 extension headers", () => {
  const ext = Array.from({ length: 9 }, () => ({ type: 60 as const }));
  const m = good(eth(EtherType.IPV6, ipv6(17, udp(1, 2), { ext })));
  assertEquals([m.protocol, m.hasL4], [60, false]);
});

Deno.test("decode() reads ICMPv6 type and code", () => {
  const m = good(eth(EtherType.IPV6, ipv6(58, icmpv6(135, 0, bytes(16)))));
  assertEquals([m.protocol, m.icmpType, m.icmpCode, m.payloadLen], [58, 135, 0, 16]);
});

Deno.test("decode() reads Linux cooked v1 and v2 captures", () => {
  const v1 = good(sll(EtherType.IPV4, tcpSyn()), LinkType.LINUX_SLL);
  assertEquals([v1.linktype, v1.ipVersion, v1.dstPort, v1.payloadOffset], [
    LinkType.LINUX_SLL,
    4,
    80,
    AT + 56,
  ]);
  const v2 = good(sll2(EtherType.IPV6, ipv6(17, udp(1, 123))), LinkType.LINUX_SLL2);
  assertEquals([v2.linktype, v2.ipVersion, v2.dstPort, v2.payloadOffset], [
    LinkType.LINUX_SLL2,
    6,
    123,
    AT + 68,
  ]);
  const other = good(sll(EtherType.ARP, arp()), LinkType.LINUX_SLL);
  assertEquals([other.ipVersion, other.etherType], [0, 0x0806]);
});

Deno.test("decode() reads raw IPv4 and IPv6 by version nibble and the IPV4/IPV6 link types", () => {
  assertEquals(good(tcpSyn(), LinkType.RAW).ipVersion, 4);
  assertEquals(good(ipv6(17, udp(1, 2)), LinkType.RAW).ipVersion, 6);
  assertEquals(good(tcpSyn(), LinkType.IPV4).etherType, 0x0800);
  assertEquals(good(ipv6(17, udp(1, 2)), LinkType.IPV6).etherType, 0x86dd);
});

Deno.test("decode() reads BSD loopback in both byte orders and every AF_INET6 value", () => {
  for (const le of [true, false]) {
    assertEquals(good(nullLink(2, tcpSyn(), le), LinkType.NULL).ipVersion, 4);
    for (const af of [24, 28, 30]) {
      assertEquals(
        good(nullLink(af, ipv6(17, udp(1, 2)), le), LinkType.NULL).ipVersion,
        6,
        `af ${af}`,
      );
    }
  }
  const other = good(nullLink(7, tcpSyn()), LinkType.NULL);
  assertEquals([other.ipVersion, other.etherType], [0, 0]);
  assertEquals(good(loop(2, tcpSyn()), LinkType.LOOP).dstPort, 80);
  assertEquals(good(loop(30, ipv6(6, tcp(1, 2, SYN))), LinkType.LOOP).ipVersion, 6);
  assertEquals(good(loop(0x02000000, tcpSyn()), LinkType.LOOP).ipVersion, 0);
});

Deno.test("decode() reads GRE carrying IPv4 into the inner packet", () => {
  const inner = ipv4(6, tcp(1234, 25565, SYN), { src: "172.16.0.1", dst: "172.16.0.2", ttl: 9 });
  const m = good(eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV4, inner), { src: "203.0.113.1" })));
  assertEquals([m.protocol, m.greProtocol, m.hasL4, m.hasInner], [47, 0x0800, true, true]);
  assertEquals([m.payloadOffset, m.payloadLen], [AT + 38, 40]);
  const i = m.inner!;
  assertEquals([i.linktype, i.ipVersion, i.ttl, i.srcPort, i.dstPort, i.tcpFlags], [
    LinkType.RAW,
    4,
    9,
    1234,
    25565,
    SYN,
  ]);
  assertEquals([...i.src], V4("172.16.0.1"));
  assertEquals([i.capLen, i.wireLen, i.tsUs], [40, 40, 1]);
  assertEquals([...m.src], V4("203.0.113.1"));
});

Deno.test("decode() skips GRE checksum, key and sequence words", () => {
  for (const o of [{ c: true }, { k: true }, { s: true }, { c: true, k: true, s: true }]) {
    const extra = 4 * Object.keys(o).length;
    const m = good(eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV6, ipv6(17, udp(9, 10)), o))));
    assertEquals(
      [m.greProtocol, m.payloadOffset, m.hasInner],
      [0x86dd, AT + 38 + extra, true],
      JSON.stringify(o),
    );
    assertEquals([m.inner!.ipVersion, m.inner!.srcPort, m.inner!.dstPort], [6, 9, 10]);
  }
});

Deno.test("decode() reads GRE transparent Ethernet bridging over IPv6", () => {
  const innerFrame = eth(EtherType.IPV4, ipv4(17, udp(123, 456)), [42]);
  const m = good(eth(EtherType.IPV6, ipv6(47, gre(EtherType.TEB, innerFrame, { k: true }))));
  assertEquals([m.ipVersion, m.greProtocol, m.hasInner], [6, 0x6558, true]);
  const i = m.inner!;
  assertEquals([i.linktype, i.vlanId, i.ipVersion, i.srcPort, i.dstPort], [
    LinkType.EN10MB,
    42,
    4,
    123,
    456,
  ]);
});

Deno.test("decode() leaves other GRE payloads and nested GRE undecoded", () => {
  const ppp = good(eth(EtherType.IPV4, ipv4(47, gre(0x880b, bytes(20)))));
  assertEquals([ppp.greProtocol, ppp.hasInner], [0x880b, false]);
  const nested = ipv4(47, gre(EtherType.IPV4, tcpSyn()));
  const m = good(eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV4, nested))));
  assertEquals([m.hasInner, m.inner!.protocol, m.inner!.greProtocol, m.inner!.hasInner], [
    true,
    47,
    0x0800,
    false,
  ]);
  assertEquals(m.inner!.inner, null);
});

Deno.test("decode() keeps the outer packet when the GRE inner packet is malformed", () => {
  const m = good(
    eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { ihl: 3 })))),
  );
  assertEquals([m.hasInner, m.inner!.malformed, m.greProtocol], [
    false,
    Malformed.IP_INVALID,
    0x0800,
  ]);
  const t = good(
    eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN)).slice(0, 30)))),
  );
  assertEquals([t.hasInner, t.inner!.malformed], [false, Malformed.IP_INVALID]);
});

Deno.test("decode() follows the GRE protocol type, not the inner version nibble", () => {
  const m = good(eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV4, ipv6(17, udp(1, 2))))));
  assertEquals([m.hasInner, m.inner!.malformed], [false, Malformed.IP_INVALID]);
});

Deno.test("decode() skips PPTP GRE version 1 words without decoding PPP", () => {
  // Flags: K and S set, A (0x0080) set, version 1; protocol PPP 0x880b.
  const pptp = cat([0x30, 0x81, 0x88, 0x0b], [0, 8, 0, 1], [0, 0, 0, 5], [0, 0, 0, 4], bytes(8));
  const m = good(eth(EtherType.IPV4, ipv4(47, pptp)));
  assertEquals([m.greProtocol, m.payloadOffset, m.payloadLen, m.hasInner], [
    0x880b,
    AT + 34 + 16,
    8,
    false,
  ]);
});

Deno.test("PcapBuilder writes a capture that the pcap walker reads back record for record", () => {
  const header = pcapFileHeader(LinkType.LINUX_SLL2, 1500);
  assertEquals([...header.subarray(0, 8)], [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
  assertEquals([...header.subarray(16)], [0xdc, 0x05, 0, 0, 0x14, 0x01, 0, 0]);
  assertEquals([...pcapFileHeader(1, undefined, true).subarray(0, 4)], [0x4d, 0x3c, 0xb2, 0xa1]);
  const view = new DataView(new ArrayBuffer(20));
  writePcapRecordHeader(view, 4, 1_700_000_000_123_456, 60, 1514);
  assertEquals(
    [
      view.getUint32(4, true),
      view.getUint32(8, true),
      view.getUint32(12, true),
      view.getUint32(16, true),
    ],
    [1_700_000_000, 123_456, 60, 1514],
  );
  const big = eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(200))));
  const b = new PcapBuilder(LinkType.EN10MB, 100).add(tcpSyn(), 5).add(big, 2_000_001, 9000);
  const seen: number[][] = [];
  const info = walkCapture(
    b.bytes(),
    (_buf, _offset, capLen, wireLen, tsUs) => seen.push([capLen, wireLen, tsUs]),
  );
  assertEquals(info, { linktype: 1, snaplen: 100, records: 2 });
  assertEquals(seen, [[40, 40, 5], [100, 9000, 2_000_001]]);
  assertEquals(b.count, 2);
});

// ---- malformed shapes ----

Deno.test("decode() rejects an unknown link type", () => {
  bad(Malformed.UNSUPPORTED_LINKTYPE, tcpSyn(), 9999);
  assertEquals(meta.linktype, 9999);
});

Deno.test("decode() rejects frames cut inside the link header", () => {
  const frame = eth(EtherType.IPV4, tcpSyn(), [1, 2]);
  bad(Malformed.LINK_TRUNCATED, ...cut(frame, 13));
  bad(Malformed.LINK_TRUNCATED, ...cut(frame, 20)); // inside the second tag
  bad(Malformed.LINK_TRUNCATED, new Uint8Array(15), LinkType.LINUX_SLL);
  bad(Malformed.LINK_TRUNCATED, new Uint8Array(19), LinkType.LINUX_SLL2);
  bad(Malformed.LINK_TRUNCATED, new Uint8Array(3), LinkType.NULL);
  bad(Malformed.LINK_TRUNCATED, new Uint8Array(2), LinkType.LOOP);
  bad(Malformed.LINK_TRUNCATED, new Uint8Array(0));
});

Deno.test("decode() rejects four VLAN tags", () => {
  bad(Malformed.TOO_MANY_TAGS, eth(EtherType.IPV4, tcpSyn(), [1, 2, 3, 4]));
});

Deno.test("decode() rejects frames cut inside the IP header", () => {
  const v4 = eth(EtherType.IPV4, tcpSyn());
  for (const n of [14, 15, 33]) bad(Malformed.IP_TRUNCATED, ...cut(v4, n));
  const opts = eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { options: [1, 1, 1, 1, 1, 1, 1, 1] }));
  bad(Malformed.IP_TRUNCATED, ...cut(opts, 14 + 24)); // inside the options
  const v6 = eth(EtherType.IPV6, ipv6(6, tcp(1, 2, SYN)));
  for (const n of [14, 20, 53]) bad(Malformed.IP_TRUNCATED, ...cut(v6, n));
  bad(Malformed.IP_TRUNCATED, new Uint8Array(0), LinkType.RAW);
  bad(Malformed.IP_TRUNCATED, new Uint8Array(0), LinkType.IPV4);
});

Deno.test("decode() rejects frames cut inside the L4 header", () => {
  const cases: [Uint8Array, number][] = [
    [ipv4(6, tcp(1, 2, SYN)), 19],
    [ipv4(17, udp(1, 2)), 7],
    [ipv4(1, icmp(8, 0)), 5],
    [ipv4(47, gre(EtherType.IPV4, tcpSyn())), 3],
    [ipv4(47, gre(EtherType.IPV4, tcpSyn(), { k: true, s: true })), 10],
  ];
  for (const [packet, l4Bytes] of cases) {
    bad(Malformed.L4_TRUNCATED, ...cut(eth(EtherType.IPV4, packet), 14 + 20 + l4Bytes));
  }
  bad(Malformed.L4_TRUNCATED, ...cut(eth(EtherType.IPV6, ipv6(58, icmpv6(1, 0))), 14 + 40 + 4));
  bad(
    Malformed.L4_TRUNCATED,
    ...cut(eth(EtherType.IPV6, ipv6(6, tcp(1, 2, 0), { ext: [{ type: 0 }] })), 14 + 48 + 12),
  );
  // An IP total length too short for the TCP header it carries.
  bad(Malformed.L4_TRUNCATED, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { totalLen: 30 })));
});

Deno.test("decode() rejects a bad IPv4 version or header length", () => {
  bad(Malformed.IP_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { ihl: 4 })));
  bad(Malformed.IP_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { ihl: 0 })));
  bad(Malformed.IP_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { version: 6 })));
  bad(Malformed.IP_INVALID, eth(EtherType.IPV6, tcpSyn()));
  bad(Malformed.IP_INVALID, ipv4(6, tcp(1, 2, SYN), { version: 5 }), LinkType.RAW);
});

Deno.test("decode() rejects an IPv4 total length below the header length", () => {
  bad(Malformed.IP_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { totalLen: 19 })));
  bad(Malformed.IP_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { totalLen: 0 })));
  bad(
    Malformed.IP_INVALID,
    eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { options: [1, 1, 1, 1], totalLen: 22 })),
  );
});

Deno.test("decode() rejects an IP declared length larger than the wire frame", () => {
  bad(Malformed.IP_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN), { totalLen: 41 })));
  bad(Malformed.IP_INVALID, eth(EtherType.IPV6, ipv6(6, tcp(1, 2, SYN), { payloadLen: 21 })));
  bad(Malformed.IP_INVALID, ipv4(17, udp(1, 2), { totalLen: 1500 }), LinkType.RAW);
  // A snaplen cut is not a lie: the wire length covers the declared length.
  const frame = eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(1000))));
  assertEquals(good(...cut(frame, 96)).payloadLen, 96 - 42);
  bad(Malformed.IP_INVALID, frame.slice(0, 96), LinkType.EN10MB, 500);
});

Deno.test("decode() rejects a TCP data offset below 5", () => {
  for (const doff of [0, 4]) {
    bad(Malformed.L4_INVALID, eth(EtherType.IPV4, ipv4(6, tcp(1, 2, SYN, undefined, { doff }))));
  }
  bad(Malformed.L4_INVALID, eth(EtherType.IPV6, ipv6(6, tcp(1, 2, SYN, undefined, { doff: 3 }))));
});

Deno.test("decode() rejects a UDP length below 8", () => {
  for (const len of [0, 7]) {
    bad(Malformed.L4_INVALID, eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(4), len))));
  }
});

Deno.test("decode() rejects truncated IPv6 extension headers", () => {
  // Header claims 3 units (32 bytes) but the packet ends after 8.
  const frame = eth(EtherType.IPV6, ipv6(17, new Uint8Array(0), { ext: [{ type: 0 }] }));
  frame[14 + 41] = 3;
  bad(Malformed.IP_TRUNCATED, frame);
  for (const type of [0, 43, 60, 44, 51] as const) {
    const f = eth(EtherType.IPV6, ipv6(17, udp(1, 2), { ext: [{ type }] }));
    bad(Malformed.IP_TRUNCATED, ...cut(f, 14 + 40 + 1));
    bad(Malformed.IP_TRUNCATED, ...cut(f, 14 + 40 + 6));
  }
});

Deno.test("decode() never reads past capLen nor reports payload beyond it", () => {
  const frame = eth(EtherType.IPV4, ipv4(17, udp(1, 2, bytes(50))));
  for (let n = 0; n <= frame.length; n++) {
    const { ok, m } = dec(frame.slice(0, n), LinkType.EN10MB, frame.length);
    if (ok) assert(m.payloadOffset + m.payloadLen <= AT + n);
    assertEquals(ok, n >= 42, `cut at ${n}`);
  }
});

// ---- cross-check with tcpdump ----

/** tcpdump's rendering of TCP flags (print-tcp.c order). */
function tcpdumpFlags(flags: number): string {
  const s = [...["F", "S", "R", "P", ".", "U", "E", "W"]].filter((_, i) => flags & (1 << i)).join(
    "",
  );
  return s === "" ? "none" : s;
}

function dotted(word: number): string {
  return [word >>> 24, (word >> 16) & 0xff, (word >> 8) & 0xff, word & 0xff].join(".");
}

async function tcpdump(file: string, ...args: string[]): Promise<string[]> {
  const out = await new Deno.Command("/usr/bin/tcpdump", {
    args: ["-nn", "-tt", "-r", file, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const err = new TextDecoder().decode(out.stderr);
  assert(out.success, `tcpdump failed: ${err}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

Deno.test("decode() agrees with tcpdump on a built capture of every Ethernet shape", async () => {
  const frames = [
    eth(EtherType.IPV4, ipv4(6, tcp(40000, 80, SYN), { src: "1.2.3.4", dst: "10.0.0.1" })),
    eth(
      EtherType.IPV4,
      ipv4(6, tcp(443, 51000, SYN | ACK, bytes(10)), { src: "5.6.7.8", dst: "10.0.0.1" }),
      [3],
    ),
    eth(EtherType.IPV4, ipv4(6, tcp(1, 30120, SYN | ECE | CWR), { src: "9.9.9.9" }), [{
      tpid: EtherType.QINQ,
      id: 4,
    }, 5]),
    eth(EtherType.IPV4, ipv4(6, tcp(22, 2222, RST | ACK, bytes(3), { options: [1, 1, 1, 1] }))),
    eth(
      EtherType.IPV4,
      ipv4(6, tcp(1000, 2000, FIN | PSH | ACK | URG, bytes(30)), { options: [0x94, 4, 0, 0] }),
    ),
    eth(
      EtherType.IPV4,
      ipv4(17, udp(161, 40000, bytes(40)), { src: "192.0.2.9", dst: "10.10.10.10" }),
    ),
    eth(EtherType.IPV4, ipv4(17, udp(53, 22, bytes(60), 3000), { mf: true, id: 77 })),
    eth(EtherType.IPV4, ipv4(17, bytes(80), { fragOffset: 1480, id: 77 })),
    eth(EtherType.IPV4, ipv4(1, icmp(8, 0, bytes(16)))),
    eth(EtherType.IPV6, ipv6(6, tcp(5555, 443, SYN), { src: "2001:db8::a", dst: "2001:db8::b" })),
    eth(EtherType.IPV6, ipv6(17, udp(4500, 500, bytes(12)), { ext: [{ type: 0 }, { type: 60 }] })),
    eth(EtherType.IPV6, ipv6(58, icmpv6(128, 0, bytes(8)))),
    eth(EtherType.IPV4, ipv4(47, gre(EtherType.IPV4, ipv4(6, tcp(7, 8, SYN)), { k: true }))),
    eth(EtherType.ARP, arp()),
  ];
  const builder = new PcapBuilder(LinkType.EN10MB);
  frames.forEach((f, i) => builder.add(f, 1_700_000_000_000_000 + i * 1_250_001));
  assertEquals(builder.count, frames.length);
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(file, builder.bytes());
    const lines = await tcpdump(file);
    assertEquals(lines.length, frames.length, "tcpdump packet count");
    let tcpSeen = 0;
    walkCapture(await Deno.readFile(file), (buf, offset, capLen, wireLen, tsUs) => {
      const i = tcpSeen++;
      meta.wireLen = wireLen;
      meta.capLen = capLen;
      meta.tsUs = tsUs;
      assert(decode(buf, offset, capLen, LinkType.EN10MB, meta), `frame ${i}`);
      const line = lines[i];
      assert(
        line.startsWith(`${Math.floor(tsUs / 1e6)}.${String(tsUs % 1e6).padStart(6, "0")} `),
        line,
      );
      if (meta.ipVersion === 4 && meta.hasL4 && (meta.protocol === 6 || meta.protocol === 17)) {
        const pair = `${dotted(meta.src[3])}.${meta.srcPort} > ${
          dotted(meta.dst[3])
        }.${meta.dstPort}`;
        assert(line.includes(pair), `frame ${i}: expected "${pair}" in: ${line}`);
      }
      if (meta.protocol === 6 && meta.hasL4) {
        assert(
          line.includes(`Flags [${tcpdumpFlags(meta.tcpFlags)}]`),
          `frame ${i} flags in: ${line}`,
        );
      }
      if (meta.fragment === Fragment.NON_FIRST) assert(line.includes("ip-proto-17"), line);
      if (meta.protocol === 1) assert(line.includes("ICMP echo request"), line);
      if (meta.protocol === 58) assert(line.includes("ICMP6, echo request"), line);
      if (meta.hasInner) assert(line.includes(`GRE`), line);
      if (meta.ipVersion === 0) assert(line.includes("ARP"), line);
    });
    assertEquals(tcpSeen, frames.length);
    // tcpdump -e shows the VLAN tags; compare the ids it prints with ours.
    const vlanLines = await tcpdump(file, "-e", "vlan");
    assertEquals(vlanLines.length, 2);
    assert(vlanLines[0].includes("vlan 3"), vlanLines[0]);
    assert(vlanLines[1].includes("vlan 4") && vlanLines[1].includes("vlan 5"), vlanLines[1]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("decode() agrees with tcpdump on captures of every link type", async () => {
  const v4 = ipv4(6, tcp(40001, 8080, SYN | ACK), { src: "1.1.1.1", dst: "2.2.2.2" });
  const v6 = ipv6(17, udp(5353, 53, bytes(20)), { src: "2001:db8::1", dst: "2001:db8::2" });
  const shapes: [number, Uint8Array, Uint8Array][] = [
    [LinkType.EN10MB, eth(EtherType.IPV4, v4), eth(EtherType.IPV6, v6)],
    [LinkType.LINUX_SLL, sll(EtherType.IPV4, v4), sll(EtherType.IPV6, v6)],
    [LinkType.LINUX_SLL2, sll2(EtherType.IPV4, v4), sll2(EtherType.IPV6, v6)],
    [LinkType.RAW, v4, v6],
    [LinkType.NULL, nullLink(2, v4), nullLink(30, v6)],
    [LinkType.LOOP, loop(2, v4), loop(24, v6)],
  ];
  const file = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    for (const [linktype, a, b] of shapes) {
      await Deno.writeFile(file, new PcapBuilder(linktype).add(a, 1000).add(b, 2000).bytes());
      const lines = await tcpdump(file);
      assertEquals(lines.length, 2, `linktype ${linktype}`);
      const ma = good(a, linktype);
      assert(
        lines[0].includes(
          `${dotted(ma.src[3])}.${ma.srcPort} > ${dotted(ma.dst[3])}.${ma.dstPort}: Flags [S.]`,
        ),
        lines[0],
      );
      const mb = good(b, linktype);
      assertEquals([mb.ipVersion, mb.srcPort, mb.dstPort], [6, 5353, 53]);
      assert(lines[1].includes("2001:db8::1.5353 > 2001:db8::2.53"), lines[1]);
    }
  } finally {
    await Deno.remove(file);
  }
});

// ---- real captures ----

const CORPUS = `${import.meta.dirname}/../../../../shared/corpus/stopddos`;

/** Counts of decoded packets matching each predicate, plus the totals. */
function decodeCapture(
  name: string,
  data: Uint8Array,
  predicates: Record<string, (m: PacketMeta) => boolean>,
): { total: number; malformed: number; counts: Record<string, number> } {
  const counts: Record<string, number> = Object.fromEntries(
    Object.keys(predicates).map((k) => [k, 0]),
  );
  const entries = Object.entries(predicates);
  let total = 0;
  let malformed = 0;
  const m = new PacketMeta();
  const info = walkCapture(data, (buf, offset, capLen, wireLen, tsUs) => {
    m.tsUs = tsUs;
    m.capLen = capLen;
    m.wireLen = wireLen;
    total++;
    if (!decode(buf, offset, capLen, LinkType.EN10MB, m)) {
      malformed++;
      return;
    }
    for (const [k, p] of entries) if (p(m)) counts[k]++;
  });
  assertEquals(info.linktype, LinkType.EN10MB, name);
  return { total, malformed, counts };
}

const isTcp = (m: PacketMeta) => m.protocol === IpProto.TCP;
const isUdp = (m: PacketMeta) => m.protocol === IpProto.UDP;
const synOnly = (m: PacketMeta) => isTcp(m) && m.hasL4 && (m.tcpFlags & (SYN | ACK)) === SYN;
const synAck = (m: PacketMeta) => isTcp(m) && m.hasL4 && (m.tcpFlags & (SYN | ACK)) === (SYN | ACK);
const udpSrc = (port: number) => (m: PacketMeta) => isUdp(m) && m.hasL4 && m.srcPort === port;

/** Decoder predicates paired with the tcpdump filter that selects the same packets. */
const COMMON: Record<string, [string, (m: PacketMeta) => boolean]> = {
  ipv4: ["ip", (m) => m.ipVersion === 4],
  ipv6: ["ip6", (m) => m.ipVersion === 6],
  tcp: ["tcp", isTcp],
  udp: ["udp", isUdp],
  icmp: ["icmp", (m) => m.ipVersion === 4 && m.protocol === IpProto.ICMP],
  synOnly: ["tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", (m) => m.ipVersion === 4 && synOnly(m)],
  synAck: [
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)",
    (m) => m.ipVersion === 4 && synAck(m),
  ],
  fragFirst: [
    "ip[6:2] & 0x3fff == 0x2000",
    (m) => m.ipVersion === 4 && m.fragment === Fragment.FIRST,
  ],
  fragLater: [
    "ip[6:2] & 0x1fff != 0",
    (m) => m.ipVersion === 4 && m.fragment === Fragment.NON_FIRST,
  ],
};

interface CaptureCase {
  file: string;
  /** Capture-specific predicates and their tcpdump filters. */
  extra: Record<string, [string, (m: PacketMeta) => boolean]>;
  /** Facts from LABELS.json: expected share of each predicate (fraction) with tolerance. */
  shares: Record<string, [number, number]>;
  total: number;
}

const CAPTURES: CaptureCase[] = [
  {
    file: "pkt.TCP.synflood.spoofed.pcap",
    total: 37841,
    extra: {
      syn25565: [
        "tcp[tcpflags] == tcp-syn and tcp dst port 25565",
        (m) => m.tcpFlags === SYN && m.dstPort === 25565,
      ],
    },
    shares: { syn25565: [1, 0] },
  },
  {
    file: "pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng",
    total: 9878,
    extra: {
      synEceCwr: [
        "tcp[tcpflags] == (tcp-syn|tcp-ece|tcp-cwr)",
        (m) => m.tcpFlags === (SYN | ECE | CWR),
      ],
      rst: ["tcp[tcpflags] & tcp-rst != 0", (m) => isTcp(m) && (m.tcpFlags & RST) !== 0],
      dst30120: ["tcp dst port 30120", (m) => isTcp(m) && m.dstPort === 30120],
    },
    shares: { synEceCwr: [0.976, 0.002], dst30120: [1, 0] },
  },
  {
    file: "amp.TCP.reflection.SYNACK.pcap",
    total: 8000,
    extra: {
      synAckWeb: [
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack) and (tcp src port 80 or tcp src port 443)",
        (m) => synAck(m) && (m.srcPort === 80 || m.srcPort === 443),
      ],
    },
    shares: { synAckWeb: [0.83, 0.005] },
  },
  {
    file: "amp.TCP.syn.optionallyACK.optionallysamePort.pcapng",
    total: 896,
    extra: {},
    // LABELS.json says 60% / 38%; tcpdump counts 542 and 354 of 896.
    shares: { synAck: [0.605, 0.005], synOnly: [0.395, 0.005] },
  },
  {
    file: "amp.UDP.snmp.src161.pcapng",
    total: 4373,
    extra: { src161: ["udp src port 161", udpSrc(161)] },
    shares: { src161: [0.933, 0.005] },
  },
  {
    file: "amp.UDP.isakmp.pcap",
    total: 3984,
    extra: { src4500: ["udp src port 4500", udpSrc(4500)] },
    shares: { src4500: [1, 0] },
  },
  {
    file: "amp.UDP.bacnet.IOT.37810.pcapng",
    total: 9617,
    extra: {
      src47808: ["udp src port 47808", udpSrc(47808)],
      src37810: ["udp src port 37810", udpSrc(37810)],
    },
    shares: { src47808: [0.70, 0.005], src37810: [0.247, 0.005] },
  },
  {
    file: "amp.dns.RRSIG.fragmented.pcap",
    total: 4412,
    extra: {
      src53: ["udp src port 53", udpSrc(53)],
      // tcpdump's ip6 proto test reads only the fixed header's next header.
      ip6udp: ["ip6 and udp", (m) => m.ipVersion === 6 && isUdp(m)],
    },
    shares: { src53: [0.124, 0.002], fragLater: [0.165, 0.002], fragFirst: [0.109, 0.002] },
  },
];

for (const c of CAPTURES) {
  Deno.test(`decode() matches tcpdump's counts on ${c.file}`, async () => {
    const path = `${CORPUS}/${c.file}`;
    const data = await Deno.readFile(path);
    const all = { ...COMMON, ...c.extra };
    const predicates = Object.fromEntries(Object.entries(all).map(([k, [, p]]) => [k, p]));
    const { total, malformed, counts } = decodeCapture(c.file, data, predicates);
    assertEquals(total, c.total, "packets");
    assertEquals(malformed, 0, "malformed");
    assertEquals((await tcpdump(path, "-q")).length, total, "tcpdump packet count");
    for (const [k, [filter]] of Object.entries(all)) {
      const expected = (await tcpdump(path, "-q", filter)).length;
      assertEquals(counts[k], expected, `${k}: decoder vs tcpdump '${filter}'`);
    }
    for (const [k, [share, tolerance]] of Object.entries(c.shares)) {
      const got = counts[k] / total;
      assert(
        Math.abs(got - share) <= tolerance + 1e-9,
        `${k}: share ${got.toFixed(4)}, expected ${share}±${tolerance}`,
      );
    }
  });
}

Deno.test("decode() sees the DNS capture's responses from port 53 and their later fragments", async () => {
  const data = await Deno.readFile(`${CORPUS}/amp.dns.RRSIG.fragmented.pcap`);
  const { counts } = decodeCapture("dns", data, {
    src53: udpSrc(53),
    laterUdpFragments: (m) =>
      m.fragment === Fragment.NON_FIRST && isUdp(m) && !m.hasL4 && m.srcPort === 0,
    firstWith53: (m) => m.fragment === Fragment.FIRST && m.srcPort === 53,
  });
  assert(counts.src53 > 500, `src53 ${counts.src53}`);
  assert(counts.laterUdpFragments > 700, `later fragments ${counts.laterUdpFragments}`);
  assert(counts.firstWith53 > 400, `first fragments from 53 ${counts.firstWith53}`);
});
