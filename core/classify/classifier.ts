/**
 * Attack classification: names the kind of attack in a span of traffic (family and subtype,
 * as the Flowtriq dashboard names them), says how sure it is, whether the sources are spoofed
 * or a botnet, and keeps the numbers that decided as evidence. Pure and deterministic: it
 * reads the vector counters of ``core/packet/vectors.ts`` and, when available, the span's
 * {@linkcode WindowStats}.
 *
 * ## How a span is read
 *
 * 1. **Parts.** Each packet belongs to one candidate vector ("part"): a TCP flag combination
 *    (SYN, SYN-ACK, ACK, PSH-ACK, RST, FIN, FIN+PSH+URG, no flags, invalid combinations), UDP
 *    from an amplification source port (all services together, one part), UDP to port 53, other
 *    UDP, ICMP, GRE, other protocols. Later IP fragments carry no ports; they are shared among
 *    the parts of their protocol by those parts' packets (a DNS response's tail belongs to the
 *    DNS response). TCP's later fragments are exact (every TCP header counts in one flag
 *    vector); UDP takes the remaining later fragments first, ICMP and others the rest.
 * 2. **Connections aborted.** When RSTs and completion segments (ACK, PSH+ACK) are each at
 *    least half the SYNs, the span holds connections opened, completed and reset at once: their
 *    SYN, ACK, PSH+ACK and RST packets are one part, tcp_flood/`connection_flood` (bots that
 *    complete real handshakes and abort; a SYN flood has no completions, sessions few RSTs).
 * 3. **Answers.** When the direction is known ({@linkcode TrafficProfile.answered}), the RSTs
 *    answering the host's own SYN-ACKs (at most one per SYN-ACK sent and per SYN) belong to
 *    the SYN part (unless connections are aborted): a SYN flood's sources reset the handshakes they never asked for.
 * 4. **Background.** Ordinary TCP sessions are pure ACKs interleaved with data segments: when
 *    the smaller of ACK and PSH+ACK is at least 15% of the two, and the span has at most one
 *    source per 4 TCP packets (connections carry many packets; a spoofed flood does not), the
 *    ACK, PSH-ACK, FIN and RST packets are set aside as background (unless connections are
 *    aborted). A flag flood sends one combination, so it never looks like this. SYN and SYN-ACK
 *    are never background.
 * 5. **Weights.** A part's weight is the larger of its packet share and its byte share of the
 *    attack traffic (the span minus background): packet floods aim at packet rate, reflection
 *    at bandwidth, and either is the attack. Byte shares need the statistics (bytes per
 *    protocol, split inside a protocol by packets). A part must also hold at least 20% of the
 *    whole span (packets or bytes): a vector below a fifth of the traffic does not make it an
 *    attack, which keeps benign mixes "unknown".
 * 6. **Verdict.** Parts with weight >= 25% (and the 20% floor) are the attack's parts. If they
 *    all belong to one family and together weigh >= 50% (a majority), that family is the
 *    attack, with the subtype of its heaviest part (SYN beside SYN-ACK is one syn_flood; the
 *    other part is in `evidence.parts`). If they span two or more families, the attack is
 *    `multi_vector`, its subtype `multi_<family of the heaviest part>` (`multi_syn_flood`,
 *    `multi_udp_flood`, `multi_dns_flood`, ...) when that part weighs at least 1.5 times the
 *    heaviest part of another family, else `multi_mixed`; the parts (family, subtype, share)
 *    are in `evidence.parts`, heaviest first, and the rule names them joined
 *    (`syn_flood+udp_flood`; generic UDP is named `udp_flood`). Otherwise: `unknown`.
 *    25% is a quarter: a second vector of that size needs its own mitigation and cannot be
 *    noise around a single-vector flood (whose side traffic, like the ICMP unreachables or
 *    RSTs the victim's neighbours provoke, stays well under it in every capture we have).
 * 7. **Amplification.** UDP from an amplification source port (see `AMPLIFICATION_SERVICES`;
 *    500 and 4500 are both isakmp) is named `<service>_amplification` when one service sends
 *    >= 60% of those packets, else `multi_amplification` (several reflector kinds at once,
 *    none a clear majority). DNS amplification and DNS query floods are the dns_flood family,
 *    the others udp_flood. UDP from or to port 443 is its own part, `quic_flood` (udp_flood),
 *    unless it is one established QUIC flow, set aside as background like TCP sessions: its
 *    two busiest sources carry >= 90% of it and it goes both ways (the protected addresses
 *    sent back >= 5% as many packets; direction unknown: port 443 is both a source and a
 *    destination port of >= 5% of it). Other UDP is `small_packet_flood` when its mean wire
 *    size is <= 100 bytes (payloads of a few dozen bytes: aimed at packet rate), else
 *    `volumetric`. DNS
 *    queries are `random_subdomain` ("water torture") when the statistics read at least 50 of
 *    them, at least half the names distinct and at least half under one zone, else
 *    `dns_query_flood`.
 * 8. **Fragments.** When fragments are >= 50% of the span's packets and the main part is not
 *    reflected, the attack is a fragment flood (`udp_fragment_flood` for UDP, else
 *    `ip_fragment_flood`): most packets are pieces, which is what the victim must reassemble.
 *    Large amplified responses that fragment stay amplification.
 * 9. **ICMP** is `ping_of_death` when fragments that break reassembly (`ICMP_OVERSIZED`:
 *    later fragments ending past 65,535 bytes, i.e. offset + length beyond what IP allows, and
 *    fragments overlapping an earlier one of their datagram) are >= 1% of the ICMP packets (one
 *    oversized datagram is 45 fragments on a 1500-byte link, one or two past the limit), a
 *    verdict the fragment rule does not override; else `ping_flood` when echo requests are
 *    >= 50% of the ICMP packets with a header, else `icmp_flood`. **GRE** is
 *    protocol_flood/`gre_flood`; other IP protocols are `ip_proto_<n>_flood` (from
 *    {@linkcode TrafficProfile.ipProtocols}) and non-IP frames `non_ip_flood`. (`http_flood`
 *    is the L7 side's family; this L3/L4 classifier never names it.)
 *
 * ## Sources (needs the statistics)
 *
 * Reflected traffic (amplification, SYN-ACK) comes from real reflectors: never spoofed, never
 * a botnet. Connections completed and aborted come from real hosts (a handshake needs the
 * answer): never spoofed, a botnet with at least 100 sources. Otherwise, with at least 100 distinct sources, the sources are **spoofed** when
 * the top two TTL values hold >= 80% of the packets (hosts at hundreds of addresses cannot all
 * be the same hop count away: one generator is behind them), or there is at least one source
 * per two packets (random addresses each sending about once), or the source entropy is >= 11.5
 * bits (near the 12-bit ceiling of the estimator) with at least one source per four packets.
 * Not spoofed with >= 100 sources (each sending several packets, TTLs spread) is a **botnet**.
 *
 * ## Confidence (0-100)
 *
 * The verdict's weight (capped at 1; for a multi-vector attack the summed weight of its parts)
 * times a sample factor, `min(1, log10(packets + 1) / 3)`: 1000 attack packets and more count
 * fully, each factor of ten fewer takes a third off (100 packets: 67%, 10: 35%). For `unknown`
 * it is one minus how much the heaviest part stands out (its weight, at most its share of the
 * whole span), times the same factor.
 *
 * @module
 */

import { breakDown, type Part } from "./_parts.ts";
import { judgeSources, ttlTopShare } from "./_sources.ts";
import { pct, round3, shares, summarize } from "./_evidence.ts";
import {
  DOMINANT_SHARE,
  FRAGMENT_SHARE,
  FULL_SAMPLE_PACKETS,
  MAIN_VECTOR_RATIO,
  PART_SHARE,
  SPAN_FLOOR,
} from "./_thresholds.ts";
import { Vector } from "../packet/mod.ts";
import type { WindowStats } from "../traffic/mod.ts";

/** Attack families, as the dashboard names them. */
export type AttackFamily =
  | "syn_flood"
  | "tcp_flood"
  | "udp_flood"
  | "dns_flood"
  | "icmp_flood"
  | "fragment_flood"
  | "protocol_flood"
  | "multi_vector"
  | "http_flood"
  | "unknown";

/** The traffic of one span to classify. */
export interface TrafficProfile {
  /** Vector counters (`core/packet/vectors.ts` layout, VECTOR_COUNT entries) over the span. */
  vectors: ArrayLike<number>;
  /** Seconds the span covers (> 0). */
  seconds: number;
  /** WindowStats of the same span when available (sources, TTLs, top ports, bytes). */
  stats?: WindowStats;
  /** Packets per IP protocol number (256 entries) when known: names other-protocol floods. */
  ipProtocols?: ArrayLike<number>;
  /**
   * SYN-ACKs the protected addresses sent over the span, when the direction is known. A SYN
   * flood's sources answer each with a RST (real hosts that sent no SYN; a flooding tool's own
   * kernel): up to this many RSTs, and no more than the SYNs, are part of the SYN flood.
   */
  answered?: number;
}

/** One part of a classification (a vector of a multi-vector attack, or a minor one). */
export interface PartSummary {
  /** Attack family of the part. */
  family: AttackFamily;
  /** Subtype of the part. */
  subtype: string;
  /** Weight of the part: max(packet, byte) share of the attack traffic, percent. */
  share: number;
}

/** The numbers that decided a classification. */
export interface Evidence {
  /** One sentence of the deciding numbers. */
  summary: string;
  /** Which rule decided, with its threshold. */
  rule: string;
  /** Packet shares (percent, one decimal) of the vectors present; `bytes_<proto>` byte shares. */
  shares: Record<string, number>;
  /** Packets of the span. */
  packets: number;
  /** Wire bytes of the span. */
  bytes: number;
  /** Mean packet size (bytes). */
  mean_packet_bytes: number;
  /** Packets per second. */
  pps: number;
  /** Bits per second. */
  bps: number;
  /** Distinct sources (with statistics). */
  sources?: number;
  /** Shannon entropy of the sources (bits, with statistics). */
  src_ip_entropy?: number;
  /** Top source port and its share of the statistics' packets (percent). */
  top_src_port?: { port: number; pct: number };
  /** Top destination port and its share of the statistics' packets (percent). */
  top_dst_port?: { port: number; pct: number };
  /** Share of IP packets on the one or two most common TTL values (percent). */
  ttl_top_pct?: number;
  /** The parts when there are two or more, heaviest first. */
  parts?: PartSummary[];
  /** Why the sources look spoofed, or not. */
  spoofing_reason?: string;
  /** Why the sources look like a botnet, or not. */
  botnet_reason?: string;
}

/** What {@linkcode classify} says about a span. */
export interface Classification {
  /** The attack family (`syn_flood`, `udp_flood`, `dns_amplification`, ..., `unknown`). */
  attack_family: AttackFamily;
  /** The subtype within the family. */
  attack_subtype: string;
  /** 0-100. */
  confidence: number;
  /** Whether the sources look spoofed (random, one-shot, TTL-uniform). */
  spoofing_detected: boolean;
  /** Whether the sources look like a botnet (many real hosts). */
  botnet_detected: boolean;
  /** The numbers that decided. */
  evidence: Evidence;
}

/**
 * Classifies the traffic of one span (see the module documentation for the rules).
 *
 * @example A capture as one attack
 * ```ts
 * import { CaptureParser, countVectors, VECTOR_COUNT } from "../packet/mod.ts";
 * import { Pipeline, Window } from "../traffic/mod.ts";
 * import { classify } from "./mod.ts";
 *
 * const vectors = new Float64Array(VECTOR_COUNT);
 * const all = new Window();
 * const pipeline = new Pipeline((w) => all.merge(w));
 * const counting = {
 *   packet(buf: Uint8Array, offset: number, cap: number, wire: number, ts: number, lt: number) {
 *     pipeline.packet(buf, offset, cap, wire, ts, lt);
 *     countVectors(pipeline.meta, vectors, 0);
 *   },
 * };
 * const bytes = await Deno.readFile("attack.pcap");
 * new CaptureParser().parse(bytes, 0, bytes.length, counting);
 * pipeline.flush();
 * const c = classify({ vectors, seconds: Math.max(all.seconds, 1), stats: all.snapshot() });
 * console.log(c.attack_family, c.attack_subtype, c.evidence.summary);
 * ```
 */
export function classify(profile: TrafficProfile): Classification {
  const v = profile.vectors;
  const stats = profile.stats;
  const bd = breakDown(profile);
  const candidates = bd.parts.filter((p) => p.weight >= PART_SHARE && p.spanShare >= SPAN_FLOOR);
  const families = [...new Set(candidates.map((p) => p.family))];
  const weight = candidates.reduce((n, p) => n + p.weight, 0);
  const sample = sampleFactor(bd.packets - bd.background.packets);

  let family: AttackFamily = "unknown";
  let subtype = "unknown";
  let confidence: number;
  let rule: string;
  let main: Part[] = [];
  if (families.length === 1 && weight >= DOMINANT_SHARE) {
    main = candidates;
    family = candidates[0].family;
    subtype = candidates[0].subtype;
    rule = `${describeWeights(candidates)} >= ${DOMINANT_SHARE} of attack traffic`;
    if (candidates[0].key === "udp_amp") {
      rule += subtype === "multi_amplification"
        ? `, no service >= 0.6 of amplified packets`
        : `, dominant service ${bd.services[0].name} >= 0.6 of amplified packets`;
    }
    const fragments = bd.packets > 0 ? v[Vector.FRAGMENTS] / bd.packets : 0;
    const pod = subtype === "ping_of_death"; // its fragments are the attack's own shape
    if (fragments >= FRAGMENT_SHARE && !candidates[0].reflection && !pod) {
      family = "fragment_flood";
      subtype = candidates[0].protocol === "udp" ? "udp_fragment_flood" : "ip_fragment_flood";
      rule += `, fragments ${round3(fragments)} >= ${FRAGMENT_SHARE} of packets`;
    }
    confidence = Math.round(100 * Math.min(1, weight) * sample);
  } else if (families.length >= 2) {
    main = candidates;
    family = "multi_vector";
    subtype = multiSubtype(candidates);
    rule = `${families.length} families with parts >= ${PART_SHARE} of attack traffic: ` +
      describeWeights(candidates) + ` (${
      [...new Set(candidates.map((p) => p.name))].join("+")
    }; main vector when >= ${MAIN_VECTOR_RATIO}x the next family)`;
    confidence = Math.round(100 * Math.min(1, weight) * sample);
  } else {
    // How much the heaviest part stands out: its weight, but no more than its span share.
    const standout = bd.parts.reduce((m, p) => Math.max(m, Math.min(p.weight, p.spanShare)), 0);
    const top = bd.parts[0];
    rule = top
      ? `no part >= ${DOMINANT_SHARE} of attack traffic (and >= ${SPAN_FLOOR} of the span), ` +
        `fewer than two families >= ${PART_SHARE} (heaviest ${top.key}: ` +
        `${round3(top.weight)} of attack traffic, ${round3(top.spanShare)} of the span)`
      : bd.packets > 0
      ? "only ordinary TCP session traffic"
      : "no packets";
    confidence = Math.round(100 * (1 - standout) * sampleFactor(bd.packets));
  }
  if (bd.background.packets > 0) rule += " (TCP session background set aside)";

  const sources = main.length > 0
    ? judgeSources(stats, main[0].reflection, main[0].key === "connection")
    : { spoofing: false, botnet: false };
  const evidence = baseEvidence(profile, bd.packets, bd.bytes);
  evidence.summary = summarize(main, bd, v, stats);
  evidence.rule = rule;
  evidence.shares = shares(v, bd, stats);
  if (stats) addSourceEvidence(evidence, stats);
  if (candidates.length >= 2) {
    evidence.parts = candidates.map((p) => ({
      family: p.family,
      subtype: p.subtype,
      share: pct(p.weight),
    }));
  }
  if (sources.spoofingReason) evidence.spoofing_reason = sources.spoofingReason;
  if (sources.botnetReason) evidence.botnet_reason = sources.botnetReason;
  return {
    attack_family: family,
    attack_subtype: subtype,
    confidence,
    spoofing_detected: sources.spoofing,
    botnet_detected: sources.botnet,
    evidence,
  };
}

/**
 * Subtype of a multi-vector attack: `multi_<family>` of the heaviest part when it weighs at
 * least MAIN_VECTOR_RATIO times the heaviest part of another family, else `multi_mixed`.
 */
function multiSubtype(parts: Part[]): string {
  const top = parts[0];
  const next = parts.find((p) => p.family !== top.family);
  return next && top.weight < MAIN_VECTOR_RATIO * next.weight - 1e-9
    ? "multi_mixed"
    : `multi_${top.family}`;
}

/** 1 at FULL_SAMPLE_PACKETS and above; a third less per factor of ten fewer. */
function sampleFactor(packets: number): number {
  if (!(packets > 0)) return 0;
  return Math.min(1, Math.log10(packets + 1) / Math.log10(FULL_SAMPLE_PACKETS));
}

function describeWeights(parts: Part[]): string {
  return parts.map((p) => `${p.key} ${round3(p.weight)}`).join(" + ");
}

function baseEvidence(profile: TrafficProfile, packets: number, bytes: number): Evidence {
  const seconds = profile.seconds > 0 ? profile.seconds : 1;
  return {
    summary: "",
    rule: "",
    shares: {},
    packets,
    bytes,
    mean_packet_bytes: packets > 0 ? round3(bytes / packets) : 0,
    pps: round3(packets / seconds),
    bps: round3(bytes * 8 / seconds),
  };
}

function addSourceEvidence(evidence: Evidence, stats: WindowStats): void {
  // Ports are counted in the statistics, over all of the span's packets.
  const total = stats.packets;
  evidence.sources = stats.src_count;
  evidence.src_ip_entropy = stats.src_ip_entropy;
  const src = stats.top_src_ports[0];
  if (src) evidence.top_src_port = { port: src.port, pct: pct(src.count / total) };
  const dst = stats.top_dst_ports[0];
  if (dst) evidence.top_dst_port = { port: dst.port, pct: pct(dst.count / total) };
  if (stats.ipv4 + stats.ipv6 > 0) evidence.ttl_top_pct = pct(ttlTopShare(stats));
}
