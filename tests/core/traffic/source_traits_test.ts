// Per-source traits of a Window's top sources (issue 16 item 6): pure SYNs, the protocol class
// and the TTL of each source's own packets, kept beside its Space-Saving counter, through real
// decoded frames, kernel-sampling copies, flow-record shares, evictions and window merges.
import { decode, LinkType, PacketMeta, TcpFlag } from "../../../core/packet/mod.ts";
import { Window } from "../../../core/traffic/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { bytes, eth, EtherType, icmp, ipv4, ipv6, tcp, udp } from "../../support/frames.ts";

const { SYN, ACK, PSH, FIN, ECE, CWR } = TcpFlag;
const VICTIM = "198.18.0.10";
const T = 1_700_000_000;

function syn(src: string, ttl = 61, flags: number = SYN): Uint8Array {
  return eth(EtherType.IPV4, ipv4(6, tcp(1234, 80, flags), { src, dst: VICTIM, ttl }));
}

function client(flags: number, ttl = 63): Uint8Array {
  const data = flags & PSH ? bytes(200) : undefined;
  return eth(
    EtherType.IPV4,
    ipv4(6, tcp(40000, 80, flags, data), { src: "198.18.0.50", dst: VICTIM, ttl }),
  );
}

function decoded(frame: Uint8Array): PacketMeta {
  const m = new PacketMeta();
  m.wireLen = m.capLen = frame.length;
  assert(decode(frame, 0, frame.length, LinkType.EN10MB, m), "decode() returned false");
  return m;
}

function windowOf(frames: Uint8Array[], topK?: number): Window {
  const w = new Window({ topK });
  w.reset(T);
  for (const f of frames) w.add(decoded(f));
  return w;
}

function traitsOf(w: Window, ip: string) {
  const e = w.snapshot(64, true).top_src_ips.find((s) => s.ip === ip);
  assert(e, `${ip} is not a top source`);
  return { count: e.count, ...e.traits };
}

Deno.test("Window.snapshot(n, true) gives each top source the pure SYNs, protocol and TTL of its own packets", () => {
  // A client's handshake, request, answer acknowledgements and close, a ping, one packet with
  // another TTL; a spoofed source's SYNs (one with ECN bits: still a pure SYN) in between.
  const frames = [
    client(SYN),
    syn("198.19.0.7"),
    client(ACK),
    client(PSH | ACK),
    syn("198.19.0.7"),
    syn("198.19.0.7", 61, SYN | ECE | CWR),
    client(ACK),
    client(ACK, 120),
    eth(EtherType.IPV4, ipv4(1, icmp(8, 0), { src: "198.18.0.50", dst: VICTIM, ttl: 63 })),
    client(FIN | ACK),
    client(SYN | ACK),
  ];
  const w = windowOf(frames);
  assertEquals(traitsOf(w, "198.18.0.50"), {
    count: 8,
    syn: 1,
    protocol: "tcp",
    protocol_other: 1,
    ttl: 63,
    ttl_other: 1,
  });
  assertEquals(traitsOf(w, "198.19.0.7"), {
    count: 3,
    syn: 3,
    protocol: "tcp",
    protocol_other: 0,
    ttl: 61,
    ttl_other: 0,
  });
  // Without asking, snapshots stay as they were: no traits.
  assertEquals(w.snapshot().top_src_ips.map((e) => Object.keys(e).sort()), [
    ["count", "ip"],
    ["count", "ip"],
  ]);
});

Deno.test("Window counts a source's traits alike packet by packet, as sampled copies and as a flow record's share", () => {
  const v6 = eth(
    EtherType.IPV6,
    ipv6(17, udp(53, 4444, bytes(100)), { src: "2001:2::9", dst: "2001:2::1", hopLimit: 50 }),
  );
  const one = windowOf([...Array(40).fill(syn("198.19.0.7")), ...Array(25).fill(v6)]);
  const copies = new Window();
  copies.reset(T);
  copies.add(decoded(syn("198.19.0.7")), 40);
  copies.add(decoded(v6), 25);
  const flows = new Window();
  flows.reset(T);
  flows.addWeighted(decoded(syn("198.19.0.7")), 40, 40 * 54);
  flows.addWeighted(decoded(v6), 25, 25 * 162);
  for (const w of [one, copies, flows]) {
    assertEquals(traitsOf(w, "198.19.0.7"), {
      count: 40,
      syn: 40,
      protocol: "tcp",
      protocol_other: 0,
      ttl: 61,
      ttl_other: 0,
    });
    assertEquals(traitsOf(w, "2001:2::9"), {
      count: 25,
      syn: 0,
      protocol: "udp",
      protocol_other: 0,
      ttl: 50,
      ttl_other: 0,
    });
  }
});

Deno.test("Window starts a source's traits afresh when its top-source counter is taken by another source", () => {
  // Two counters: 198.19.0.2 (UDP, TTL 30) is evicted by 198.19.0.3, then comes back with SYNs.
  const udp30 = eth(
    EtherType.IPV4,
    ipv4(17, udp(5000, 53, bytes(20)), { src: "198.19.0.2", dst: VICTIM, ttl: 30 }),
  );
  const w = windowOf([
    ...Array(5).fill(syn("198.19.0.1")),
    udp30,
    syn("198.19.0.3", 90),
    syn("198.19.0.1"),
    syn("198.19.0.2", 44),
    syn("198.19.0.2", 44),
    syn("198.19.0.2", 44),
  ], 2);
  // Only what was counted since it took a counter again: 3 SYNs at TTL 44, none of its UDP.
  assertEquals(traitsOf(w, "198.19.0.2"), {
    count: 3, // its estimate 5 minus the error 2 it took the counter over with
    syn: 3,
    protocol: "tcp",
    protocol_other: 0,
    ttl: 44,
    ttl_other: 0,
  });
});

Deno.test("Window.merge() adds source traits and keeps the protocol and TTL more packets carry", () => {
  const a = windowOf([
    ...Array(3).fill(syn("198.19.0.7", 64)),
    client(ACK),
  ]);
  const b = new Window();
  b.reset(T + 1);
  for (const f of [...Array(5).fill(syn("198.19.0.7", 128, ACK)), client(ACK), client(ACK, 70)]) {
    b.add(decoded(f));
  }
  a.merge(b);
  // 5 packets at TTL 128 outweigh 3 at TTL 64; the client's one TTL 70 packet is another TTL.
  assertEquals(traitsOf(a, "198.19.0.7"), {
    count: 8,
    syn: 3,
    protocol: "tcp",
    protocol_other: 0,
    ttl: 128,
    ttl_other: 3,
  });
  assertEquals(traitsOf(a, "198.18.0.50"), {
    count: 3,
    syn: 0,
    protocol: "tcp",
    protocol_other: 0,
    ttl: 63,
    ttl_other: 1,
  });
});
