import { defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import { IpProto, type PacketMeta, parseAddress, TcpFlag } from "../../../core/packet/mod.ts";
import { assert, assertEquals, assertThrows } from "../../support/assert.ts";
import { feed, type Shape, spoofed, synFlood } from "../../support/traffic.ts";

/**
 * Mirror mode over 198.18.4.0/22 (1,024 addresses), 198.18.5.0/24 being the network
 * "customer-b" and 198.18.6.0/24 "customer-c" with its own pps threshold. Static thresholds, so
 * every target (address, prefix, interface) has the same ones unless its network sets them.
 */
function mirrorConfig(tracked = 256) {
  return parseConfig({
    mirror_mode: true,
    mirror_interface: "span0",
    mirror_subnets: ["198.18.4.0/22", "2001:2::/48"],
    mirror_tracked_destinations: tracked,
    networks: [
      { prefix: "198.18.5.0/24", name: "customer-b" },
      { prefix: "198.18.6.0/24", name: "customer-c", thresholds: { pps: 500, udp_pps: 500 } },
    ],
    dynamic_threshold: false,
    pps_threshold: 3000,
    syn_pps_threshold: 1500,
    udp_pps_threshold: 3000,
    icmp_pps_threshold: 1000,
    fragment_pps_threshold: 1000,
  }).config;
}

function run(streams: Parameters<typeof feed>[1], tracked = 256) {
  const events: IncidentEvent[] = [];
  const d = new Detector(mirrorConfig(tracked), { onEvent: (e) => events.push(e) });
  feed(d, streams);
  d.finish();
  return { d, opens: events.filter((e) => e.event === "open"), events };
}

/** Packet `i` of a stream to `count` addresses of 198.18.4.0/22 from `first` on (round robin). */
function spread(first: number, count: number, proto: number, size: number): Shape {
  return (m: PacketMeta, i: number) => {
    const n = first + (i % count);
    m.ipVersion = 4;
    m.protocol = proto;
    m.wireLen = size;
    m.capLen = Math.min(size, 128);
    m.ttl = 60;
    parseAddress(spoofed(i % 4000), m.src);
    parseAddress(`198.18.${4 + (n >> 8)}.${n & 255}`, m.dst);
    m.hasL4 = true;
    m.srcPort = 1024 + (i % 50000);
    m.dstPort = proto === IpProto.TCP ? 443 : 9000 + (i % 100);
    m.tcpFlags = proto === IpProto.TCP ? TcpFlag.ACK : 0;
  };
}

/** 1,000 addresses at 2 pps each: more than the 256 rows tracked. */
const BACKGROUND = { fromS: 0, toS: 60, pps: 2000, shape: spread(0, 1000, IpProto.TCP, 100) };

Deno.test("Detector in mirror mode opens one incident per flooded address among 1,000 busy ones, naming it and its network", () => {
  const { opens, d } = run([
    BACKGROUND,
    { fromS: 10, toS: 20, pps: 4000, shape: synFlood("198.18.4.77") },
    { fromS: 12, toS: 22, pps: 4000, shape: synFlood("198.18.5.200") },
  ]);
  const summary = JSON.stringify(opens.map((e) => [e.target, e.network, e.attack_family]));
  assertEquals(opens.length, 2, summary);
  const byTarget = new Map(opens.map((e) => [e.target, e]));
  assertEquals(byTarget.get("198.18.4.77")?.network, null, summary);
  assertEquals(byTarget.get("198.18.4.77")?.inner_ip, "198.18.4.77");
  assertEquals(byTarget.get("198.18.5.200")?.network, "customer-b", summary);
  for (const e of opens) assertEquals(e.attack_family, "syn_flood", summary);
  assertEquals(d.listenerErrors, 0);
});

Deno.test("Detector in mirror mode opens one incident naming the prefix when many addresses each stay below the thresholds", () => {
  // 4000 pps over 128 addresses of customer-b: about 31 pps each, 4500 pps in all (after 35 s
  // of background, so the prefix's normal mix is known and the excess is classified).
  const carpet = { fromS: 35, toS: 45, pps: 4000, shape: spread(256, 128, IpProto.UDP, 120) };
  const { opens } = run([BACKGROUND, carpet]);
  const summary = JSON.stringify(opens.map((e) => [e.target, e.network, e.spread]));
  assertEquals(opens.length, 1, summary);
  const open = opens[0];
  assertEquals(open.target, "198.18.5.0/24");
  assertEquals(open.network, "customer-b");
  assertEquals(open.inner_ip, null);
  // The UDP carpet is the main vector (the background's ACKs may remain as a minor part).
  const evidence = open.evidence as { parts?: { family: string }[] };
  const main = evidence.parts?.[0]?.family ?? open.attack_family;
  assertEquals(main, "udp_flood", JSON.stringify(open.evidence));
  const s = open.spread as { destinations: number; prefix: string };
  assert(s !== null && s.destinations >= 16, summary);
});

Deno.test("Detector in mirror mode applies a network's own thresholds to its addresses only", () => {
  // (A lighter background: the whole mirror stays under the interface's 3000 pps.)
  const { opens } = run([
    { ...BACKGROUND, pps: 1000 },
    { fromS: 10, toS: 20, pps: 900, shape: udpTo("198.18.6.9") },
    { fromS: 10, toS: 20, pps: 900, shape: udpTo("198.18.7.9") },
  ]);
  const summary = JSON.stringify(opens.map((e) => [e.target, e.network, e.thresholds]));
  assertEquals(opens.length, 1, summary);
  assertEquals(opens[0].target, "198.18.6.9");
  assertEquals(opens[0].network, "customer-c");
  assertEquals((opens[0].thresholds as Record<string, number>).udp_pps, 500);
});

Deno.test("Detector in mirror mode names a flooded IPv6 address of an IPv6 subnet", () => {
  const v6Flood: Shape = (m, i) => {
    synFlood("198.18.4.1")(m, i);
    m.ipVersion = 6;
    parseAddress("2001:2::5", m.dst);
    parseAddress(`2001:2:0:9::${(i % 5000).toString(16)}`, m.src);
  };
  const { opens } = run([BACKGROUND, { fromS: 10, toS: 20, pps: 4000, shape: v6Flood }]);
  assertEquals(opens.map((e) => [e.target, e.network, e.attack_family]), [
    ["2001:2::5", null, "syn_flood"],
  ]);
});

Deno.test("Detector in mirror mode ignores traffic to addresses outside mirror_subnets", () => {
  const { events } = run([
    BACKGROUND,
    { fromS: 10, toS: 20, pps: 8000, shape: synFlood("198.19.9.9") },
  ]);
  assertEquals(events.length, 0, JSON.stringify(events.map((e) => [e.event, e.target])));
});

Deno.test("Detector in mirror mode tracks a flooded address even when every row is busier than the quiet mark", () => {
  // 64 rows, 600 addresses at 20 pps each (none is quiet enough to be evicted by the usual
  // rule), then one more address flooded: the heavy-hitter sketch gives it a row.
  const busy = { fromS: 0, toS: 30, pps: 12000, shape: spread(0, 600, IpProto.TCP, 200) };
  const events: IncidentEvent[] = [];
  const cfg = { ...mirrorConfig(64), pps_threshold: 1e6, udp_pps_threshold: 1e6 };
  const d = new Detector(cfg, { onEvent: (e) => events.push(e) });
  feed(d, [busy, { fromS: 10, toS: 20, pps: 4000, shape: synFlood("198.18.7.250") }]);
  d.finish();
  const opens = events.filter((e) => e.event === "open");
  assertEquals(opens.map((e) => e.target), ["198.18.7.250"]);
});

Deno.test("Detector.configure() says the mirror keys take effect at the next start", () => {
  const d = new Detector(mirrorConfig(), { onEvent: () => {} });
  const next = { ...mirrorConfig(), mirror_subnets: ["198.18.4.0/23"], pps_threshold: 4000 };
  assertEquals(d.configure(next), ["mirror_subnets"]);
  assertEquals(d.configure({ ...defaultConfig(), max_tracked_destinations: 64 }).sort(), [
    "mirror_mode",
    "mirror_subnets",
    "mirror_tracked_destinations",
    "networks",
  ]);
});

Deno.test("parseConfig() refuses mirror settings that cannot work, naming the key", () => {
  const base = { mirror_mode: true, mirror_interface: "span0", mirror_subnets: ["198.18.5.0/24"] };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ mirror_mode: true, mirror_interface: "span0" }, /"mirror_subnets": mirror mode needs/],
    [{ mirror_mode: true, mirror_subnets: ["198.18.5.0/24"] }, /"mirror_interface": mirror mode/],
    [{ ...base, mirror_subnets: ["198.18.5.0/24", "198.18.5.128/25"] }, /overlap/],
    [{ ...base, mirror_subnets: ["198.18.5.0/33"] }, /"mirror_subnets.0".*expected an address/],
    [{ ...base, mirror_interface: "eth 0" }, /"mirror_interface".*interface name/],
    [{ ...base, protected_networks: ["198.18.0.0/27"] }, /"protected_networks": not used/],
    [{ networks: [{ prefix: "198.18.5.0/24", name: "a" }] }, /"networks": used in mirror mode/],
    [
      { ...base, networks: [{ prefix: "198.18.9.0/24", name: "a" }] },
      /"networks.0.prefix": 198.18.9.0\/24 is not inside/,
    ],
    [
      {
        ...base,
        networks: [{ prefix: "198.18.5.0/25", name: "a" }, {
          prefix: "198.18.5.128/25",
          name: "a",
        }],
      },
      /"networks.1.name": "a" is also networks.0's name/,
    ],
    [
      { ...base, networks: [{ prefix: "198.18.5.0/25", name: "a", thresholds: { pps: -1 } }] },
      /"networks.0.thresholds.pps"/,
    ],
    [
      { ...base, networks: [{ prefix: "198.18.5.0/25", name: "a", thresholds: { ppz: 1 } }] },
      /"networks.0.thresholds"/,
    ],
  ];
  for (const [input, message] of cases) {
    const err = assertThrows(() => parseConfig(input), message);
    assert(!err.message.includes("\n"), `one line: ${err.message}`);
  }
  const ok = parseConfig({ ...base, mirror_subnets: ["198.18.5.0/24", "2001:2::/48"] }).config;
  assertEquals(ok.mirror_tracked_destinations, 4096);
  assertEquals(defaultConfig().mirror_mode, false);
});

/** UDP from many sources to `dst`. */
function udpTo(dst: string): Shape {
  return (m: PacketMeta, i: number) => {
    spread(0, 1, IpProto.UDP, 300)(m, i);
    parseAddress(dst, m.dst);
  };
}
