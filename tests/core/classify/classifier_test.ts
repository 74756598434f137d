import { type Classification, classify, type TrafficProfile } from "../../../core/classify/mod.ts";
import {
  AMPLIFICATION_SERVICES,
  completeVectors,
  countVectors,
  Fragment,
  IpProto,
  PacketMeta,
  TcpFlag,
  VECTOR_COUNT,
  vectorOf,
} from "../../../core/packet/mod.ts";
import { Window } from "../../../core/traffic/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { CORPUS, corpusFiles, ftagent } from "../../support/cli.ts";

/** A run of hand-built packets of one kind. */
interface Flow {
  count: number;
  proto: number;
  flags?: number;
  /** Fixed source port; default: a different one per packet. */
  sport?: number;
  dport?: number;
  /** Wire length; default 60. */
  len?: number;
  /** Distinct sources, cycled; `count` for one packet per source. Default 1. */
  sources?: number;
  /** First source address (IPv4 as a number); flows with the same base share sources. */
  base?: number;
  /** Fixed TTL, or "spread" (40 + source index mod 30). Default 64. */
  ttl?: number | "spread";
  fragment?: number;
  icmpType?: number;
  ipVersion?: number;
}

const { SYN, ACK, RST, FIN, PSH, URG } = TcpFlag;

/** The vectors and statistics of `flows`, built through the real Window and countVectors. */
function profile(flows: Flow[], seconds = 1, withStats = true): TrafficProfile {
  const window = new Window();
  window.reset(1_700_000_000, seconds);
  const vectors = new Float64Array(VECTOR_COUNT);
  const ipProtocols = new Float64Array(256);
  const m = new PacketMeta();
  let flowIndex = 0;
  for (const f of flows) {
    const base = f.base ?? 0x0b000000 + (++flowIndex << 20);
    for (let i = 0; i < f.count; i++) {
      m.reset();
      const source = i % (f.sources ?? 1);
      m.wireLen = m.capLen = f.len ?? 60;
      m.ipVersion = f.ipVersion ?? 4;
      if (m.ipVersion !== 0) {
        m.src.set([0, 0, 0xffff, (base + source * 7919) >>> 0]);
        m.dst.set([0, 0, 0xffff, 0xc6120002]);
        m.ttl = f.ttl === "spread" ? 40 + (source % 30) : f.ttl ?? 64;
        m.protocol = f.proto;
        m.fragment = f.fragment ?? Fragment.NONE;
        const l4 = m.fragment !== Fragment.NON_FIRST;
        m.hasL4 = l4;
        if (l4 && (f.proto === IpProto.TCP || f.proto === IpProto.UDP)) {
          m.srcPort = f.sport ?? 1024 + (i % 60000);
          m.dstPort = f.dport ?? 80;
        }
        if (l4 && f.proto === IpProto.TCP) m.tcpFlags = f.flags ?? 0;
        if (l4 && f.proto === IpProto.ICMP) m.icmpType = f.icmpType ?? 8;
        ipProtocols[f.proto]++;
      }
      m.vector = vectorOf(m); // as the decoder would
      window.add(m);
      countVectors(m, vectors, 0);
    }
  }
  completeVectors(vectors, 0);
  return withStats
    ? { vectors, seconds, stats: window.snapshot(), ipProtocols }
    : { vectors, seconds };
}

function expectKind(c: Classification, family: string, subtype: string): void {
  assertEquals(
    [c.attack_family, c.attack_subtype],
    [family, subtype],
    `${c.evidence.rule}: ${c.evidence.summary}`,
  );
}

const TCP_CASES: [string, number, string, string][] = [
  ["SYN", SYN, "syn_flood", "syn_flood"],
  ["SYN+ECE+CWR", SYN | TcpFlag.ECE | TcpFlag.CWR, "syn_flood", "syn_flood"],
  ["SYN-ACK", SYN | ACK, "syn_flood", "syn_ack_flood"],
  ["ACK", ACK, "tcp_flood", "ack_flood"],
  ["RST", RST, "tcp_flood", "rst_flood"],
  ["RST-ACK", RST | ACK, "tcp_flood", "rst_flood"],
  ["FIN", FIN, "tcp_flood", "fin_flood"],
  ["PSH-ACK", PSH | ACK, "tcp_flood", "psh_ack_flood"],
  ["FIN+PSH+URG", FIN | PSH | URG, "tcp_flood", "xmas_flood"],
  ["no-flag", 0, "tcp_flood", "null_flood"],
  ["SYN+FIN", SYN | FIN, "tcp_flood", "anomalous_flags_flood"],
];

for (const [name, flags, family, subtype] of TCP_CASES) {
  Deno.test(`classify() names a ${name} flood ${family}/${subtype}`, () => {
    const c = classify(profile([{ count: 3000, proto: IpProto.TCP, flags }]));
    expectKind(c, family, subtype);
    assert(c.confidence >= 95, `confidence ${c.confidence}`);
    assertEquals(c.evidence.packets, 3000);
    assertEquals(c.evidence.top_dst_port, { port: 80, pct: 100 });
  });
}

for (const service of AMPLIFICATION_SERVICES) {
  const family = service.name === "dns" ? "dns_flood" : "udp_flood";
  const subtype = `${service.name}_amplification`;
  Deno.test(`classify() names UDP from source port ${service.port} ${subtype}`, () => {
    const c = classify(profile([
      { count: 2000, proto: IpProto.UDP, sport: service.port, len: 400, sources: 700 },
      { count: 60, proto: IpProto.ICMP, icmpType: 3, len: 90, sources: 50 },
    ]));
    expectKind(c, family, subtype);
    assertEquals(c.spoofing_detected, false);
    assertEquals(c.botnet_detected, false);
    assertMatch(c.evidence.spoofing_reason!, /reflectors/);
    assertMatch(
      c.evidence.summary,
      new RegExp(`source port ${service.port}\\D.*\\(${service.name}\\)`),
    );
    assertEquals(c.evidence.shares[`amp_${service.name}`], c.evidence.shares.udp_amp);
  });
}

Deno.test("classify() names SNMP reflection snmp_amplification with its evidence numbers", () => {
  const c = classify(profile([
    { count: 4079, proto: IpProto.UDP, sport: 161, len: 241, sources: 4000, ttl: "spread" },
    { count: 294, proto: IpProto.ICMP, icmpType: 3, len: 98, sources: 200 },
  ], 0.023));
  expectKind(c, "udp_flood", "snmp_amplification");
  const e = c.evidence;
  assertEquals(e.rule.includes("dominant service snmp"), true, e.rule);
  assertEquals(e.shares.udp, 93.3);
  assertEquals(e.shares.icmp, 6.7);
  assertEquals(e.top_src_port, { port: 161, pct: 93.3 });
  assertEquals(e.sources !== undefined && e.sources > 3900, true);
  assertEquals(e.packets, 4373);
  assertEquals(e.pps, Math.round(4373 / 0.023 * 1000) / 1000);
  assertMatch(e.summary, /^93\.3% UDP from source port 161 \(snmp\).*sources, mean \d+ B$/);
});

Deno.test("classify() names several reflector kinds with none dominant multi_amplification", () => {
  const c = classify(profile([
    { count: 900, proto: IpProto.UDP, sport: 123, len: 468, sources: 300 },
    { count: 700, proto: IpProto.UDP, sport: 1900, len: 320, sources: 300 },
    { count: 500, proto: IpProto.UDP, sport: 11211, len: 1400, sources: 100 },
  ]));
  expectKind(c, "udp_flood", "multi_amplification");
  assertMatch(c.evidence.summary, /amplified packets 42\.9% ntp, 33\.3% ssdp, 23\.8% memcached/);
});

Deno.test("classify() keeps one service at 60% or more of the amplified packets", () => {
  const c = classify(profile([
    { count: 700, proto: IpProto.UDP, sport: 47808, len: 200, sources: 500 },
    { count: 250, proto: IpProto.UDP, sport: 37810, len: 600, sources: 200 },
  ]));
  expectKind(c, "udp_flood", "bacnet_amplification");
});

Deno.test("classify() names UDP to port 53 dns_query_flood", () => {
  const c = classify(profile([{ count: 2000, proto: IpProto.UDP, dport: 53, len: 80 }]));
  expectKind(c, "dns_flood", "dns_query_flood");
});

Deno.test("classify() names minimum-size UDP small_packet_flood and large UDP volumetric", () => {
  expectKind(
    classify(profile([{ count: 2000, proto: IpProto.UDP, dport: 27015, len: 42 }])),
    "udp_flood",
    "small_packet_flood",
  );
  expectKind(
    classify(profile([{ count: 2000, proto: IpProto.UDP, dport: 27015, len: 1200 }])),
    "udp_flood",
    "volumetric",
  );
});

Deno.test("classify() names mostly-fragment UDP udp_fragment_flood and ICMP ip_fragment_flood", () => {
  const udp = classify(profile([
    { count: 100, proto: IpProto.UDP, dport: 9999, len: 58, fragment: Fragment.FIRST },
    { count: 2400, proto: IpProto.UDP, len: 50, fragment: Fragment.NON_FIRST },
  ]));
  expectKind(udp, "fragment_flood", "udp_fragment_flood");
  assertEquals(udp.evidence.shares.fragments, 100);
  const icmp = classify(profile([
    { count: 500, proto: IpProto.ICMP, len: 1514, fragment: Fragment.FIRST },
    { count: 1000, proto: IpProto.ICMP, len: 1514, fragment: Fragment.NON_FIRST },
  ]));
  expectKind(icmp, "fragment_flood", "ip_fragment_flood");
  const later = classify(profile([
    { count: 1000, proto: IpProto.UDP, len: 1514, fragment: Fragment.NON_FIRST },
  ]));
  expectKind(later, "fragment_flood", "udp_fragment_flood");
});

Deno.test("classify() keeps fragmented DNS responses dns_amplification", () => {
  const c = classify(profile([
    { count: 1000, proto: IpProto.UDP, sport: 53, len: 1514, fragment: Fragment.FIRST },
    { count: 1500, proto: IpProto.UDP, len: 700, fragment: Fragment.NON_FIRST },
  ]));
  expectKind(c, "dns_flood", "dns_amplification");
});

Deno.test("classify() names ICMP echo ping_flood and other ICMP icmp_flood", () => {
  expectKind(
    classify(profile([{ count: 2000, proto: IpProto.ICMP, icmpType: 8, len: 98 }])),
    "icmp_flood",
    "ping_flood",
  );
  expectKind(
    classify(profile([{ count: 2000, proto: IpProto.ICMP, icmpType: 3, len: 70 }])),
    "icmp_flood",
    "icmp_flood",
  );
});

Deno.test("classify() names GRE gre_flood, other protocols ip_proto_<n>_flood, ARP non_ip", () => {
  expectKind(
    classify(profile([{ count: 2000, proto: IpProto.GRE, len: 120 }])),
    "protocol_flood",
    "gre_flood",
  );
  expectKind(
    classify(profile([{ count: 2000, proto: 253, len: 120 }])),
    "protocol_flood",
    "ip_proto_253_flood",
  );
  expectKind(
    classify(profile([{ count: 2000, proto: 253, len: 120 }], 1, false)),
    "protocol_flood",
    "ip_protocol_flood",
  );
  expectKind(
    classify(profile([{ count: 2000, proto: 0, ipVersion: 0, len: 60 }])),
    "protocol_flood",
    "non_ip_flood",
  );
});

Deno.test("classify() names two families of a quarter or more multi_vector, multi_<family> of the heaviest, and keeps the parts", () => {
  const c = classify(profile([
    { count: 3000, proto: IpProto.TCP, flags: SYN, dport: 443 },
    { count: 2000, proto: IpProto.UDP, dport: 27015, len: 60 },
  ]));
  expectKind(c, "multi_vector", "multi_syn_flood");
  assertMatch(c.evidence.rule, /syn_flood\+udp_flood/);
  assertEquals(c.evidence.parts, [
    { family: "syn_flood", subtype: "syn_flood", share: 60 },
    { family: "udp_flood", subtype: "small_packet_flood", share: 40 },
  ]);
  const amp = classify(profile([
    { count: 7000, proto: IpProto.TCP, flags: SYN, dport: 443 },
    { count: 3000, proto: IpProto.UDP, sport: 53, len: 100, sources: 400 },
  ]));
  expectKind(amp, "multi_vector", "multi_syn_flood");
  const bytes = classify(profile([
    { count: 7000, proto: IpProto.TCP, flags: SYN, dport: 443 },
    { count: 3000, proto: IpProto.UDP, sport: 123, len: 1000, sources: 400 },
  ]));
  // NTP carries 87.7% of the bytes, SYN 70% of the packets: neither 1.5x the other.
  expectKind(bytes, "multi_vector", "multi_mixed");
  assertEquals(bytes.evidence.parts?.[0].subtype, "ntp_amplification");
});

Deno.test("classify() names two families of close weight multi_mixed", () => {
  const c = classify(profile([
    { count: 3000, proto: IpProto.TCP, flags: SYN, dport: 443 },
    { count: 2500, proto: IpProto.UDP, dport: 27015, len: 60 },
  ]));
  expectKind(c, "multi_vector", "multi_mixed");
  assertEquals(c.evidence.parts?.map((p) => p.subtype), ["syn_flood", "small_packet_flood"]);
});

Deno.test("classify() keeps a side vector under a quarter out of the verdict", () => {
  const c = classify(profile([
    { count: 8000, proto: IpProto.TCP, flags: SYN, dport: 443 },
    { count: 2000, proto: IpProto.UDP, dport: 27015, len: 60 },
  ]));
  expectKind(c, "syn_flood", "syn_flood");
  assertEquals(c.confidence, 80);
});

Deno.test("classify() reads SYN beside SYN-ACK as one syn_flood family", () => {
  const c = classify(profile([
    { count: 540, proto: IpProto.TCP, flags: SYN | ACK, sport: 21, sources: 40 },
    { count: 350, proto: IpProto.TCP, flags: SYN, dport: 21, sources: 20 },
  ]));
  expectKind(c, "syn_flood", "syn_ack_flood");
  assertEquals(c.evidence.parts?.map((p) => p.subtype), ["syn_ack_flood", "syn_flood"]);
});

Deno.test("classify() flags spoofing: many sources on one TTL, each sending once", () => {
  const c = classify(profile([{ count: 5000, proto: IpProto.TCP, flags: SYN, sources: 5000 }]));
  expectKind(c, "syn_flood", "syn_flood");
  assertEquals([c.spoofing_detected, c.botnet_detected], [true, false]);
  assertMatch(c.evidence.spoofing_reason!, /top two TTL values/);
  assertEquals(c.evidence.ttl_top_pct, 100);
  // Spread TTLs but one packet per source: still random addresses.
  const once = classify(
    profile([{ count: 5000, proto: IpProto.TCP, flags: SYN, sources: 5000, ttl: "spread" }]),
  );
  assertEquals(once.spoofing_detected, true);
  assertMatch(once.evidence.spoofing_reason!, /each sends about one/);
});

Deno.test("classify() flags a botnet: many real sources with spread TTLs", () => {
  const c = classify(profile([
    { count: 6000, proto: IpProto.UDP, dport: 80, len: 512, sources: 400, ttl: "spread" },
  ]));
  expectKind(c, "udp_flood", "volumetric");
  assertEquals([c.spoofing_detected, c.botnet_detected], [false, true]);
  assertMatch(c.evidence.botnet_reason!, /400 real sources averaging 15 packets each/);
});

Deno.test("classify() flags neither for one source or without statistics", () => {
  const one = classify(profile([{ count: 3000, proto: IpProto.TCP, flags: ACK }]));
  assertEquals([one.spoofing_detected, one.botnet_detected], [false, false]);
  const bare = classify(
    profile([{ count: 3000, proto: IpProto.TCP, flags: SYN, sources: 3000 }], 1, false),
  );
  expectKind(bare, "syn_flood", "syn_flood");
  assertEquals([bare.spoofing_detected, bare.botnet_detected], [false, false]);
  assertEquals(bare.evidence.sources, undefined);
});

/** Ordinary TCP sessions from a few dozen clients: ACKs, data, opens and closes. */
function sessions(scale: number): Flow[] {
  const base = 0x5a000000;
  return [
    { count: 50 * scale, proto: IpProto.TCP, flags: ACK, sport: 443, sources: 30, base },
    { count: 25 * scale, proto: IpProto.TCP, flags: PSH | ACK, len: 900, sources: 30, base },
    { count: 3 * scale, proto: IpProto.TCP, flags: SYN, sources: 30, base },
    { count: 2 * scale, proto: IpProto.TCP, flags: FIN | ACK, sources: 30, base },
  ];
}

Deno.test("classify() calls benign mixes unknown", () => {
  const mix = classify(profile([
    ...sessions(40),
    { count: 300, proto: IpProto.UDP, sport: 53, len: 120, sources: 4 },
    { count: 400, proto: IpProto.UDP, sport: 443, len: 1200, sources: 10 },
    { count: 100, proto: IpProto.ICMP, icmpType: 0, len: 98, sources: 5 },
  ]));
  expectKind(mix, "unknown", "unknown");
  assertEquals([mix.spoofing_detected, mix.botnet_detected], [false, false]);
  assertMatch(mix.evidence.summary, /^no vector stands out/);
  const only = classify(profile(sessions(50)));
  expectKind(only, "unknown", "unknown");
  assertMatch(only.evidence.summary, /beside 96\.3% ordinary TCP session traffic/);
  assert(only.confidence >= 90, `confidence ${only.confidence}`);
  const empty = classify({ vectors: new Float64Array(VECTOR_COUNT), seconds: 1 });
  expectKind(empty, "unknown", "unknown");
  assertEquals(empty.confidence, 0);
});

Deno.test("classify() finds amplification beside ordinary TCP session traffic", () => {
  const c = classify(profile([
    ...sessions(30),
    {
      count: 500,
      proto: IpProto.UDP,
      sport: 53,
      len: 1514,
      fragment: Fragment.FIRST,
      sources: 200,
    },
    { count: 700, proto: IpProto.UDP, len: 1200, fragment: Fragment.NON_FIRST, sources: 200 },
  ]));
  expectKind(c, "dns_flood", "dns_amplification");
  assert(c.evidence.shares.background > 50, JSON.stringify(c.evidence.shares));
  assertMatch(c.evidence.summary, /ordinary TCP session traffic/);
});

Deno.test("classify() gives tiny samples low confidence", () => {
  const tiny = classify(profile([{ count: 5, proto: IpProto.TCP, flags: SYN }]));
  expectKind(tiny, "syn_flood", "syn_flood");
  assert(tiny.confidence <= 30, `confidence ${tiny.confidence}`);
  const some = classify(profile([{ count: 100, proto: IpProto.TCP, flags: SYN }]));
  assert(some.confidence > tiny.confidence && some.confidence <= 70, `${some.confidence}`);
  const full = classify(profile([{ count: 5000, proto: IpProto.TCP, flags: SYN }]));
  assertEquals(full.confidence, 100);
});

Deno.test("classify() is deterministic and its result is plain JSON", () => {
  const p = profile([
    { count: 3000, proto: IpProto.TCP, flags: SYN, sources: 3000 },
    { count: 2000, proto: IpProto.UDP, sport: 389, len: 800, sources: 300 },
  ]);
  const a = classify(p);
  assertEquals(classify(p), a);
  assertEquals(JSON.parse(JSON.stringify(a)), a);
});

interface Labels {
  captures: Record<string, { family: string[]; subtype: string[] }>;
}

const labels = JSON.parse(Deno.readTextFileSync(CORPUS + "LABELS.json")) as Labels;

for (const path of corpusFiles()) {
  const name = path.split("/").pop()!;
  Deno.test(`ftagent classify --json names ${name} as LABELS.json lists`, async () => {
    const out = await ftagent(["classify", path, "--json"]);
    assertEquals(out.code, 0, out.stderr);
    const c = JSON.parse(out.stdout) as Classification;
    const label = labels.captures[name];
    assert(label, `${name} is not in LABELS.json`);
    const why = `${c.attack_family}/${c.attack_subtype}: ${c.evidence.rule}`;
    assert(label.family.includes(c.attack_family), why);
    assert(label.subtype.includes(c.attack_subtype), why);
    assert(c.confidence >= 50, `confidence ${c.confidence}`);
    assert(c.evidence.summary.length > 0 && c.evidence.packets > 0);
  });
}

Deno.test("ftagent classify prints readable lines without --json", async () => {
  const path = corpusFiles().find((p) => p.includes("snmp"))!;
  const out = await ftagent(["classify", path]);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(out.stdout, /^attack\s+udp_flood \/ snmp_amplification$/m);
  assertMatch(out.stdout, /^confidence\s+\d+$/m);
  assertMatch(out.stdout, /^evidence\s+93\.3% UDP from source port 161 \(snmp\)/m);
  assertMatch(out.stdout, /^shares\s+.*udp 93\.3%/m);
});

Deno.test("ftagent classify reports errors as one line", async () => {
  const missing = await ftagent(["classify", "/nonexistent/x.pcap"]);
  assertEquals(missing.code, 1);
  assertEquals(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  assertMatch(missing.stderr, /no such file/);
  const usage = await ftagent(["classify"]);
  assertEquals(usage.code, 2);
  assertMatch(usage.stderr, /classify takes exactly one capture file/);
  const flag = await ftagent(["classify", "x.pcap", "--bogus"]);
  assertEquals(flag.code, 2);
  assertEquals(flag.stderr.trim().split("\n").length, 1, flag.stderr);
});

Deno.test("classify() names connections completed and reset at once a connection_flood from real hosts", () => {
  // 150 bots, each connection: SYN, ACK, a tiny request, RST; the TTLs all alike.
  const bots = { sources: 150, base: 0x0c000000, proto: IpProto.TCP };
  const c = classify(profile([
    { ...bots, count: 1500, flags: SYN },
    { ...bots, count: 1500, flags: ACK },
    { ...bots, count: 1500, flags: PSH | ACK },
    { ...bots, count: 1500, flags: RST | ACK },
  ]));
  expectKind(c, "tcp_flood", "connection_flood");
  assertEquals(c.spoofing_detected, false);
  assertEquals(c.botnet_detected, true);
  assertMatch(c.evidence.spoofing_reason!, /^handshakes completed/);
});

Deno.test("classify() never names SYNs and RSTs without completed handshakes a connection_flood", () => {
  const c = classify(profile([
    { count: 3000, proto: IpProto.TCP, flags: SYN, sources: 3000 },
    { count: 2000, proto: IpProto.TCP, flags: RST, sources: 2000 },
  ]));
  assertEquals(c.attack_subtype, "multi_syn_flood");
  assertEquals(c.evidence.parts?.map((p) => p.subtype), ["syn_flood", "rst_flood"]);
});

Deno.test("classify() counts the RSTs answering the host's SYN-ACKs in the SYN flood", () => {
  // One flooding host: its kernel resets each SYN-ACK it never asked for.
  const flows: Flow[] = [
    { count: 3000, proto: IpProto.TCP, flags: SYN, sources: 1 },
    { count: 2900, proto: IpProto.TCP, flags: RST, sources: 1 },
  ];
  const c = classify({ ...profile(flows), answered: 2950 });
  expectKind(c, "syn_flood", "syn_flood");
  assertMatch(c.evidence.summary, /RSTs answering the host's SYN-ACKs/);
  // RSTs beyond the SYN-ACKs sent are a vector of their own.
  const more = classify({ ...profile(flows), answered: 500 });
  assertEquals(more.attack_subtype, "multi_mixed");
  assertEquals(more.evidence.parts?.map((p) => p.subtype), ["syn_flood", "rst_flood"]);
});

Deno.test("classify() names DNS queries for distinct names under one zone random_subdomain", () => {
  const p = profile([{ count: 3000, proto: IpProto.UDP, dport: 53, sources: 4 }]);
  p.stats!.dns = {
    total: 3000,
    unique: 2900,
    top: [],
    top_zones: [["example.test", 3000]],
    qtypes: { A: 3000 },
  };
  const c = classify(p);
  expectKind(c, "dns_flood", "random_subdomain");
  assertMatch(c.evidence.summary, /random names under example\.test \(97% of names distinct\)/);
  p.stats!.dns.unique = 20;
  expectKind(classify(p), "dns_flood", "dns_query_flood");
});
