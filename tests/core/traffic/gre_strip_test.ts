import { LinkType } from "../../../core/packet/mod.ts";
import { Pipeline, type WindowStats } from "../../../core/traffic/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { bytes, eth, EtherType, gre, ipv4, udp } from "../../support/frames.ts";

const T = 1_767_225_600_000_000;

/** 100 UDP datagrams to 198.18.60.5 inside GRE between two tunnel endpoints, in one second. */
function tunnelSecond(strip: boolean): WindowStats {
  const windows: WindowStats[] = [];
  const p = new Pipeline((w) => windows.push(w.snapshot(3)));
  p.stripGre = strip;
  for (let i = 0; i < 100; i++) {
    const inner = ipv4(17, udp(4000 + i, 27015, bytes(300)), {
      src: `198.19.50.${i % 4}`,
      dst: "198.18.60.5",
    });
    const frame = eth(
      EtherType.IPV4,
      ipv4(47, gre(EtherType.IPV4, inner, { k: true }), { src: "198.18.40.1", dst: "198.18.40.2" }),
    );
    p.packet(frame, 0, frame.length, frame.length, T + i * 10_000, LinkType.EN10MB);
  }
  p.flush();
  return windows[0];
}

Deno.test("Pipeline counts the packet inside GRE with stripGre, the tunnel packet without", () => {
  const tunnel = tunnelSecond(false);
  assertEquals(tunnel.protocols.gre.packets, 100);
  assertEquals(tunnel.protocols.udp.packets, 0);
  assertEquals(tunnel.top_dst_ips[0].ip, "198.18.40.2");
  const inner = tunnelSecond(true);
  assertEquals(inner.protocols.gre.packets, 0);
  assertEquals(inner.protocols.udp.packets, 100);
  assertEquals(inner.top_dst_ips[0].ip, "198.18.60.5");
  assertEquals(inner.top_src_ips.every((e) => e.ip.startsWith("198.19.50.")), true);
  // The inner length (20 + 8 + 300), not the tunnel's (+ 20 + 8 of IPv4 and GRE with a key).
  assertEquals(inner.avg_pkt_len, 328);
  assertEquals(tunnel.avg_pkt_len, 328 + 14 + 20 + 8);
});
