/**
 * One incident: what the detector accumulates while it lasts, and the event payloads it sends
 * (field names and units of the Flowtriq agent API, plus the evidence of how it was decided).
 *
 * @module
 */

import { type Classification, classify } from "../classify/mod.ts";
import { Vector, VECTOR_COUNT } from "../packet/mod.ts";
import { subtractNormal } from "./_normal_mix.ts";
import { rateSources } from "./source_confidence.ts";
import type { WindowStats } from "../traffic/mod.ts";

/** The rates a threshold applies to, in this order everywhere (thresholds, baselines). */
export const RATE_NAMES = ["pps", "bps", "syn_pps", "udp_pps", "icmp_pps", "fragment_pps"] as const;

/** Name of one thresholded rate. */
export type RateName = typeof RATE_NAMES[number];

/** An interface incident over at least this many destinations is a carpet bombing. */
export const CARPET_DESTINATIONS = 4;

/** How an interface incident's traffic is spread over destinations (carpet bombing). */
export interface Spread {
  /** Tracked destinations each receiving at least 0.5% of the packets. */
  destinations: number;
  /** The smallest network holding them all. */
  prefix: string;
  /** Share of the packets the busiest of them receives (percent). */
  top_pct: number;
}

/** Kinds of incident event. */
export type IncidentEventKind = "open" | "update" | "resolve";

/** Longest velocity curve kept: beyond it, neighbouring points are merged (halving resolution). */
const MAX_VELOCITY_POINTS = 600;

/** State of one incident while it is open. */
export class Incident {
  /** Client-generated UUID. */
  readonly id: string;
  /** `"interface"` or the attacked address. */
  readonly target: string;
  /** Packet time the traffic first went over a threshold (µs). */
  readonly startedUs: number;
  /** Packet time the incident was opened (µs). */
  readonly openedUs: number;
  /** The rate that opened the incident and the rule that confirmed it. */
  readonly trigger: { metric: RateName; rate: number; threshold: number; ratio: number };
  /** Which confirmation rule opened it, in words (e.g. "fast: syn_pps 4.2x threshold"). */
  readonly rule: string;
  /** Thresholds in force at open (frozen for the incident's life), by {@linkcode RATE_NAMES}. */
  readonly thresholds: Float64Array;
  /** Baseline pps and bps at open (0 while the baseline was not ready). */
  readonly baseline: { pps: number; bps: number };
  /**
   * The target's normal vector counters per second before the incident (null: not learned).
   * The classification reads what rose above them: the vectors minus this times the seconds.
   */
  readonly normal: Float64Array | null;
  /** How an interface incident is spread over destinations (carpet bombing), when it is. */
  spread: Spread | null = null;
  /** Mirror mode: the name of the target's network (`networks`), null when none. */
  network: string | null = null;
  /** The excess classified last (vectors minus the normal traffic of the span). */
  readonly excess: Float64Array = new Float64Array(VECTOR_COUNT);
  /** Vector counters of the target's traffic since it first went over a threshold. */
  readonly vectors: Float64Array = new Float64Array(VECTOR_COUNT);
  /** SYN-ACKs the protected addresses sent since the target went over (RSTs may answer them). */
  answered = 0;
  /** Seconds whose statistics came from the target's own packets. */
  ownSeconds = 0;
  /** Seconds whose statistics came from the interface's windows. */
  interfaceSeconds = 0;
  /** Largest sampling step of the target's own statistics (1: every packet). */
  sampleEvery = 1;
  /** One point per second (or per 2^k s once the curve is long). */
  readonly velocity: { t: number; pps: number }[] = [];
  #velocityStep = 1;
  #velocityAcc = 0;
  #velocityN = 0;
  /** Peak one-second packets per second. */
  peakPps = 0;
  /** Peak one-second bits per second. */
  peakBps = 0;
  /** Latest classification. */
  classification: Classification | null = null;

  /** Creates an incident (the detector fills the rest as traffic comes). */
  constructor(init: {
    id: string;
    target: string;
    startedUs: number;
    openedUs: number;
    trigger: Incident["trigger"];
    rule: string;
    thresholds: Float64Array;
    normal?: Float64Array | null;
    baseline: { pps: number; bps: number };
  }) {
    this.id = init.id;
    this.target = init.target;
    this.startedUs = init.startedUs;
    this.openedUs = init.openedUs;
    this.trigger = init.trigger;
    this.rule = init.rule;
    this.thresholds = init.thresholds;
    this.baseline = init.baseline;
    this.normal = init.normal ?? null;
  }

  /**
   * Classifies everything seen so far (at packet time `nowUs`, with the target's statistics
   * `stats`) and builds the `kind` event, detected at `atUs` (and ended at `endedUs`).
   */
  event(
    kind: IncidentEventKind,
    stats: WindowStats | null,
    nowUs: number,
    atUs: number,
    endedUs?: number,
  ): IncidentEvent {
    const seconds = Math.max((nowUs - this.startedUs) / 1e6, 0.1);
    this.classification = classify({
      vectors: this.#excessOver(seconds),
      seconds,
      stats: stats ?? undefined,
      answered: this.answered,
    });
    const spread = this.spread;
    if (spread !== null) {
      this.classification.evidence.summary += `, spread over ${spread.destinations} ` +
        `destinations in ${spread.prefix}, the busiest receiving ${spread.top_pct}% ` +
        `(carpet bombing)`;
    }
    return incidentEvent(this, kind, stats, atUs, endedUs);
  }

  /**
   * Records how the incident's traffic is spread over destinations, when over at least
   * {@linkcode CARPET_DESTINATIONS}: the widest spread seen is kept (after the attack, the last
   * second may be ordinary traffic).
   */
  widen(spread: Spread | null): void {
    if (spread === null || spread.destinations < CARPET_DESTINATIONS) return;
    if (spread.destinations >= (this.spread?.destinations ?? 0)) this.spread = spread;
  }

  /**
   * The vectors minus `seconds` of normal traffic, each counter at least 0 (the derived totals
   * summed again); the vectors themselves when the normal traffic is not known, or when
   * nothing would be left.
   */
  #excessOver(seconds: number): Float64Array {
    const out = this.excess;
    out.set(this.vectors);
    if (this.normal === null) return out;
    subtractNormal(out, this.normal, 0, seconds);
    if (!(out[Vector.PACKETS] > 0)) out.set(this.vectors);
    return out;
  }

  /**
   * Records one second's rates (peaks and the velocity curve) for the second starting at
   * `tSec` (epoch seconds; the curve keeps whole seconds). The rates at open come mid-second:
   * the point of that second is replaced by the full second's rates when it ends, so the
   * curve stays in time order with one point per second (per step once merged).
   */
  second(tSec: number, pps: number, bps: number): void {
    if (pps > this.peakPps) this.peakPps = pps;
    if (bps > this.peakBps) this.peakBps = bps;
    const t = Math.floor(tSec);
    const last = this.velocity.at(-1);
    if (last !== undefined && this.#velocityN === 0 && t < last.t + this.#velocityStep) {
      if (this.#velocityStep === 1 && t === last.t) last.pps = round1(pps);
      return;
    }
    this.#velocityAcc += pps;
    if (++this.#velocityN < this.#velocityStep) return;
    this.velocity.push({
      t: t - this.#velocityStep + 1,
      pps: round1(this.#velocityAcc / this.#velocityN),
    });
    this.#velocityAcc = 0;
    this.#velocityN = 0;
    if (this.velocity.length >= MAX_VELOCITY_POINTS) {
      const merged: { t: number; pps: number }[] = [];
      for (let i = 0; i + 1 < this.velocity.length; i += 2) {
        const a = this.velocity[i];
        const b = this.velocity[i + 1];
        merged.push({ t: a.t, pps: round1((a.pps + b.pps) / 2) });
      }
      this.velocity.length = 0;
      this.velocity.push(...merged);
      this.#velocityStep *= 2;
    }
  }
}

/** The trigger of an incident opened by rate `k` (index in {@linkcode RATE_NAMES}). */
export function incidentTrigger(k: number, rate: number, threshold: number): Incident["trigger"] {
  return {
    metric: RATE_NAMES[k],
    rate: Math.round(rate),
    threshold: Math.round(threshold),
    ratio: Math.round((rate / threshold) * 100) / 100,
  };
}

/** An incident event as the detector hands it to listeners (JSON-ready). */
export type IncidentEvent = Record<string, unknown> & {
  type: "incident";
  event: IncidentEventKind;
  id: string;
};

/**
 * The payload of an incident event: the Flowtriq API fields (rates in packets/s and bits/s,
 * percentages 0-100, ISO-8601 UTC times) plus the target, the trigger and the evidence.
 */
function incidentEvent(
  incident: Incident,
  event: IncidentEventKind,
  stats: WindowStats | null,
  atUs: number,
  endedUs?: number,
): IncidentEvent {
  const c = incident.classification;
  const v = incident.vectors;
  const packets = v[Vector.PACKETS];
  const pct = (n: number) => (packets > 0 ? round1((100 * n) / packets) : 0);
  const fragments = v[Vector.FRAGMENTS];
  const endUs = endedUs ?? atUs;
  const payload: IncidentEvent = {
    type: "incident",
    event,
    id: incident.id,
    detected_at: isoTime(atUs),
    started_at: isoTime(incident.startedUs),
    ...(endedUs === undefined ? {} : { ended_at: isoTime(endedUs) }),
    duration: round1((endUs - incident.startedUs) / 1e6),
    target: incident.target,
    inner_ip: incident.target === "interface" || incident.target.includes("/")
      ? null
      : incident.target,
    network: incident.network,
    attack_family: c?.attack_family ?? "unknown",
    attack_subtype: c?.attack_subtype ?? "unknown",
    confidence: c?.confidence ?? 0,
    spoofing_detected: c?.spoofing_detected ?? false,
    botnet_detected: c?.botnet_detected ?? false,
    opened_by: incident.rule,
    trigger: incident.trigger,
    thresholds: Object.fromEntries(RATE_NAMES.map((n, i) => [n, finite(incident.thresholds[i])])),
    peak_pps: round1(incident.peakPps),
    peak_bps: round1(incident.peakBps),
    baseline_pps: round1(incident.baseline.pps),
    baseline_bps: round1(incident.baseline.bps),
    total_packets: packets,
    total_bytes: v[Vector.BYTES],
    avg_pkt_length: packets > 0 ? round1(v[Vector.BYTES] / packets) : 0,
    protocol_breakdown: {
      tcp: pct(v[Vector.TCP]),
      udp: pct(v[Vector.UDP]),
      icmp: pct(v[Vector.ICMP]),
      other: pct(v[Vector.GRE] + v[Vector.OTHER]),
      fragments: pct(fragments),
    },
    fragment_count: fragments,
    fragment_pct: pct(fragments),
    source_ip_count: stats?.src_count ?? 0,
    src_ip_entropy: stats?.src_ip_entropy ?? 0,
    top_src_ips: stats
      ? rateSources(stats, incident.ownSeconds > 0 ? incident.sampleEvery : 1)
      : [],
    top_dst_ports: stats?.top_dst_ports ?? [],
    tcp_flag_breakdown: stats
      ? {
        SYN: stats.tcp_flags.SYN,
        ACK: stats.tcp_flags.ACK,
        RST: stats.tcp_flags.RST,
        FIN: stats.tcp_flags.FIN,
        PSH: stats.tcp_flags.PSH,
        URG: stats.tcp_flags.URG,
      }
      : {},
    dns_query_stats: stats?.dns
      ? { total: stats.dns.total, unique: stats.dns.unique, top: stats.dns.top }
      : { total: 0, unique: 0, top: [] },
    pkt_length_histogram: stats?.pkt_len_hist ?? {},
    ttl_distribution: stats?.ttl ?? {},
    velocity_curve: incident.velocity.slice(),
    stats_scope: statsScope(incident, stats),
    stats_sample_every: incident.ownSeconds > 0 ? incident.sampleEvery : 1,
    ioc_hits: [],
    evidence: c?.evidence ?? null,
    spread: incident.spread,
    classified_excess: incident.normal === null ? null : {
      packets: incident.excess[Vector.PACKETS],
      normal_pps: round1(incident.normal[Vector.PACKETS]),
    },
  };
  if (event === "resolve") payload.duration_seconds = payload.duration;
  return payload;
}

/**
 * Where the per-packet statistics (top talkers, sources, TTLs, lengths) come from: the target's
 * own packets, the whole interface (when the target carried most of its traffic, the
 * interface's per-second windows are used instead of counting twice), or both over time.
 */
function statsScope(incident: Incident, stats: WindowStats | null): string {
  if (stats === null) return "none";
  if (incident.target === "interface" || incident.ownSeconds === 0) return "interface";
  return incident.interfaceSeconds === 0 ? "target" : "target+interface";
}

/** Largest time a `Date` holds (µs since the epoch either way). */
const DATE_LIMIT_US = 8.64e18;

/**
 * Microseconds since the epoch as ISO-8601 UTC with microseconds (`...T12:00:00.123456+00:00`).
 * Never throws: a time past what a `Date` holds is clamped to its limit, NaN reads as the epoch.
 */
export function isoTime(us: number): string {
  if (!(Math.abs(us) <= DATE_LIMIT_US)) us = Number.isNaN(us) ? 0 : Math.sign(us) * DATE_LIMIT_US;
  const ms = Math.floor(us / 1000);
  const micro = String(Math.floor(us - ms * 1000)).padStart(3, "0");
  return new Date(ms).toISOString().replace("Z", `${micro}+00:00`);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? round1(x) : null;
}
