// Splits a traffic profile into candidate attack parts (one per vector that can be an attack on
// its own), attributes later fragments to them, and sets ordinary TCP session traffic aside.
import type { AttackFamily, TrafficProfile } from "./classifier.ts";
import {
  ABORTED_SHARE,
  ECHO_SHARE,
  OVERSIZED_SHARE,
  QUIC_ANSWERED,
  QUIC_ONE_FLOW,
  RANDOM_NAMES_MIN_QUERIES,
  RANDOM_NAMES_SHARE,
  SERVICE_SHARE,
  SESSION_MIX,
  SESSION_SOURCES_PER_PACKET,
  SMALL_PACKET_BYTES,
} from "./_thresholds.ts";
import { AMPLIFICATION_SERVICES, QUIC_PORT, Vector } from "../packet/mod.ts";

/** Protocol class of a part (as in WindowStats.protocols). */
export type ProtocolClass = "tcp" | "udp" | "icmp" | "gre" | "other";

/** One candidate attack vector of a span. */
export interface Part {
  /** Vector key, as in evidence shares ("syn", "udp_amp", ...). */
  key: string;
  family: AttackFamily;
  subtype: string;
  /** Name inside a multi-vector subtype (the subtype, or the family for generic UDP). */
  name: string;
  /** Human words for the summary ("TCP SYN", "UDP from source port 161 (snmp)"). */
  label: string;
  protocol: ProtocolClass;
  /** Reflected traffic: the sources are real reflectors (amplification, SYN-ACK). */
  reflection: boolean;
  /** Packets, later fragments attributed included. */
  packets: number;
  /** Estimated bytes (protocol bytes split by packets); NaN without statistics. */
  bytes: number;
  /** max(packet share, byte share) of the attack traffic (span minus background). */
  weight: number;
  /** max(packet share, byte share) of the whole span. */
  spanShare: number;
}

/** Packets of one amplification service (500 and 4500 are both "isakmp"). */
export interface ServiceCount {
  name: string;
  ports: number[];
  packets: number;
}

/** A profile split into parts. */
export interface Breakdown {
  packets: number;
  bytes: number;
  /** Every non-empty part, weight descending (ties in vector order). */
  parts: Part[];
  /** Packets and estimated bytes set aside as ordinary TCP session traffic. */
  background: { packets: number; bytes: number };
  /** Amplification services with packets, descending. */
  services: ServiceCount[];
  /** Estimated later fragments per class (TCP exact, UDP then the rest). */
  laterFragments: { tcp: number; udp: number; rest: number };
}

interface Spec {
  key: string;
  family: AttackFamily;
  subtype: string;
  label: string;
  reflection?: boolean;
  name?: string;
}

const TCP_SPECS: readonly (readonly [number, Spec])[] = [
  [Vector.SYN, { key: "syn", family: "syn_flood", subtype: "syn_flood", label: "TCP SYN" }],
  [Vector.SYN_ACK, {
    key: "syn_ack",
    family: "syn_flood",
    subtype: "syn_ack_flood",
    label: "TCP SYN-ACK",
    reflection: true,
  }],
  [Vector.ACK, { key: "ack", family: "tcp_flood", subtype: "ack_flood", label: "TCP ACK" }],
  [Vector.PSH_ACK, {
    key: "psh_ack",
    family: "tcp_flood",
    subtype: "psh_ack_flood",
    label: "TCP PSH-ACK",
  }],
  [Vector.RST, { key: "rst", family: "tcp_flood", subtype: "rst_flood", label: "TCP RST" }],
  [Vector.FIN, { key: "fin", family: "tcp_flood", subtype: "fin_flood", label: "TCP FIN" }],
  [Vector.XMAS, {
    key: "xmas",
    family: "tcp_flood",
    subtype: "xmas_flood",
    label: "TCP FIN+PSH+URG (xmas)",
  }],
  [Vector.NULL, {
    key: "null",
    family: "tcp_flood",
    subtype: "null_flood",
    label: "TCP without flags",
  }],
  [Vector.TCP_ANOMALOUS, {
    key: "tcp_anomalous",
    family: "tcp_flood",
    subtype: "anomalous_flags_flood",
    label: "TCP with invalid flag combinations",
  }],
];

/** The segments of connections opened and aborted (see `ABORTED_SHARE`). */
const CONNECTION_VECTORS: readonly number[] = [Vector.SYN, Vector.ACK, Vector.PSH_ACK, Vector.RST];
const CONNECTION_SPEC: Spec = {
  key: "connection",
  family: "tcp_flood",
  subtype: "connection_flood",
  label: "TCP connections completed and aborted with RST",
};

/** SYNs with the RSTs their sources answered the host's SYN-ACKs with (see `answered`). */
const SYN_ANSWERED_SPEC: Spec = {
  key: "syn",
  family: "syn_flood",
  subtype: "syn_flood",
  label: "TCP SYN (with the RSTs answering the host's SYN-ACKs)",
};

/** Vectors that are ordinary connection traffic when the TCP mix looks like sessions. */
const SESSION_KEYS = new Set(["ack", "psh_ack", "fin", "rst"]);

/** Splits `profile` into parts. */
export function breakDown(profile: TrafficProfile): Breakdown {
  const v = profile.vectors;
  const stats = profile.stats;
  const packets = v[Vector.PACKETS];
  const bytes = v[Vector.BYTES];
  const classBytes = (c: ProtocolClass): number =>
    stats && stats.bytes > 0 ? (stats.protocols[c].bytes / stats.bytes) * bytes : NaN;
  const raw: { spec: Spec; protocol: ProtocolClass; packets: number; bytes: number }[] = [];
  // Parts of one class share its packets (later fragments included) and bytes by their
  // packets with an L4 header: later fragments belong to the datagrams they continue.
  const addClass = (
    protocol: ProtocolClass,
    total: number,
    specs: [Spec, number][],
    fragmentsOnly: Spec,
  ): void => {
    if (total <= 0) return;
    const b = classBytes(protocol);
    const ported = specs.reduce((n, [, count]) => n + count, 0);
    if (ported <= 0) {
      raw.push({ spec: fragmentsOnly, protocol, packets: total, bytes: b });
      return;
    }
    for (const [spec, count] of specs) {
      if (count > 0) {
        raw.push({ spec, protocol, packets: total * count / ported, bytes: b * count / ported });
      }
    }
  };

  // TCP: every TCP packet with a header counts in exactly one flag vector, so the later
  // fragments are exactly the rest; UDP takes the remaining later fragments first.
  const tcp = v[Vector.TCP];
  const udp = v[Vector.UDP];
  const ack = v[Vector.ACK];
  const pshAck = v[Vector.PSH_ACK];
  // Connections opened, completed and reset (a connection flood): one part of their SYN, ACK,
  // data and RST segments.
  const syn = v[Vector.SYN];
  const aborted = syn > 0 && v[Vector.RST] >= ABORTED_SHARE * syn &&
    ack + pshAck >= ABORTED_SHARE * syn;
  // The RSTs a SYN flood's sources answer the host's SYN-ACKs with: at most one per SYN-ACK
  // sent and one per SYN.
  const answers = aborted ? 0 : Math.min(v[Vector.RST], syn, profile.answered ?? 0);
  const tcpSpecs = aborted
    ? [
      [CONNECTION_SPEC, syn + ack + pshAck + v[Vector.RST]] as [Spec, number],
      ...TCP_SPECS.filter(([i]) => !CONNECTION_VECTORS.includes(i))
        .map(([i, spec]): [Spec, number] => [spec, v[i]]),
    ]
    : TCP_SPECS.map(([i, spec]): [Spec, number] =>
      i === Vector.SYN && answers > 0
        ? [SYN_ANSWERED_SPEC, syn + answers]
        : [spec, i === Vector.RST ? v[i] - answers : v[i]]
    );
  const tcpPorted = tcpSpecs.reduce((n, [, c]) => n + c, 0);
  const laterTcp = Math.max(0, tcp - tcpPorted);
  const laterAll = v[Vector.FRAG_NON_FIRST];
  // UDP packets counted with a port (amplification, queries) cannot be later fragments.
  const quic = v[Vector.UDP_QUIC];
  const udpUnknown = Math.max(0, udp - v[Vector.UDP_AMP] - v[Vector.DNS_QUERY] - quic);
  const laterUdp = Math.min(udpUnknown, Math.max(0, laterAll - laterTcp));
  const laterRest = Math.max(0, laterAll - laterTcp - laterUdp);
  addClass("tcp", tcp, tcpSpecs, fragmentOnly("ip_fragment_flood", "TCP later fragments"));

  const services = serviceCounts(v);
  const amp = v[Vector.UDP_AMP];
  const dnsQueries = v[Vector.DNS_QUERY];
  const udpPorted = udp - laterUdp;
  const udpMean = stats && stats.protocols.udp.packets > 0
    ? stats.protocols.udp.bytes / stats.protocols.udp.packets
    : packets > 0
    ? bytes / packets
    : 0;
  const generic = udpMean <= SMALL_PACKET_BYTES ? "small_packet_flood" : "volumetric";
  addClass("udp", udp, [
    [ampSpec(services, amp), amp],
    [dnsQuerySpec(profile), dnsQueries],
    [QUIC_SPEC, quic],
    [
      { key: "udp", family: "udp_flood", subtype: generic, label: "UDP", name: "udp_flood" },
      Math
        .max(0, udpPorted - amp - dnsQueries - quic),
    ],
  ], fragmentOnly("udp_fragment_flood", "UDP later fragments"));

  const icmp = v[Vector.ICMP];
  const icmpHeaders = Math.max(0, icmp - laterRest);
  const echo = icmpHeaders > 0 && v[Vector.ICMP_ECHO] >= ECHO_SHARE * icmpHeaders;
  const oversized = v[Vector.ICMP_OVERSIZED];
  addClass(
    "icmp",
    icmp,
    [[
      oversized > 0 && oversized >= OVERSIZED_SHARE * icmp
        ? {
          key: "icmp",
          family: "icmp_flood",
          subtype: "ping_of_death",
          label: `ICMP fragments breaking reassembly (${oversized} oversized or overlapping)`,
        }
        : {
          key: "icmp",
          family: "icmp_flood",
          subtype: echo ? "ping_flood" : "icmp_flood",
          label: echo ? "ICMP echo requests" : "ICMP",
        },
      icmp,
    ]],
    fragmentOnly("ip_fragment_flood", "ICMP"),
  );
  addClass("gre", v[Vector.GRE], [[{
    key: "gre",
    family: "protocol_flood",
    subtype: "gre_flood",
    label: "GRE",
  }, v[Vector.GRE]]], fragmentOnly("gre_flood", "GRE"));
  const other = otherSpec(profile, v[Vector.OTHER]);
  addClass("other", v[Vector.OTHER], [[other, v[Vector.OTHER]]], other);

  // Ordinary TCP sessions: pure ACKs interleaved with data segments (PSH+ACK), from sources
  // that each send many packets. A flag flood sends one combination, or comes from everywhere.
  const session = !aborted && ack + pshAck > 0 &&
    Math.min(ack, pshAck) >= SESSION_MIX * (ack + pshAck) &&
    (!stats || stats.src_count <= SESSION_SOURCES_PER_PACKET * tcp);
  const background = { packets: 0, bytes: 0 };
  const quicFlow = quic > 0 && oneQuicFlow(stats, quic / packets);
  const attack = raw.filter((r) => {
    const flow = quicFlow && r.spec.key === "quic";
    if (!flow && (!session || r.protocol !== "tcp" || !SESSION_KEYS.has(r.spec.key))) return true;
    background.packets += r.packets;
    background.bytes += r.bytes;
    return false;
  });

  const attackPackets = packets - background.packets;
  const attackBytes = bytes - background.bytes;
  const parts = attack.map((r, order): Part & { order: number } => ({
    key: r.spec.key,
    family: r.spec.family,
    subtype: r.spec.subtype,
    name: r.spec.name ?? r.spec.subtype,
    label: r.spec.label,
    protocol: r.protocol,
    reflection: r.spec.reflection ?? false,
    packets: r.packets,
    bytes: r.bytes,
    weight: shareOf(r.packets, r.bytes, attackPackets, attackBytes),
    spanShare: shareOf(r.packets, r.bytes, packets, bytes),
    order,
  })).sort((a, b) => b.weight - a.weight || a.order - b.order)
    .map(({ order: _, ...part }) => part);
  return {
    packets,
    bytes,
    parts,
    background,
    services,
    laterFragments: { tcp: laterTcp, udp: laterUdp, rest: laterRest },
  };
}

/** UDP from or to port 443, when not one established QUIC flow (see `oneQuicFlow`). */
const QUIC_SPEC: Spec = {
  key: "quic",
  family: "udp_flood",
  subtype: "quic_flood",
  label: "UDP from or to port 443 (QUIC)",
};

/**
 * One established QUIC flow (a download, a call): its two ends (the two busiest sources) carry
 * at least QUIC_ONE_FLOW of the datagrams (`share` of the span's packets), and it goes both
 * ways: the protected addresses sent back at least QUIC_ANSWERED as many packets (a receiver
 * acknowledges every few datagrams; nobody answers a flood), or, when the direction is not
 * known (nothing counted outbound), port 443 is both a source and a destination port of at
 * least that share. A flood to 443 comes from random source ports, a reflected one goes to
 * random destination ports.
 */
function oneQuicFlow(stats: TrafficProfile["stats"], share: number): boolean {
  if (!stats) return false;
  const [a, b] = stats.top_src_ips;
  // The statistics may be sampled: the datagrams' share of their own packets.
  const quic = share * stats.packets;
  if (!a || !(quic > 0) || a.count + (b?.count ?? 0) < QUIC_ONE_FLOW * quic) return false;
  if (stats.outbound.packets > 0) return stats.outbound.packets >= QUIC_ANSWERED * quic;
  const on443 = (ports: { port: number; count: number }[]) =>
    ports.find((p) => p.port === QUIC_PORT)?.count ?? 0;
  return Math.min(on443(stats.top_src_ports), on443(stats.top_dst_ports)) >= QUIC_ANSWERED * quic;
}

/** max(packet share, byte share); the byte share only when bytes are known. */
function shareOf(p: number, b: number, totalP: number, totalB: number): number {
  const byPackets = totalP > 0 ? p / totalP : 0;
  const byBytes = Number.isFinite(b) && totalB > 0 ? b / totalB : 0;
  return Math.max(byPackets, byBytes);
}

function fragmentOnly(subtype: string, label: string): Spec {
  return {
    key: "fragments",
    family: "fragment_flood",
    subtype,
    label: `${label} (later fragments only)`,
  };
}

/** Packets per amplification service name, descending (ties in list order). */
function serviceCounts(v: ArrayLike<number>): ServiceCount[] {
  const byName = new Map<string, ServiceCount>();
  AMPLIFICATION_SERVICES.forEach((s, i) => {
    const n = v[Vector.AMP_FIRST + i];
    if (!(n > 0)) return;
    const entry = byName.get(s.name) ?? { name: s.name, ports: [], packets: 0 };
    entry.ports.push(s.port);
    entry.packets += n;
    byName.set(s.name, entry);
  });
  return [...byName.values()].sort((a, b) => b.packets - a.packets);
}

/**
 * Queries to port 53: a random-subdomain flood ("water torture") when the statistics show most
 * names distinct and most of them under one zone, else a query flood.
 */
function dnsQuerySpec(profile: TrafficProfile): Spec {
  const spec: Spec = {
    key: "dns_query",
    family: "dns_flood",
    subtype: "dns_query_flood",
    label: "UDP to port 53 (DNS queries)",
  };
  const dns = profile.stats?.dns;
  const zone = dns?.top_zones[0];
  if (
    !dns || !zone || dns.total < RANDOM_NAMES_MIN_QUERIES ||
    dns.unique < RANDOM_NAMES_SHARE * dns.total || zone[1] < RANDOM_NAMES_SHARE * dns.total
  ) return spec;
  return {
    ...spec,
    subtype: "random_subdomain",
    label: `DNS queries for random names under ${zone[0]} (${
      Math.round(100 * dns.unique / dns.total)
    }% of names distinct)`,
  };
}

/** The amplification part: the dominant service, or several with none dominant. */
function ampSpec(services: ServiceCount[], amp: number): Spec {
  const top = services[0];
  if (top && top.packets >= SERVICE_SHARE * amp) {
    return {
      key: "udp_amp",
      family: top.name === "dns" ? "dns_flood" : "udp_flood",
      subtype: `${top.name}_amplification`,
      label: `UDP from source port ${top.ports.join("/")} (${top.name})`,
      reflection: true,
    };
  }
  const list = services.slice(0, 3).map((s) => `${s.ports.join("/")} (${s.name})`).join(", ");
  return {
    key: "udp_amp",
    family: "udp_flood",
    subtype: "multi_amplification",
    label: `UDP from amplification source ports ${list}`,
    reflection: true,
  };
}

/** Other IP protocols (named by number when known) or non-IP frames. */
function otherSpec(profile: TrafficProfile, other: number): Spec {
  const base = { key: "other", family: "protocol_flood" as const };
  if (profile.stats && profile.stats.non_ip >= 0.5 * other && other > 0) {
    return { ...base, subtype: "non_ip_flood", label: "non-IP frames" };
  }
  const counts = profile.ipProtocols;
  let best = -1;
  if (counts) {
    for (let p = 0; p < Math.min(256, counts.length); p++) {
      if (p === 1 || p === 6 || p === 17 || p === 47 || p === 58) continue;
      if (counts[p] > 0 && (best < 0 || counts[p] > counts[best])) best = p;
    }
  }
  return best >= 0
    ? { ...base, subtype: `ip_proto_${best}_flood`, label: `IP protocol ${best}` }
    : { ...base, subtype: "ip_protocol_flood", label: "other IP protocols" };
}
