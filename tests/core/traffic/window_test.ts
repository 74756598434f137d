import {
  Fragment,
  IpProto,
  Malformed,
  PacketMeta,
  parseAddress,
  TcpFlag,
} from "../../../core/packet/mod.ts";
import { tcpFlagsName, Window, type WindowStats } from "../../../core/traffic/mod.ts";
import { assert, assertAlmostEquals, assertEquals } from "../../support/assert.ts";
import { xorshift32 } from "../../support/random.ts";

interface Packet {
  src?: string;
  dst?: string;
  proto?: number;
  len: number;
  ttl?: number;
  flags?: number;
  sport?: number;
  dport?: number;
  fragment?: number;
  ipVersion?: number;
  malformed?: number;
  tsUs?: number;
}

/** A hand-built decoded packet (IP version from the source address text). */
function meta(p: Packet): PacketMeta {
  const m = new PacketMeta();
  m.tsUs = p.tsUs ?? 0;
  m.wireLen = p.len;
  m.capLen = p.len;
  m.malformed = p.malformed ?? Malformed.NONE;
  if (p.src !== undefined) {
    parseAddress(p.src, m.src);
    parseAddress(p.dst ?? "0.0.0.0", m.dst);
    m.ipVersion = p.ipVersion ?? (p.src.includes(":") ? 6 : 4);
    m.ttl = p.ttl ?? 64;
    m.protocol = p.proto ?? 0;
    m.fragment = p.fragment ?? Fragment.NONE;
    const hasL4 = m.fragment !== Fragment.NON_FIRST;
    if (hasL4 && (m.protocol === IpProto.TCP || m.protocol === IpProto.UDP)) {
      m.srcPort = p.sport ?? 0;
      m.dstPort = p.dport ?? 0;
    }
    if (hasL4 && m.protocol === IpProto.TCP) m.tcpFlags = p.flags ?? 0;
    m.hasL4 = hasL4 && m.protocol !== 0;
  } else {
    m.ipVersion = p.ipVersion ?? 0;
    m.etherType = 0x0806;
  }
  return m;
}

function windowOf(packets: Packet[], start = 0, topK?: number): Window {
  const w = new Window({ topK });
  w.reset(start);
  for (const p of packets) w.add(meta(p));
  return w;
}

const { SYN, ACK, PSH, FIN, URG } = TcpFlag;
const T = 1_700_000_000;

/** One of everything; expected statistics below are worked out by hand. */
const MIXED: Packet[] = [
  { src: "10.0.0.1", dst: "192.0.2.10", proto: 6, flags: SYN, sport: 40000, dport: 80, len: 60 },
  { src: "10.0.0.1", dst: "192.0.2.10", proto: 6, flags: SYN, sport: 40001, dport: 80, len: 64 },
  {
    src: "192.0.2.10",
    dst: "10.0.0.1",
    proto: 6,
    flags: SYN | ACK,
    sport: 80,
    dport: 40000,
    ttl: 128,
    len: 65,
  },
  {
    src: "10.0.0.2",
    dst: "192.0.2.10",
    proto: 6,
    flags: ACK | PSH,
    sport: 40002,
    dport: 443,
    len: 1500,
  },
  {
    src: "10.0.0.3",
    dst: "192.0.2.10",
    proto: 6,
    flags: 0,
    sport: 1234,
    dport: 22,
    ttl: 255,
    len: 128,
  },
  {
    src: "10.0.0.3",
    dst: "192.0.2.10",
    proto: 6,
    flags: FIN | PSH | URG,
    sport: 1234,
    dport: 22,
    ttl: 255,
    len: 129,
  },
  { src: "2001:db8::1", dst: "2001:db8::2", proto: 17, sport: 53, dport: 5353, len: 256 },
  { src: "2001:db8::1", dst: "2001:db8::2", proto: 58, ttl: 255, len: 257 },
  { src: "10.0.0.2", dst: "192.0.2.10", proto: 1, len: 512 },
  { src: "10.0.0.4", dst: "192.0.2.10", proto: 47, len: 513 },
  {
    src: "10.0.0.5",
    dst: "192.0.2.10",
    proto: 17,
    sport: 5000,
    dport: 53,
    fragment: Fragment.FIRST,
    len: 1024,
  },
  { src: "10.0.0.5", dst: "192.0.2.10", proto: 17, fragment: Fragment.NON_FIRST, len: 1025 },
  { src: "10.0.0.6", dst: "192.0.2.10", proto: 132, len: 1501 },
  { len: 42 }, // ARP
  { len: 70, malformed: Malformed.IP_TRUNCATED, ipVersion: 4 },
];

const MIXED_STATS: WindowStats = {
  t: T,
  seconds: 1,
  packets: 15,
  bytes: 7146,
  pps: 15,
  bps: 57168,
  malformed: 1,
  ipv4: 11,
  ipv6: 2,
  non_ip: 1,
  outbound: { packets: 0, bytes: 0 },
  protocols: {
    tcp: { packets: 6, bytes: 1946 },
    udp: { packets: 3, bytes: 2305 },
    icmp: { packets: 2, bytes: 769 },
    gre: { packets: 1, bytes: 513 },
    other: { packets: 2, bytes: 1543 },
  },
  tcp_flags: { FIN: 1, SYN: 3, RST: 0, PSH: 2, ACK: 2, URG: 1, ECE: 0, CWR: 0 },
  tcp_flag_combos: { "SYN": 2, "SYN+ACK": 1, "ACK+PSH": 1, "NONE": 1, "FIN+PSH+URG": 1 },
  fragments: { first: 1, non_first: 1 },
  pkt_len_hist: {
    "0-64": 3,
    "65-128": 2,
    "129-256": 2,
    "257-512": 2,
    "513-1024": 2,
    "1025-1500": 2,
    "1500+": 1,
  },
  avg_pkt_len: 476.4,
  ttl: { "64": 9, "128": 1, "255": 3 },
  top_src_ips: [
    { ip: "10.0.0.1", count: 2 },
    { ip: "10.0.0.2", count: 2 },
    { ip: "10.0.0.3", count: 2 },
    { ip: "10.0.0.5", count: 2 },
    { ip: "2001:db8::1", count: 2 },
    { ip: "10.0.0.4", count: 1 },
    { ip: "10.0.0.6", count: 1 },
    { ip: "192.0.2.10", count: 1 },
  ],
  top_dst_ips: [
    { ip: "192.0.2.10", count: 10 },
    { ip: "2001:db8::2", count: 2 },
    { ip: "10.0.0.1", count: 1 },
  ],
  top_src_ports: [
    { port: 1234, count: 2 },
    { port: 53, count: 1 },
    { port: 80, count: 1 },
    { port: 5000, count: 1 },
    { port: 40000, count: 1 },
    { port: 40001, count: 1 },
    { port: 40002, count: 1 },
  ],
  top_dst_ports: [
    { port: 22, count: 2 },
    { port: 80, count: 2 },
    { port: 53, count: 1 },
    { port: 443, count: 1 },
    { port: 5353, count: 1 },
    { port: 40000, count: 1 },
  ],
  src_count: 8,
  // Sources 2,1,2,2,2,1,2,1 over 13 IP packets: log2(13) - 10/13.
  src_ip_entropy: 2.931,
  dns: { total: 0, unique: 0, top: [], top_zones: [], qtypes: {} },
};

Deno.test("Window.snapshot() reports every field for hand-built packets", () => {
  const w = windowOf(MIXED, T);
  assertEquals(w.snapshot(), MIXED_STATS);
  assertEquals(w.packets, 15);
  assertEquals(w.bytes, 7146);
  // Snapshots do not disturb the window.
  assertEquals(w.snapshot(), MIXED_STATS);
});

Deno.test("Window.snapshot() cuts the top lists at topN", () => {
  const s = windowOf(MIXED, T).snapshot(2);
  assertEquals(s.top_src_ips, MIXED_STATS.top_src_ips.slice(0, 2));
  assertEquals(s.top_dst_ips, MIXED_STATS.top_dst_ips.slice(0, 2));
  assertEquals(s.top_src_ports, MIXED_STATS.top_src_ports.slice(0, 2));
  assertEquals(s.top_dst_ports, MIXED_STATS.top_dst_ports.slice(0, 2));
});

Deno.test("Window.snapshot() of an empty window is all zeros", () => {
  const w = new Window();
  w.reset(T);
  const s = w.snapshot();
  assertEquals(s.t, T);
  assertEquals([s.packets, s.bytes, s.pps, s.bps, s.avg_pkt_len], [0, 0, 0, 0, 0]);
  assertEquals([s.src_count, s.src_ip_entropy], [0, 0]);
  assertEquals([s.top_src_ips, s.top_dst_ips, s.top_src_ports, s.top_dst_ports], [[], [], [], []]);
  assertEquals([s.ttl, s.tcp_flag_combos], [{}, {}]);
  assertEquals(Object.values(s.pkt_len_hist), [0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("Window.add() counts malformed frames in packets and bytes only", () => {
  const s = windowOf([
    {
      src: "10.0.0.1",
      dst: "10.0.0.2",
      proto: 6,
      flags: SYN,
      sport: 1,
      dport: 2,
      len: 60,
      malformed: Malformed.L4_TRUNCATED,
    },
    { len: 2000, malformed: Malformed.LINK_TRUNCATED },
  ], T).snapshot();
  const empty = new Window();
  empty.reset(T);
  assertEquals(s, {
    ...empty.snapshot(),
    packets: 2,
    bytes: 2060,
    pps: 2,
    bps: 16480,
    avg_pkt_len: 1030,
    malformed: 2,
  });
});

Deno.test("Window.add() counts ports of TCP and UDP only, and flags of TCP only", () => {
  const s = windowOf([
    { src: "10.0.0.1", dst: "10.0.0.2", proto: 6, flags: 0, sport: 7, dport: 8, len: 60 },
    { src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 9, dport: 10, len: 60 },
    { src: "10.0.0.1", dst: "10.0.0.2", proto: 1, len: 60 },
    { src: "10.0.0.1", dst: "10.0.0.2", proto: 132, len: 60 },
    { src: "10.0.0.1", dst: "10.0.0.2", proto: 6, fragment: Fragment.NON_FIRST, len: 60 },
  ], T).snapshot();
  assertEquals(s.top_src_ports, [{ port: 7, count: 1 }, { port: 9, count: 1 }]);
  assertEquals(s.top_dst_ports, [{ port: 8, count: 1 }, { port: 10, count: 1 }]);
  // The null-flags TCP packet is a "NONE" combo; the non-first fragment has no TCP header.
  assertEquals(s.tcp_flag_combos, { NONE: 1 });
  assertEquals(s.protocols.tcp.packets, 2);
  assertEquals(s.fragments, { first: 0, non_first: 1 });
});

Deno.test("Window.merge() sums two windows", () => {
  const a = windowOf(MIXED.slice(0, 7), T);
  const b = windowOf(MIXED.slice(7), T + 1);
  a.merge(b);
  const union = windowOf(MIXED, T);
  union.reset(T, 2);
  for (const p of MIXED) union.add(meta(p));
  const expected: WindowStats = { ...MIXED_STATS, seconds: 2, pps: 7.5, bps: 28584 };
  assertEquals(union.snapshot(), expected);
  assertEquals(a.snapshot(), expected);
  assertEquals([a.start, a.seconds], [T, 2]);
});

Deno.test("Window.merge() covers from the earliest start to the latest end", () => {
  const a = new Window();
  const b = new Window();
  a.reset(T + 5);
  b.reset(T, 3);
  a.merge(b);
  assertEquals([a.start, a.seconds], [T, 6]);
});

Deno.test("Window.merge() of many one-second windows equals one window of them all", () => {
  const next = xorshift32(99);
  const packets: Packet[] = [];
  for (let i = 0; i < 30_000; i++) {
    const heavy = i % 3 === 0;
    packets.push({
      src: heavy ? "198.51.100.7" : `10.${next() & 255}.${next() & 255}.${next() & 255}`,
      dst: i % 2 ? "192.0.2.1" : "192.0.2.2",
      proto: heavy ? 17 : 6,
      sport: next() & 0xffff,
      dport: heavy ? 53 : 443,
      flags: SYN,
      len: 40 + (next() % 1400),
      ttl: next() & 255,
    });
  }
  const total = new Window();
  total.reset(T, 10);
  for (const p of packets) total.add(meta(p));
  const merged = new Window();
  merged.reset(T);
  const second = new Window();
  for (let s = 0; s < 10; s++) {
    second.reset(T + s);
    for (const p of packets.slice(s * 3000, (s + 1) * 3000)) second.add(meta(p));
    if (s === 0) merged.reset(T);
    merged.merge(second);
  }
  const a = merged.snapshot(3);
  const b = total.snapshot(3);
  // Exact parts are equal; the sketches agree on what matters.
  // (random source addresses and ports overflow their top-K tables, where merging is approximate)
  const exact = (s: WindowStats) => ({ ...s, top_src_ips: [], top_src_ports: [], src_count: 0 });
  assertEquals(exact(a), exact(b));
  assertEquals(a.top_src_ips[0], { ip: "198.51.100.7", count: 10_000 });
  assertEquals(a.src_count, b.src_count);
});

Deno.test("Window.reset() empties the window and reuses it", () => {
  const w = windowOf(MIXED, T);
  w.reset(T + 1);
  const fresh = new Window();
  fresh.reset(T + 1);
  assertEquals(w.snapshot(), fresh.snapshot());
  assertEquals([w.start, w.seconds, w.packets], [T + 1, 1, 0]);
  for (const p of MIXED) w.add(meta(p));
  assertEquals(w.snapshot(), { ...MIXED_STATS, t: T + 1 });
});

Deno.test("Window statistics do not depend on packet order while the keys fit", () => {
  const shuffled = [...MIXED];
  const next = xorshift32(5);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  // Runs of one address, alternation, and everything in between count the same.
  const runs = MIXED.flatMap((p) => [p, p, p]);
  const alternating = [...MIXED, ...MIXED, ...MIXED];
  assertEquals(windowOf(shuffled, T).snapshot(), MIXED_STATS);
  assertEquals(windowOf(runs, T).snapshot(), windowOf(alternating, T).snapshot());
});

Deno.test("Window top lists keep a few heavy hitters exact among random noise", () => {
  const w = new Window();
  w.reset(T);
  const next = xorshift32(1234);
  const heavy = ["203.0.113.1", "203.0.113.2", "2001:db8::bad"];
  const left = [30_000, 20_000, 10_000];
  const m = new PacketMeta();
  m.wireLen = 60;
  m.protocol = IpProto.UDP;
  m.ttl = 64;
  parseAddress("192.0.2.80", m.dst);
  let noise = 0;
  for (let i = 0; left.some((n) => n > 0); i++) {
    const h = i % 3;
    if (left[h] > 0) {
      parseAddress(heavy[h], m.src);
      m.ipVersion = h === 2 ? 6 : 4;
      m.srcPort = 53;
      m.dstPort = 4444;
      w.add(m);
      left[h]--;
    }
    // Three spoofed sources, ports and TTLs per heavy packet.
    for (let j = 0; j < 3; j++, noise++) {
      m.ipVersion = 4;
      m.src.set([0, 0, 0xffff, next()]);
      m.srcPort = next() & 0xffff;
      m.dstPort = 4444;
      w.add(m);
    }
  }
  const s = w.snapshot(3);
  assertEquals(s.top_src_ips, [
    { ip: "203.0.113.1", count: 30_000 },
    { ip: "203.0.113.2", count: 20_000 },
    { ip: "2001:db8::bad", count: 10_000 },
  ]);
  assertEquals(s.top_dst_ips, [{ ip: "192.0.2.80", count: 60_000 + noise }]);
  assertEquals(s.top_dst_ports, [{ port: 4444, count: 60_000 + noise }]);
  assertEquals(s.top_src_ports[0], { port: 53, count: 60_000 + countPort53(noise) });
  // About noise + 3 distinct sources.
  assertAlmostEquals(s.src_count, noise + 3, (noise + 3) * 0.02);
});

Deno.test("Window.snapshot() estimates the entropy of sources", () => {
  const entropy = (sources: string[], each: number) => {
    const packets: Packet[] = [];
    for (let i = 0; i < each; i++) {
      for (const src of sources) packets.push({ src, dst: "192.0.2.1", proto: 17, len: 100 });
    }
    return windowOf(packets, T).snapshot().src_ip_entropy;
  };
  assertEquals(entropy(["10.0.0.1"], 100), 0);
  assertEquals(entropy(["10.0.0.1", "10.0.0.2"], 50), 1);
  assertEquals(entropy(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], 25), 2);
  assertEquals(entropy(Array.from({ length: 8 }, (_, i) => `172.16.0.${i + 1}`), 10), 3);
  // Skewed: 3/4 and 1/4.
  assertEquals(
    windowOf([
      ...Array(300).fill({ src: "10.0.0.1", dst: "10.0.0.9", len: 60 }),
      ...Array(100).fill({ src: "10.0.0.2", dst: "10.0.0.9", len: 60 }),
    ], T).snapshot().src_ip_entropy,
    0.811,
  );
  // Many sources saturate near log2(4096) = 12 bits.
  const w = new Window();
  w.reset(T);
  const m = meta({ src: "10.0.0.1", dst: "10.0.0.9", len: 60 });
  const next = xorshift32(3);
  for (let i = 0; i < 200_000; i++) {
    m.src[3] = next();
    w.add(m);
  }
  const many = w.snapshot().src_ip_entropy;
  assert(many > 11.9 && many <= 12, `entropy of 200,000 sources: ${many}`);
});

Deno.test("Window keeps a per-window topK option", () => {
  const w = new Window({ topK: 4 });
  assertEquals(w.topK, 4);
  w.reset(T);
  for (let i = 0; i < 10; i++) {
    const m = meta({ src: `10.0.0.${i}`, dst: "10.0.0.200", len: 60 });
    for (let j = 0; j <= i; j++) w.add(m);
  }
  const s = w.snapshot(10);
  assertEquals(s.top_src_ips.length, 4);
  assertEquals(s.top_src_ips[0].ip, "10.0.0.9");
});

Deno.test("tcpFlagsName() spells flag combinations", () => {
  assertEquals(tcpFlagsName(0), "NONE");
  assertEquals(tcpFlagsName(SYN), "SYN");
  assertEquals(tcpFlagsName(SYN | ACK), "SYN+ACK");
  assertEquals(tcpFlagsName(ACK | PSH), "ACK+PSH");
  assertEquals(tcpFlagsName(FIN | ACK), "FIN+ACK");
  assertEquals(tcpFlagsName(TcpFlag.RST | ACK), "RST+ACK");
  assertEquals(tcpFlagsName(FIN | PSH | URG), "FIN+PSH+URG");
  assertEquals(tcpFlagsName(0xff), "SYN+FIN+RST+ACK+PSH+URG+ECE+CWR");
});

/** How many of the noise packets of the heavy-hitter test drew source port 53 (replayed). */
function countPort53(noise: number): number {
  const next = xorshift32(1234);
  let n = 0;
  for (let i = 0; i < noise; i++) {
    next();
    if ((next() & 0xffff) === 53) n++;
  }
  return n;
}

Deno.test("Window counts ports exactly past 16 bits, through merges and resets", () => {
  const m = new PacketMeta();
  m.ipVersion = 4;
  m.protocol = IpProto.UDP;
  m.wireLen = 60;
  m.src.set([0xc6120001, 0, 0, 0]);
  m.dst.set([0xc6120002, 0, 0, 0]);
  const a = new Window();
  a.reset(100);
  // 200,000 packets to port 27015 (three wraps of the 16-bit counters), 3 to each of 1000 others.
  for (let i = 0; i < 200_000; i++) {
    m.srcPort = 40000 + (i % 1000);
    m.dstPort = i < 3000 ? 1000 + (i % 1000) : 27015;
    a.add(m);
  }
  const s = a.snapshot(3);
  assertEquals(s.top_dst_ports, [
    { port: 27015, count: 197_000 },
    { port: 1000, count: 3 },
    { port: 1001, count: 3 },
  ]);
  assertEquals(s.top_src_ports[0], { port: 40000, count: 200 });
  const b = new Window();
  b.reset(101);
  b.merge(a);
  b.merge(a);
  assertEquals(b.snapshot(1).top_dst_ports, [{ port: 27015, count: 394_000 }]);
  // Counts under 65536 each that pass it when merged.
  const c = new Window();
  c.reset(101);
  m.dstPort = 443;
  for (let i = 0; i < 40_000; i++) c.add(m);
  b.merge(c);
  b.merge(c);
  assertEquals(b.snapshot(2).top_dst_ports, [
    { port: 27015, count: 394_000 },
    { port: 443, count: 80_000 },
  ]);
  b.reset(102);
  a.reset(102);
  assertEquals([b.snapshot().top_dst_ports, a.snapshot().top_dst_ports], [[], []]);
  m.dstPort = 53;
  a.add(m);
  assertEquals(a.snapshot().top_dst_ports, [{ port: 53, count: 1 }]);
});

Deno.test("Window top port lists are exact around the 2^15 and floor boundaries", () => {
  const m = new PacketMeta();
  m.ipVersion = 4;
  m.protocol = IpProto.UDP;
  m.wireLen = 60;
  m.srcPort = 40000;
  const fill = (w: Window, counts: Record<number, number>) => {
    for (const [port, n] of Object.entries(counts)) {
      m.dstPort = Number(port);
      for (let i = 0; i < n; i++) w.add(m);
    }
  };
  const a = new Window();
  a.reset(100);
  // Neighbouring ports (one 32-bit pair) under and over 2^15, and lists whose floor passes it.
  fill(a, { 7: 1, 80: 30_000, 81: 5, 1000: 33_000, 2000: 36_000, 3000: 32_767, 4000: 34_000 });
  assertEquals(a.snapshot(2).top_dst_ports, [
    { port: 2000, count: 36_000 },
    { port: 4000, count: 34_000 },
  ]);
  const b = new Window();
  b.reset(100);
  fill(b, { 80: 10_000, 81: 3, 3000: 2 });
  b.merge(a);
  assertEquals(b.snapshot(3).top_dst_ports, [
    { port: 80, count: 40_000 },
    { port: 2000, count: 36_000 },
    { port: 4000, count: 34_000 },
  ]);
  b.merge(a); // port 80 carries, 3000 reaches 65,536 exactly
  assertEquals(b.snapshot(4).top_dst_ports, [
    { port: 2000, count: 72_000 },
    { port: 80, count: 70_000 },
    { port: 4000, count: 68_000 },
    { port: 1000, count: 66_000 },
  ]);
  assertEquals(b.snapshot(100).top_dst_ports.slice(4), [
    { port: 3000, count: 65_536 },
    { port: 81, count: 13 },
    { port: 7, count: 2 },
  ]);
  // Just over a small floor (port 9, a pair after the list filled); ties keep the lower port.
  const c = new Window();
  c.reset(100);
  fill(c, { 5: 100, 6: 100, 9: 101, 10: 100 });
  assertEquals(c.snapshot(2).top_dst_ports, [{ port: 9, count: 101 }, { port: 5, count: 100 }]);
});

Deno.test("Window counts bytes exactly past the integer counters' range", () => {
  const window = new Window();
  window.reset(1_700_000_000);
  const m = new PacketMeta();
  let bytes = 0;
  // 40,000 packets (more than one fold of the integer counters), some longer than 65535 bytes.
  for (let i = 0; i < 40_000; i++) {
    m.reset();
    m.wireLen = i % 1000 === 0 ? 5_000_000_000 + i : i % 7 === 0 ? 70_000 : 60 + (i % 1500);
    m.ipVersion = i % 3 === 0 ? 0 : 4;
    m.protocol = IpProto.UDP;
    m.src.set([0, 0, 0xffff, i]);
    m.dst.set([0, 0, 0xffff, 7]);
    window.add(m);
    bytes += m.wireLen;
  }
  const s = window.snapshot();
  assertEquals(s.packets, 40_000);
  assertEquals(s.bytes, bytes);
  assertEquals(window.bytes, bytes);
  const p = s.protocols;
  assertEquals(p.tcp.bytes + p.udp.bytes + p.icmp.bytes + p.gre.bytes + p.other.bytes, bytes);
  assertEquals(Object.values(s.pkt_len_hist).reduce((a, b) => a + b, 0), 40_000);
});
