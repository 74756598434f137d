// Issue 16 item 6: the new subtypes (quic_flood, ping_of_death, apple_remote_amplification), the
// multi-vector names, the per-source `pct` and `confidence`, the heartbeat's hourly p99 and the
// velocity curve's order, each through the real decoder, Window, classifier and payload builders.
import { classify } from "../../../core/classify/mod.ts";
import {
  completeVectors,
  countVectors,
  decode,
  IcmpFragmentWatch,
  LinkType,
  PacketMeta,
  Vector,
  VECTOR_COUNT,
} from "../../../core/packet/mod.ts";
import { Window } from "../../../core/traffic/mod.ts";
import { heartbeatBody, incidentResolveBody } from "../../../core/report/mod.ts";
import { defaultConfig } from "../../../core/config/mod.ts";
import { Detector, Incident, type IncidentEvent, rateSources } from "../../../core/detect/mod.ts";
import { feed, synFlood, T0, web } from "../../support/traffic.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { bytes, eth, EtherType, icmp, ipv4, ipv6, tcp, udp } from "../../support/frames.ts";

const VICTIM = "198.18.0.10";

/** Decodes `frames` (Ethernet) through the real decoder into vectors and one Window. */
function traffic(frames: Uint8Array[], outbound = 0) {
  const window = new Window();
  window.reset(1_700_000_000, 1);
  const vectors = new Float64Array(VECTOR_COUNT);
  const m = new PacketMeta();
  for (const f of frames) {
    m.reset();
    m.wireLen = m.capLen = f.length;
    assert(decode(f, 0, f.length, LinkType.EN10MB, m), "decode() returned false");
    window.add(m);
    countVectors(m, vectors, 0);
  }
  // Packets the protected host sent (acknowledgements of a download).
  for (let i = 0; i < outbound; i++) {
    const f = eth(
      EtherType.IPV4,
      ipv4(17, udp(443, 50443, bytes(40)), { src: VICTIM, dst: "198.19.0.1" }),
    );
    m.reset();
    m.wireLen = m.capLen = f.length;
    decode(f, 0, f.length, LinkType.EN10MB, m);
    m.outbound = true;
    window.add(m);
  }
  completeVectors(vectors, 0);
  return { vectors, seconds: 1, stats: window.snapshot() };
}

function quic(src: string, sport: number, dport: number, len = 1200): Uint8Array {
  return eth(EtherType.IPV4, ipv4(17, udp(sport, dport, bytes(len)), { src, dst: VICTIM }));
}

Deno.test("decode() counts UDP to or from port 443 as QUIC and UDP to port 53 still as DNS queries", () => {
  const t = traffic([
    quic("198.19.0.1", 40000, 443),
    quic("198.19.0.1", 443, 40000),
    quic("198.19.0.1", 40000, 53),
  ]);
  assertEquals(t.vectors[Vector.UDP_QUIC], 2);
  assertEquals(t.vectors[Vector.DNS_QUERY], 1);
  assertEquals(t.vectors[Vector.UDP], 3);
});

Deno.test("classify() names UDP to port 443 from many sources quic_flood", () => {
  const frames = Array.from(
    { length: 2000 },
    (_, i) => quic(`198.19.${i % 250}.${1 + (i % 7)}`, 1024 + i, 443),
  );
  const c = classify(traffic(frames));
  assertEquals([c.attack_family, c.attack_subtype], ["udp_flood", "quic_flood"]);
  assertMatch(c.evidence.summary, /UDP from or to port 443 \(QUIC\)/);
});

Deno.test("classify() names UDP from one source to port 443 nobody answers quic_flood", () => {
  const frames = Array.from({ length: 2000 }, () => quic("198.19.0.1", 50443, 443));
  assertEquals(classify(traffic(frames)).attack_subtype, "quic_flood");
});

Deno.test("classify() sets one acknowledged QUIC download aside and never names it quic_flood", () => {
  // One server streams to the host, which acknowledges every third datagram.
  const frames = Array.from({ length: 2000 }, () => quic("198.19.0.1", 443, 50443));
  const c = classify(traffic(frames, 700));
  assertEquals(c.attack_subtype, "unknown");
  assertEquals(c.evidence.shares.background, 100);
});

Deno.test("classify() sets one QUIC download seen both ways aside when the direction is not known", () => {
  // Server to client and the client's acknowledgements, both counted inbound.
  const frames = Array.from(
    { length: 2000 },
    (_, i) => i % 4 === 3 ? quic("198.18.0.1", 50443, 443, 40) : quic("198.19.0.1", 443, 50443),
  );
  assertEquals(classify(traffic(frames)).attack_subtype, "unknown");
  // Two sources flooding port 443 from random ports are no flow.
  const two = Array.from(
    { length: 2000 },
    (_, i) => quic(`198.19.0.${1 + (i % 2)}`, 1024 + i, 443),
  );
  assertEquals(classify(traffic(two)).attack_subtype, "quic_flood");
});

/** Fragments of one ICMP echo datagram of `size` bytes of IP payload, 1480 bytes each. */
function pingOfDeath(size: number, src: string, v6 = false): Uint8Array[] {
  const body = icmp(8, 0, bytes(size - 8));
  const out: Uint8Array[] = [];
  for (let off = 0; off < size; off += 1480) {
    const piece = body.subarray(off, Math.min(size, off + 1480));
    const more = off + 1480 < size;
    out.push(
      v6
        ? eth(
          EtherType.IPV6,
          ipv6(58, piece, {
            src: "2001:2::9",
            dst: "2001:2::10",
            ext: [{ type: 44, offset: off, more }],
          }),
        )
        : eth(EtherType.IPV4, ipv4(1, piece, { src, dst: VICTIM, mf: more, fragOffset: off })),
    );
  }
  return out;
}

Deno.test("decode() marks an ICMP fragment ending past 65,535 bytes oversized, and no other", () => {
  const t = traffic(pingOfDeath(65600, "198.19.0.1"));
  assertEquals(t.vectors[Vector.FRAGMENTS], 45);
  assertEquals(t.vectors[Vector.ICMP_OVERSIZED], 1);
  assertEquals(t.vectors[Vector.ICMP], 45);
  assertEquals(traffic(pingOfDeath(65000, "198.19.0.1")).vectors[Vector.ICMP_OVERSIZED], 0);
  assertEquals(traffic(pingOfDeath(65600, "", true)).vectors[Vector.ICMP_OVERSIZED], 1);
});

Deno.test("classify() names ICMP fragments of datagrams over 65,535 bytes ping_of_death, not a fragment flood", () => {
  const frames = Array.from({ length: 30 }, (_, i) => pingOfDeath(65600, `198.19.1.${i + 1}`))
    .flat();
  const c = classify(traffic(frames));
  assertEquals([c.attack_family, c.attack_subtype], ["icmp_flood", "ping_of_death"]);
  // The same volume of ordinary large pings stays a fragment flood.
  const big = Array.from({ length: 30 }, (_, i) => pingOfDeath(60000, `198.19.1.${i + 1}`)).flat();
  assertEquals(classify(traffic(big)).attack_subtype, "ip_fragment_flood");
});

/** Decodes `frames` through the real decoder and an IcmpFragmentWatch; the vectors marked. */
function watched(frames: Uint8Array[]): number[] {
  const watch = new IcmpFragmentWatch();
  const m = new PacketMeta();
  return frames.map((f) => {
    m.reset();
    m.wireLen = m.capLen = f.length;
    decode(f, 0, f.length, LinkType.EN10MB, m);
    watch.mark(m);
    return m.vector;
  });
}

/** One ICMP fragment of datagram `id` at byte `off` with `len` bytes of data. */
function piece(id: number, off: number, len: number, more: boolean, v6 = false): Uint8Array {
  const data = off === 0 ? icmp(8, 0, bytes(len - 8)) : bytes(len);
  return v6
    ? eth(
      EtherType.IPV6,
      ipv6(58, data, {
        src: "2001:2::9",
        dst: "2001:2::10",
        ext: [{ type: 44, offset: off, more, id }],
      }),
    )
    : eth(
      EtherType.IPV4,
      ipv4(1, data, { src: "198.19.0.1", dst: VICTIM, mf: more, fragOffset: off, id }),
    );
}

Deno.test("IcmpFragmentWatch marks an ICMP fragment overlapping an earlier one of its datagram, and only that one", () => {
  const O = Vector.ICMP_OVERSIZED;
  const overlap = watched([
    piece(5, 0, 1480, true),
    piece(5, 1416, 1480, true),
    piece(5, 2960, 40, false),
  ]);
  assertEquals(overlap.map((v) => v === O), [false, true, false]);
  const v6 = watched([piece(6, 0, 1448, true, true), piece(6, 1440, 1448, false, true)]);
  assertEquals(v6.map((v) => v === O), [false, true]);
  // In order, in reverse order, and an identification reused by the next datagram: no overlap.
  const fine = watched([
    piece(7, 0, 1480, true),
    piece(7, 1480, 1480, true),
    piece(7, 2960, 40, false),
    piece(8, 2960, 40, false),
    piece(8, 1480, 1480, true),
    piece(8, 0, 1480, true),
    piece(7, 0, 1480, true),
    piece(7, 1480, 1480, false),
  ]);
  assert(!fine.includes(O), JSON.stringify(fine));
});

Deno.test("classify() names UDP from source port 3283 apple_remote_amplification", () => {
  const frames = Array.from(
    { length: 1000 },
    (_, i) =>
      eth(
        EtherType.IPV4,
        ipv4(17, udp(3283, 1024 + i, bytes(900)), {
          src: `198.19.2.${1 + (i % 200)}`,
          dst: VICTIM,
        }),
      ),
  );
  const c = classify(traffic(frames));
  assertEquals([c.attack_family, c.attack_subtype], ["udp_flood", "apple_remote_amplification"]);
});

Deno.test("rateSources() rates each top source by its own packets' traits, scaled by its share and volume", () => {
  // One SYN source with 80% of the packets, one web client (data, no SYN) with 20%.
  const frames = [
    ...Array.from(
      { length: 800 },
      (_, i) =>
        eth(
          EtherType.IPV4,
          ipv4(6, tcp(1024 + i, 80, 0x02), { src: "198.19.9.9", dst: VICTIM, ttl: 50 }),
        ),
    ),
    ...Array.from(
      { length: 200 },
      () =>
        eth(
          EtherType.IPV4,
          ipv4(6, tcp(40000, 80, 0x18, bytes(100)), { src: "198.18.0.50", dst: VICTIM, ttl: 50 }),
        ),
    ),
  ];
  const window = new Window();
  window.reset(1_700_000_000, 1);
  const m = new PacketMeta();
  for (const f of frames) {
    m.reset();
    m.wireLen = m.capLen = f.length;
    assert(decode(f, 0, f.length, LinkType.EN10MB, m), "decode() returned false");
    window.add(m);
  }
  const rated = rateSources(window.snapshot(10, true));
  assertEquals(rated.map((s) => [s.ip, s.pct]), [["198.19.9.9", 80], ["198.18.0.50", 20]]);
  // SYN-only weighs 0.6 x 80% (the incident's TCP is 80% pure SYNs). The SYN source has every
  // trait (traits 1); the client one protocol and one TTL only: (0.1 + 0.1) / (0.2 + 0.48).
  const magnitude = (pps: number) => 2 / 3 + Math.log10(pps + 1) / 9;
  assertEquals(rated[0].confidence, Math.round(100 * (0.4 + 0.6 * magnitude(800))));
  assertEquals(
    rated[1].confidence,
    Math.round(100 * (0.2 / 0.68) * (0.4 + 0.6 * magnitude(200))),
  );
  assertEquals(Object.keys(rated[0]).sort(), ["confidence", "count", "ip", "pct"]);
  // Without per-source traits, both get the whole traffic's: 80% pure SYNs.
  const whole = rateSources(window.snapshot(10));
  const mixed = (0.2 + 0.48 * 0.8) / 0.68;
  assertEquals(whole[1].confidence, Math.round(100 * mixed * (0.4 + 0.6 * magnitude(200))));
  const sampled = rateSources(window.snapshot(10, true), 10);
  assert(sampled[1].confidence > rated[1].confidence, "a sampled count stands for more packets/s");
  assertEquals(rateSources({ ...traffic([]).stats }), []);
});

Deno.test("heartbeatBody() sends the hourly p99 as a number: the rolling p99 until the hour slot is learned", () => {
  const state = {
    version: "t",
    baselineReady: true,
    baselineAvgPps: 100,
    baselineP99Pps: 240.04,
    baselineHourlyReady: false,
    baselineCurrentHourP99: null,
    circuitBreaker: "closed" as const,
    retryQueueSize: 0,
    pcapActive: false,
    srcIpCount: 3,
  };
  assertEquals(heartbeatBody(state).baseline_current_hour_p99, 240);
  assertEquals(
    heartbeatBody({ ...state, baselineCurrentHourP99: 512.26 }).baseline_current_hour_p99,
    512.3,
  );
  assertEquals(heartbeatBody({ ...state, baselineP99Pps: 0 }).baseline_current_hour_p99, 0);
});

Deno.test("Incident keeps a velocity curve of a three-hour incident in time order, one point per merged step", () => {
  const inc = new Incident({
    id: "x",
    target: "interface",
    startedUs: 0,
    openedUs: 0,
    trigger: { metric: "pps", rate: 1, threshold: 1, ratio: 1 },
    rule: "test",
    thresholds: new Float64Array(6),
    baseline: { pps: 0, bps: 0 },
  });
  const start = 1_700_000_000;
  // At open, mid-second: that second's point takes the full second's rate when it ends.
  inc.second(start + 0.8, 5000, 8e6);
  assertEquals(inc.velocity, [{ t: start, pps: 5000 }]);
  for (let s = 0; s < 3 * 3600; s++) {
    // A gap of ten minutes in the middle (the detector skips idle packet time).
    if (s >= 5000 && s < 5600) continue;
    inc.second(start + s, 1000 + (s % 60), 8e6);
    if (s === 1) assertEquals(inc.velocity, [{ t: start, pps: 1000 }, { t: start + 1, pps: 1001 }]);
  }
  const curve = inc.velocity;
  assert(curve.length > 300 && curve.length < 600, `${curve.length} points`);
  for (let i = 1; i < curve.length; i++) {
    assert(
      curve[i].t > curve[i - 1].t,
      `out of order at ${i}: ${curve[i - 1].t} then ${curve[i].t}`,
    );
  }
  assertEquals(curve[0].t, start);
  assertEquals(inc.peakPps, 5000);
  assert(curve.at(-1)!.t <= start + 3 * 3600 - 1);
  // The wire body keeps that order, and puts a curve handed over unordered in order.
  const body = incidentResolveBody({
    type: "incident",
    event: "resolve",
    id: "x",
    velocity_curve: [{ t: 3, pps: 1 }, { t: 1, pps: 2 }, { t: 2, pps: 3 }, { t: 2, pps: 4 }],
  });
  assertEquals(body.velocity_curve, [{ t: 1, pps: 2 }, { t: 2, pps: 3 }, { t: 3, pps: 1 }]);
});

Deno.test("Detector sends the velocity curve of a 25-minute flood with a pause in time order, merged at 600 points", () => {
  const events: IncidentEvent[] = [];
  const d = new Detector({
    ...defaultConfig(),
    min_pps_threshold: 1000,
    min_bps_threshold: 50e6,
    min_syn_pps_threshold: 300,
    min_udp_pps_threshold: 1000,
    min_icmp_pps_threshold: 500,
    min_fragment_pps_threshold: 500,
    attack_holddown: 30,
  }, { onEvent: (e) => events.push(e) });
  feed(d, [
    { fromS: 0, toS: 1560, pps: 50, shape: web(VICTIM) },
    { fromS: 10, toS: 800, pps: 400, shape: synFlood(VICTIM) },
    // Twenty seconds without the flood: under the hold-down, still one incident.
    { fromS: 820, toS: 1520, pps: 400, shape: synFlood(VICTIM) },
  ]);
  d.finish();
  const resolves = events.filter((e) => e.event === "resolve");
  assertEquals(resolves.length, 1, JSON.stringify(events.map((e) => [e.event, e.opened_by])));
  const curve = resolves[0].velocity_curve as { t: number; pps: number }[];
  assert(curve.length >= 300 && curve.length < 600, `${curve.length} points`);
  for (let i = 1; i < curve.length; i++) {
    assert(curve[i].t > curve[i - 1].t, `out of order at ${i}: ${curve[i - 1].t}, ${curve[i].t}`);
  }
  // Merged twice (1,535 s): one point per 4 s, evenly from the second the flood went over.
  assert(curve.every((p, i) => i === 0 || p.t - curve[i - 1].t === 4), JSON.stringify(curve));
  assert(curve[0].t >= T0 + 9 && curve.at(-1)!.t <= T0 + 1560, JSON.stringify(curve.slice(0, 2)));
  const body = incidentResolveBody(resolves[0]);
  assertEquals(body.velocity_curve, curve);
});
