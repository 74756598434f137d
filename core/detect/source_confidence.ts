/**
 * The top sources of an incident with their share (`pct`) and a per-source confidence that the
 * source takes part in the attack (`confidence`, 0-100), as `top_src_ips` entries carry them.
 *
 * @module
 */

import type { SourceTraits, TopAddress, WindowStats } from "../traffic/mod.ts";

/** A `top_src_ips` entry: the address, its packets, its share and the confidence. */
export interface RatedSource extends TopAddress {
  /** Share of the incident's IP packets this source sent (percent, one decimal). */
  pct: number;
  /** How sure the agent is that this source takes part in the attack (0-100). */
  confidence: number;
}

/** A source with this share of the packets has the full share part of its magnitude. */
const FULL_SHARE = 0.2;
/** A source at this many packets per second has the full volume part (log scale). */
const FULL_VOLUME_PPS = 1000;
/** Weights of one protocol and one TTL in the traits; SYN-only weighs up to `SYN_WEIGHT`. */
const PROTOCOL_WEIGHT = 0.1;
const TTL_WEIGHT = 0.1;
const SYN_WEIGHT = 0.6;
/** The part of the confidence a source with the traits and no magnitude gets. */
const FLOOR = 0.4;

/**
 * Rates the top sources of `stats` (the incident's statistics, covering `stats.seconds`,
 * counted one packet in `sampleEvery`):
 *
 *     traits     = (0.1 x protocol + 0.1 x ttl + s x syn) / (0.2 + s)
 *     magnitude  = 2/3 x min(1, share / 0.2) + 1/3 x min(1, log10(pps + 1) / 3)
 *     confidence = 100 x traits x (0.4 + 0.6 x magnitude)
 *
 * where, over the source's own packets (its `traits`, or the incident's traffic when a
 * snapshot kept none): `protocol` is the share of its one protocol class times the share of the
 * incident's packets in that class (a TCP client in a UDP flood is not of the flood's
 * protocol), `ttl` the share of its one TTL, `syn` the share of pure SYNs; `s` is 0.6 times the share of pure SYNs among the
 * incident's TCP packets, and 0 for a source whose protocol is not TCP (SYN-only says nothing
 * when the incident is not a SYN flood, nor about UDP or ICMP). `share` is the source's share of
 * the incident's IP packets, `pps` its packets per second. The traits say whether the source
 * sends like a tool (SYNs without a handshake, one protocol, one TTL); the magnitude scales
 * that from 40% (a source barely seen) to 100% (a fifth of the traffic at 1000 packets/s).
 */
export function rateSources(stats: WindowStats, sampleEvery = 1): RatedSource[] {
  const ip = stats.ipv4 + stats.ipv6;
  const rated = (s: TopAddress, pct: number, confidence: number): RatedSource => ({
    ip: s.ip,
    count: s.count,
    pct,
    confidence,
  });
  if (!(ip > 0)) return stats.top_src_ips.map((s) => rated(s, 0, 0));
  const seconds = stats.seconds > 0 ? stats.seconds : 1;
  const classes = ipClasses(stats, ip);
  const incident = incidentTraits(stats, ip, classes);
  const synWeight = SYN_WEIGHT * share(incident.syn, classes.tcp);
  return stats.top_src_ips.map((s) => {
    const t = s.traits ?? incident;
    const n = s.traits ? s.count : ip;
    const w = t.protocol === "tcp" ? synWeight : 0;
    // One protocol, the one most of the incident's traffic is of (for a source of its own).
    const protocol = share(n - t.protocol_other, n) *
      (s.traits ? share(classes[t.protocol], ip) : 1);
    const traits = (PROTOCOL_WEIGHT * protocol +
      TTL_WEIGHT * share(n - t.ttl_other, n) + w * share(t.syn, n)) /
      (PROTOCOL_WEIGHT + TTL_WEIGHT + w);
    const part = s.count / ip;
    const pps = (s.count * Math.max(1, sampleEvery)) / seconds;
    const magnitude = (2 / 3) * clamp(part / FULL_SHARE) +
      (1 / 3) * clamp(Math.log10(pps + 1) / Math.log10(FULL_VOLUME_PPS));
    const confidence = traits * (FLOOR + (1 - FLOOR) * magnitude);
    return rated(s, Math.round(part * 1000) / 10, Math.round(clamp(confidence) * 100));
  });
}

type Classes = Record<SourceTraits["protocol"], number>;

/** The incident's `ip` IP packets per protocol class. */
function ipClasses(stats: WindowStats, ip: number): Classes {
  const p = stats.protocols;
  // `protocols.other` also holds non-IP frames: only the IP ones count here.
  const other = Math.max(0, ip - p.tcp.packets - p.udp.packets - p.icmp.packets - p.gre.packets);
  return {
    tcp: p.tcp.packets,
    udp: p.udp.packets,
    icmp: p.icmp.packets,
    gre: p.gre.packets,
    other,
  };
}

/** The traits of the incident's `ip` IP packets (for sources a snapshot kept none of). */
function incidentTraits(stats: WindowStats, ip: number, classes: Classes): SourceTraits {
  let syn = 0;
  for (const [name, n] of Object.entries(stats.tcp_flag_combos)) {
    const flags = name.split("+");
    if (
      flags.includes("SYN") && !flags.includes("ACK") && !flags.includes("RST") &&
      !flags.includes("FIN")
    ) syn += n;
  }
  const names = ["tcp", "udp", "icmp", "gre", "other"] as const;
  const top = names.reduce((a, b) => classes[b] > classes[a] ? b : a);
  return {
    syn,
    protocol: top,
    protocol_other: ip - classes[top],
    ttl: 0,
    ttl_other: ip - Math.max(0, ...Object.values(stats.ttl)),
  };
}

function share(part: number, whole: number): number {
  return whole > 0 ? clamp(part / whole) : 0;
}

function clamp(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
