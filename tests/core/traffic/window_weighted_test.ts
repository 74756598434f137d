import {
  Fragment,
  IpProto,
  PacketMeta,
  parseAddress,
  TcpFlag,
  vectorOf,
} from "../../../core/packet/mod.ts";
import { Window } from "../../../core/traffic/mod.ts";
import { assertEquals } from "../../support/assert.ts";

/** A packet of every kind a window counts apart: each branch of `Window.add`. */
function kinds(): PacketMeta[] {
  const make = (f: (m: PacketMeta) => void, src = "198.18.1.1", dst = "198.18.0.2") => {
    const m = new PacketMeta();
    m.ipVersion = 4;
    m.protocol = IpProto.UDP;
    m.hasL4 = true;
    m.wireLen = 120;
    m.ttl = 60;
    m.srcPort = 53;
    m.dstPort = 4444;
    parseAddress(src, m.src);
    parseAddress(dst, m.dst);
    f(m);
    m.vector = vectorOf(m);
    return m;
  };
  return [
    make((m) => {
      m.protocol = IpProto.TCP;
      m.tcpFlags = TcpFlag.SYN;
      m.wireLen = 60;
      m.dstPort = 80;
    }),
    make((m) => {
      m.protocol = IpProto.TCP;
      m.tcpFlags = TcpFlag.ACK | TcpFlag.PSH;
      m.wireLen = 1400;
      m.ttl = 120;
    }, "198.18.1.3"),
    make((m) => (m.wireLen = 1500), "198.18.1.4"),
    make((m) => (m.fragment = Fragment.FIRST), "198.18.1.4"),
    make((m) => (m.fragment = Fragment.NON_FIRST), "198.18.1.5"),
    make(
      (m) => {
        m.protocol = IpProto.ICMP;
        m.hasL4 = false;
        m.wireLen = 98;
      },
      "198.18.1.6",
      "198.18.0.3",
    ),
    make((m) => (m.protocol = 47), "198.18.1.7"),
    make(
      (m) => {
        m.ipVersion = 6;
        m.wireLen = 9000;
      },
      "2001:2::1",
      "2001:2::2",
    ),
    make((m) => (m.ipVersion = 0)),
    make((m) => (m.malformed = 1)),
    make((m) => (m.outbound = true), "198.18.0.2", "198.18.1.1"),
  ];
}

Deno.test("Window.addWeighted() counts every kind of packet as that many single packets", () => {
  const one = new Window();
  const many = new Window();
  const metas = kinds();
  // Rounds of each kind, some weighted records repeating a source (runs), some single packets
  // in between (the integer counters hold them while weighted ones go to the totals).
  for (let round = 0; round < 3; round++) {
    metas.forEach((m, i) => {
      const packets = 1 + ((i * 7 + round * 13) % 40);
      for (let k = 0; k < packets; k++) one.add(m);
      many.addWeighted(m, packets, packets * m.wireLen);
      one.add(metas[(i + round) % metas.length]);
      many.add(metas[(i + round) % metas.length]);
    });
  }
  assertEquals(many.snapshot(10, true), one.snapshot(10, true));
});

Deno.test("Window.addWeighted() gives exact totals past the integer counters' range", () => {
  const w = new Window();
  const [syn] = kinds();
  for (let i = 0; i < 5; i++) {
    w.addWeighted(syn, 2 ** 30, 2 ** 30 * 60 + 7);
    w.add(syn);
  }
  const s = w.snapshot(3);
  assertEquals(s.packets, 5 * 2 ** 30 + 5);
  assertEquals(s.bytes, 5 * (2 ** 30 * 60 + 7) + 5 * 60);
  assertEquals(s.protocols.tcp.packets, s.packets);
  assertEquals(s.tcp_flags.SYN, s.packets);
  assertEquals(s.top_dst_ports, [{ port: 80, count: s.packets }]);
});
