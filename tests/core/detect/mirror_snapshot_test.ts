import { defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { Detector } from "../../../core/detect/mod.ts";
import { IpProto, type PacketMeta, parseAddress, TcpFlag } from "../../../core/packet/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { feed, type Shape, spoofed, synFlood } from "../../support/traffic.ts";

/** Mirror mode over 198.18.4.0/22 and 2001:2::/48, two named /24 networks, `tracked` rows. */
function mirrorConfig(tracked: number) {
  return parseConfig({
    mirror_mode: true,
    mirror_interface: "span0",
    mirror_subnets: ["198.18.4.0/22", "2001:2::/48"],
    mirror_tracked_destinations: tracked,
    networks: [
      { prefix: "198.18.5.0/24", name: "customer-b" },
      { prefix: "198.18.6.0/24", name: "customer-c" },
    ],
    dynamic_threshold: false,
    pps_threshold: 1e6,
    udp_pps_threshold: 1e6,
  }).config;
}

/** Packet `i` of TCP ACKs to 198.18.4.0 + (i mod `count`), round robin. */
function spread(count: number): Shape {
  return (m: PacketMeta, i: number) => {
    const n = i % count;
    m.ipVersion = 4;
    m.protocol = IpProto.TCP;
    m.wireLen = 200;
    m.capLen = 128;
    m.ttl = 60;
    parseAddress(spoofed(i % 4000), m.src);
    parseAddress(`198.18.${4 + (n >> 8)}.${n & 255}`, m.dst);
    m.hasL4 = true;
    m.srcPort = 1024 + (i % 50000);
    m.dstPort = 443;
    m.tcpFlags = TcpFlag.ACK;
  };
}

Deno.test("Detector.mirrorSnapshot() counts rows in use, promotions, evictions and each prefix's rate when the table is full", () => {
  // 600 addresses at 20 pps each fill the 64 rows; then one more address, flooded, is promoted
  // into the row of a quiet one.
  const d = new Detector(mirrorConfig(64), { onEvent: () => {} });
  const before = d.mirrorSnapshot()!;
  assertEquals([before.tracked, before.capacity, before.promotions, before.evictions], [
    0,
    64,
    0,
    0,
  ]);
  feed(d, [
    { fromS: 0, toS: 15, pps: 12000, shape: spread(600) },
    { fromS: 10, toS: 15, pps: 4000, shape: synFlood("198.18.7.250") },
  ]);
  const s = d.mirrorSnapshot()!;
  assertEquals([s.tracked, s.capacity], [64, 64]);
  assert(s.promotions >= 1, JSON.stringify(s));
  assertEquals(s.evictions, s.promotions, JSON.stringify(s)); // the table was full each time
  // The configured prefixes only, most specific first, with their network names.
  assertEquals(s.prefixes.map((p) => [p.prefix, p.network]), [
    ["198.18.5.0/24", "customer-b"],
    ["198.18.6.0/24", "customer-c"],
    ["198.18.4.0/22", null],
    ["2001:2::/48", null],
  ]);
  // 256 addresses x 20 pps in customer-b, 88 in customer-c, 256 and the flood in the rest.
  const pps = s.prefixes.map((p) => p.pps);
  const expected = [5120, 1760, 5120 + 4000, 0];
  for (let k = 0; k < 4; k++) {
    assert(Math.abs(pps[k] - expected[k]) <= 0.05 * expected[k], `${pps} vs ${expected}`);
  }
  d.finish();
  assertEquals(d.mirrorSnapshot()!.tracked, 64);
});

Deno.test("Detector.mirrorSnapshot() is null outside mirror mode", () => {
  const d = new Detector(defaultConfig(), { onEvent: () => {} });
  assertEquals(d.mirrorSnapshot(), null);
});
