// One L7 incident while it lasts, and its events in the shape of every incident event
// (`core/detect/incident.ts`) with the spec's L7 fields. Private to the L7 detector.
import type { L7Config } from "../config/mod.ts";
import { type IncidentEvent, type IncidentEventKind, isoTime } from "../detect/mod.ts";
import type { L7Window, L7WindowStats } from "./window.ts";
import { classifyL7, type L7Signal } from "./_signals.ts";

/** Longest velocity curve kept: beyond it, neighbouring points are merged. */
const MAX_VELOCITY_POINTS = 600;

/** State of an L7 incident. */
export class L7Incident {
  readonly velocity: { t: number; rps: number }[] = [];
  readonly signalSeconds: Record<string, number> = {};
  peakRps = 0;
  /** Seconds counted (suspected and active). */
  seconds = 0;
  /** Calm seconds in a row. */
  calm = 0;
  lastEventSec: number;
  #step = 1;
  #acc = 0;
  #n = 0;

  constructor(
    readonly id: string,
    /** First suspicious second and the second it opened at (epoch s). */
    readonly startedSec: number,
    readonly openedSec: number,
    /** Rate threshold frozen at open, and the baseline mean (0: not ready). */
    readonly threshold: number,
    readonly baselineRps: number,
    readonly rule: string,
    /** Every request since the first suspicious second. */
    readonly window: L7Window,
  ) {
    this.lastEventSec = openedSec;
  }

  /** Records one second: peaks, signals, velocity. */
  second(s: L7WindowStats, signals: L7Signal[]): void {
    this.seconds++;
    if (s.rps > this.peakRps) this.peakRps = s.rps;
    for (const g of signals) this.signalSeconds[g.name] = (this.signalSeconds[g.name] ?? 0) + 1;
    this.#acc += s.rps;
    if (++this.#n < this.#step) return;
    this.velocity.push({ t: s.t - this.#step + 1, rps: round1(this.#acc / this.#n) });
    this.#acc = 0;
    this.#n = 0;
    if (this.velocity.length >= MAX_VELOCITY_POINTS) {
      const merged: { t: number; rps: number }[] = [];
      for (let i = 0; i + 1 < this.velocity.length; i += 2) {
        const a = this.velocity[i], b = this.velocity[i + 1];
        merged.push({ t: a.t, rps: round1((a.rps + b.rps) / 2) });
      }
      this.velocity.length = 0;
      this.velocity.push(...merged);
      this.#step *= 2;
    }
  }
}

/** The event of `inc` at second `atSec` (`endSec`: when it ended, for a resolve). */
export function l7Event(
  inc: L7Incident,
  kind: IncidentEventKind,
  atSec: number,
  endSec: number | undefined,
  lastRps: number,
  cfg: L7Config,
  correlated: boolean,
): IncidentEvent {
  const s = inc.window.stats();
  const seconds = Math.max(1, inc.seconds);
  const c = classifyL7(s, inc.signalSeconds, seconds, cfg);
  const duration = Math.max(0, (endSec ?? atSec) - inc.startedSec);
  const n = Math.max(1, s.requests);
  const versions: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.protocol_versions)) versions[k] = round1((100 * v) / n);
  const event: IncidentEvent = {
    type: "incident",
    event: kind,
    id: inc.id,
    detected_at: isoTime(atSec * 1e6),
    started_at: isoTime(inc.startedSec * 1e6),
    ...(endSec === undefined ? {} : { ended_at: isoTime(endSec * 1e6) }),
    duration,
    target: "interface",
    inner_ip: null,
    attack_family: "http_flood",
    attack_subtype: c.attack_subtype,
    confidence: c.confidence,
    spoofing_detected: false,
    botnet_detected: s.unique_ips >= 50,
    opened_by: inc.rule,
    trigger: { metric: "rps", rate: inc.peakRps, threshold: round1(inc.threshold) },
    peak_pps: 0,
    peak_bps: 0,
    baseline_pps: 0,
    rps: round1(kind === "open" ? inc.peakRps : lastRps),
    baseline_rps: round1(inc.baselineRps),
    peak_rps: round1(inc.peakRps),
    total_requests: s.requests,
    total_packets: 0,
    source_ip_count: s.unique_ips,
    top_src_ips: s.top_ips,
    top_dst_ports: Object.fromEntries(s.top_paths.map((p) => [p.path, p.count])),
    l7_error_rate: s.error_rate,
    l7_status_codes: s.status_codes,
    l7_top_user_agents: Object.fromEntries(s.top_user_agents.map((u) => [u.ua, u.count])),
    l7_threat_patterns: s.threat_patterns,
    l7_protocol_versions: versions,
    l7_tool_agents: s.agents,
    l7_avg_response_ms: s.avg_response_ms,
    correlated_l3l4: correlated,
    velocity_curve: inc.velocity.slice(),
    protocol_breakdown: { tcp: 100, udp: 0, icmp: 0, other: 0, fragments: 0 },
    ioc_hits: [],
    evidence: c.evidence,
  };
  if (kind === "resolve") event.duration_seconds = duration;
  return event;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
