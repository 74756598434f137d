import { assert } from "../../support/assert.ts";
import { decode, LinkType, PacketMeta, TcpFlag, vectorOf } from "../../../core/packet/mod.ts";
import {
  arp,
  bytes,
  eth,
  EtherType,
  gre,
  icmp,
  icmpv6,
  ipv4,
  ipv6,
  loop,
  nullLink,
  sll,
  sll2,
  tcp,
  udp,
} from "../../support/frames.ts";

/** Small fast seeded PRNG, so a failure reproduces from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LINKTYPES = [
  LinkType.EN10MB,
  LinkType.LINUX_SLL,
  LinkType.LINUX_SLL2,
  LinkType.RAW,
  LinkType.IPV4,
  LinkType.IPV6,
  LinkType.NULL,
  LinkType.LOOP,
];

/** Valid IP packets of every shape the decoder follows. */
function packets(): [number, Uint8Array][] {
  const v4 = (
    proto: number,
    l4: Uint8Array,
    o = {},
  ): [number, Uint8Array] => [4, ipv4(proto, l4, o)];
  const v6 = (
    proto: number,
    l4: Uint8Array,
    o = {},
  ): [number, Uint8Array] => [6, ipv6(proto, l4, o)];
  const seg = tcp(1234, 80, TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR, bytes(12), {
    options: [2, 4, 5, 0xb4],
  });
  const dgram = udp(53, 4444, bytes(40));
  return [
    v4(6, seg),
    v4(6, seg, { options: [1, 1, 1, 1, 0x94, 4, 0, 0] }),
    v4(17, dgram),
    v4(17, dgram, { mf: true }),
    v4(17, bytes(64), { fragOffset: 1480 }),
    v4(1, icmp(3, 1, bytes(28))),
    v4(47, gre(EtherType.IPV4, ipv4(6, seg))),
    v4(47, gre(EtherType.IPV6, ipv6(17, dgram), { c: true, k: true, s: true })),
    v4(47, gre(EtherType.TEB, eth(EtherType.IPV4, ipv4(17, dgram), [9]), { k: true })),
    v4(132, bytes(30)),
    v6(6, seg),
    v6(17, dgram, { ext: [{ type: 0 }, { type: 43 }, { type: 60, units: 1 }, { type: 51 }] }),
    v6(17, dgram, { ext: [{ type: 44, more: true }] }),
    v6(17, bytes(40), { ext: [{ type: 44, offset: 1232 }] }),
    v6(58, icmpv6(128, 0, bytes(8))),
    v6(59, bytes(0), { ext: [{ type: 60 }] }),
    v6(47, gre(EtherType.IPV4, ipv4(17, dgram), { s: true })),
  ];
}

/** The valid frames, each with its link type. */
function frames(): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  for (const [version, p] of packets()) {
    const et = version === 4 ? EtherType.IPV4 : EtherType.IPV6;
    const af = version === 4 ? 2 : 30;
    out.push(
      [LinkType.EN10MB, eth(et, p)],
      [LinkType.EN10MB, eth(et, p, [{ tpid: EtherType.QINQ, id: 1 }, 2, 3])],
      [LinkType.LINUX_SLL, sll(et, p)],
      [LinkType.LINUX_SLL2, sll2(et, p)],
      [LinkType.RAW, p],
      [version === 4 ? LinkType.IPV4 : LinkType.IPV6, p],
      [LinkType.NULL, nullLink(af, p, version === 4)],
      [LinkType.LOOP, loop(af, p)],
    );
  }
  out.push([LinkType.EN10MB, eth(EtherType.ARP, arp())]);
  return out;
}

/** Why the decoded meta is out of range, or null when it is fine. */
function check(m: PacketMeta, start: number, end: number, ok: boolean): string | null {
  // The category the decoder sets as it reads must be the one the fields give.
  if (m.vector !== vectorOf(m)) return `vector ${m.vector}, fields give ${vectorOf(m)}`;
  if (!ok) {
    return m.malformed >= 1 && m.malformed <= 7 ? null : `false with malformed ${m.malformed}`;
  }
  if (m.malformed !== 0) return `true with malformed ${m.malformed}`;
  if (m.ipVersion !== 0 && m.ipVersion !== 4 && m.ipVersion !== 6) {
    return `ipVersion ${m.ipVersion}`;
  }
  for (const port of [m.srcPort, m.dstPort]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return `port ${port}`;
  }
  if (!m.hasL4 && (m.srcPort !== 0 || m.dstPort !== 0 || m.payloadOffset !== -1)) {
    return "L4 fields without L4";
  }
  if (m.payloadOffset !== -1) {
    if (m.payloadOffset < start || m.payloadLen < 0 || m.payloadOffset + m.payloadLen > end) {
      return `payload ${m.payloadOffset}+${m.payloadLen} outside [${start}, ${end})`;
    }
  } else if (m.payloadLen !== 0) return `payloadLen ${m.payloadLen} without payload`;
  if (m.tcpFlags < 0 || m.tcpFlags > 255 || m.ttl < 0 || m.ttl > 255) {
    return "byte field out of range";
  }
  if (m.protocol < 0 || m.protocol > 255 || m.ipLen < 0 || m.ipLen > 65535 + 40) {
    return "IP field out of range";
  }
  if (m.fragment < 0 || m.fragment > 2 || m.vlanCount > 3) {
    return "fragment or VLAN count out of range";
  }
  if (m.ipVersion === 4 && (m.src[2] !== 0xffff || m.dst[2] !== 0xffff)) {
    return "IPv4 address not mapped";
  }
  if (m.hasInner) {
    const inner = m.inner!;
    const why = check(inner, start, end, inner.malformed === 0);
    if (why !== null) return `inner: ${why}`;
  }
  return null;
}

Deno.test("decode() survives four million random and mutated frames with fields in range", () => {
  const seed = Number(Deno.env.get("DECODE_FUZZ_SEED") ?? 0xc0ffee);
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const valid = frames();
  const scratch = new Uint8Array(4096);
  const meta = new PacketMeta();
  const counts = [0, 0]; // [false, true]
  const iterations = 4_000_000;
  for (let iter = 0; iter < iterations; iter++) {
    const offset = int(8);
    let len: number;
    let linktype: number;
    let wireLen: number;
    const mode = int(10);
    if (mode === 0) {
      // Pure random bytes.
      len = int(200);
      for (let i = 0; i < len; i++) scratch[offset + i] = int(256);
      linktype = LINKTYPES[int(LINKTYPES.length)];
      wireLen = len + int(3) * int(1500);
    } else {
      const [lt, frame] = valid[int(valid.length)];
      scratch.set(frame, offset);
      len = frame.length;
      linktype = lt;
      wireLen = len;
      const flips = mode <= 6 ? 1 + int(4) : 0;
      for (let f = 0; f < flips; f++) {
        const at = offset + int(len);
        scratch[at] = rand() < 0.5 ? int(256) : scratch[at] ^ (1 << int(8));
      }
      if (mode >= 5 && mode <= 8) {
        len = int(len + 1); // Snaplen-like cut: the wire length stays.
      }
      if (mode === 9) linktype = rand() < 0.9 ? LINKTYPES[int(LINKTYPES.length)] : int(300);
      if (rand() < 0.05) wireLen = int(len + 1); // A lying or missing wire length.
    }
    // Garbage after the frame: reading past capLen would show as wrong fields.
    for (let i = 0; i < 8; i++) scratch[offset + len + i] = 0xa5;
    meta.capLen = len;
    meta.wireLen = wireLen;
    meta.tsUs = iter;
    let ok: boolean;
    try {
      ok = decode(scratch, offset, len, linktype, meta);
    } catch (err) {
      throw new Error(`decode() threw at iteration ${iter} (DECODE_FUZZ_SEED=${seed}): ${err}`);
    }
    counts[ok ? 1 : 0]++;
    const why = check(meta, offset, offset + len, ok);
    if (why !== null) {
      const hex = Array.from(
        scratch.subarray(offset, offset + len),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      throw new Error(
        `iteration ${iter} (DECODE_FUZZ_SEED=${seed}) linktype ${linktype} wireLen ${wireLen}: ${why}\nframe ${hex}`,
      );
    }
  }
  // Both outcomes must be well represented, or the fuzzing is not reaching the decoder's depth.
  assert(
    counts[0] > iterations / 20 && counts[1] > iterations / 5,
    `seed ${seed}: false/true ${counts}`,
  );
});

Deno.test("decode() handles offsets and lengths outside the buffer without throwing", () => {
  const meta = new PacketMeta();
  const frame = eth(EtherType.IPV4, ipv4(6, tcp(1, 2, TcpFlag.SYN)));
  for (
    const [offset, capLen] of [[0, 1000], [50, 10], [-1, 10], [0, -5], [NaN, 10], [0, NaN], [
      1e9,
      4,
    ]]
  ) {
    meta.wireLen = frame.length;
    const ok = decode(frame, offset, capLen, LinkType.EN10MB, meta);
    assert(check(meta, Math.max(offset, 0), Math.min(offset + capLen, frame.length), ok) === null);
  }
});
