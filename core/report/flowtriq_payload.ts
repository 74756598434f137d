/**
 * Request bodies of the Flowtriq agent API (`../shared/spec/flowtriq-agent-api.md`), built from
 * the detector's incident events and the agent's state: exactly the spec's keys, units and
 * types (pps packets/s, bps bits/s, percentages 0-100, ISO-8601 UTC times). Pure.
 *
 * @module
 */

import type { IncidentEvent } from "../detect/mod.ts";

/** A JSON object body. */
export type Body = Record<string, unknown>;

const PKT_LENGTH_KEYS = ["0-64", "65-128", "129-256", "257-512", "513-1024", "1025-1500", "1500+"];
const TCP_FLAGS = ["SYN", "ACK", "RST", "FIN", "PSH", "URG"];
const PROTOCOLS = ["tcp", "udp", "icmp", "other", "fragments"];

/** True for an L7 (HTTP flood) incident event, whose payloads carry the L7 fields. */
function isL7(event: IncidentEvent): boolean {
  return event.attack_family === "http_flood";
}

/** Body of `POST /agent/incidents` (incident opens). */
export function incidentCreateBody(event: IncidentEvent): Body {
  if (isL7(event)) {
    const body: Body = {
      peak_pps: 0,
      peak_bps: 0,
      rps: num(event.rps),
      baseline_rps: num(event.baseline_rps),
      started_at: str(event.started_at),
      attack_family: "http_flood",
      attack_subtype: str(event.attack_subtype, "unknown"),
    };
    if (typeof event.correlated_l3l4 === "boolean") body.correlated_l3l4 = event.correlated_l3l4;
    return body;
  }
  const body: Body = {
    peak_pps: num(event.peak_pps),
    peak_bps: num(event.peak_bps),
    started_at: str(event.started_at),
    attack_family: str(event.attack_family, "unknown"),
    attack_subtype: str(event.attack_subtype, "unknown"),
    baseline_pps: num(event.baseline_pps),
    duration: 0,
    top_src_ips: ipList(event.top_src_ips),
    top_dst_ports: portList(event.top_dst_ports),
    source_ip_count: int(event.source_ip_count),
  };
  if (typeof event.attack_tool === "string") body.attack_tool = event.attack_tool;
  if (typeof event.inner_ip === "string") body.inner_ip = event.inner_ip;
  return body;
}

/** Body of `POST /agent/incidents/{uuid}` (every >= 5 s while open). */
export function incidentUpdateBody(event: IncidentEvent): Body {
  const l7 = isL7(event);
  const body: Body = {
    peak_pps: l7 ? 0 : num(event.peak_pps),
    peak_bps: l7 ? 0 : num(event.peak_bps),
    attack_family: str(event.attack_family, "unknown"),
    attack_subtype: str(event.attack_subtype, "unknown"),
    protocol_breakdown: protocolBreakdown(event.protocol_breakdown),
    source_ip_count: int(event.source_ip_count),
    total_packets: int(event.total_packets),
    top_src_ips: ipList(event.top_src_ips),
    top_dst_ports: l7 ? countMap(event.top_dst_ports) : portList(event.top_dst_ports),
    ioc_hits: strList(event.ioc_hits),
    spoofing_detected: event.spoofing_detected === true,
    botnet_detected: event.botnet_detected === true,
    fragment_count: int(event.fragment_count),
    fragment_pct: num(event.fragment_pct),
  };
  if (l7) Object.assign(body, l7Fields(event));
  return body;
}

/** Body of `POST /agent/incidents/{uuid}/resolve` (incident ends). */
export function incidentResolveBody(event: IncidentEvent): Body {
  const l7 = isL7(event);
  const body: Body = {
    duration_seconds: num(event.duration_seconds ?? event.duration),
    peak_pps: l7 ? 0 : num(event.peak_pps),
    peak_bps: l7 ? 0 : num(event.peak_bps),
    attack_family: str(event.attack_family, "unknown"),
    attack_subtype: str(event.attack_subtype, "unknown"),
    confidence: Math.min(100, Math.max(0, num(event.confidence))),
    protocol_breakdown: protocolBreakdown(event.protocol_breakdown),
    ioc_hits: strList(event.ioc_hits),
    spoofing_detected: event.spoofing_detected === true,
    botnet_detected: event.botnet_detected === true,
    total_packets: int(event.total_packets),
    source_ip_count: int(event.source_ip_count),
    src_ip_entropy: num(event.src_ip_entropy),
    tcp_flag_breakdown: fixedCounts(event.tcp_flag_breakdown, TCP_FLAGS),
    dns_query_stats: dnsStats(event.dns_query_stats),
    pkt_length_histogram: fixedCounts(event.pkt_length_histogram, PKT_LENGTH_KEYS),
    ttl_distribution: countMap(event.ttl_distribution),
    velocity_curve: velocity(event.velocity_curve, l7 ? "rps" : "pps"),
    top_src_ips: ipList(event.top_src_ips),
    top_dst_ports: l7 ? countMap(event.top_dst_ports) : portList(event.top_dst_ports),
    avg_pkt_length: num(event.avg_pkt_length),
    fragment_count: int(event.fragment_count),
    fragment_pct: num(event.fragment_pct),
  };
  if (l7) body.peak_rps = num(event.peak_rps);
  return body;
}

/** The agent's state a heartbeat reports. */
export interface HeartbeatState {
  /** The agent's version. */
  version: string;
  /** Whether the baseline is learned. */
  baselineReady: boolean;
  /** Mean pps of the rolling baseline. */
  baselineAvgPps: number;
  /** p99 pps of the rolling baseline. */
  baselineP99Pps: number;
  /** Whether an hour-of-day slot is learned. */
  baselineHourlyReady: boolean;
  /**
   * p99 pps of the current hour-of-day slot, null while that slot is not learned (the body then
   * sends the rolling p99, `baselineP99Pps`: the key is always a number).
   */
  baselineCurrentHourP99: number | null;
  /** The control-plane sender's breaker. */
  circuitBreaker: "closed" | "open" | "half-open";
  /** Undelivered outbox entries. */
  retryQueueSize: number;
  /** Whether an incident capture is being written. */
  pcapActive: boolean;
  /** Whether the flow collector runs and got a valid datagram recently (`flowActive()`). */
  flowActive?: boolean;
  /** Whether GRE is stripped for detection (`gre_mode`, tunnels found). */
  greDedup?: boolean;
  /** Distinct sources in the last second. */
  srcIpCount: number;
  /** Payloads the payload inspector has sampled since the start (`pkt_samples_count`). */
  pktSamples?: number;
  /** Outbox entries dropped (cap reached) since the database was created, by kind. */
  dropped?: Record<string, number>;
  /** The L7 part: running or not, and what it does (the optional `l7_enabled`, `l7_status`). */
  l7?: { enabled: boolean; status: string };
}

/** Body of `POST /agent/heartbeat`. */
export function heartbeatBody(s: HeartbeatState): Body {
  const body: Body = {
    version: s.version,
    baseline_ready: s.baselineReady,
    baseline_avg_pps: round1(s.baselineAvgPps),
    baseline_p99_pps: round1(s.baselineP99Pps),
    baseline_hourly_ready: s.baselineHourlyReady,
    // Always a number: the hour slot's p99 once learned, else the rolling p99 (0 unlearned).
    baseline_current_hour_p99: round1(s.baselineCurrentHourP99 ?? s.baselineP99Pps),
    circuit_breaker: s.circuitBreaker,
    retry_queue_size: int(s.retryQueueSize),
    gre_dedup_enabled: s.greDedup === true,
    hypervisor_mode: false,
    pcap_active: s.pcapActive,
    flow_active: s.flowActive ?? false,
    src_ip_overflow: false,
    src_ip_count: int(s.srcIpCount),
    pkt_samples_count: int(s.pktSamples ?? 0),
  };
  if (s.l7 !== undefined) {
    body.l7_enabled = s.l7.enabled;
    body.l7_status = s.l7.status;
  }
  if (s.dropped !== undefined) body.dropped = { ...s.dropped };
  return body;
}

/** Body of `POST /agent/commands/ack`. */
export function commandAckBody(
  commandId: number,
  status: "applied" | "failed",
  error: string | null,
): Body {
  return { command_id: commandId, status, error };
}

function l7Fields(event: IncidentEvent): Body {
  return {
    rps: num(event.rps),
    baseline_rps: num(event.baseline_rps),
    l7_error_rate: num(event.l7_error_rate),
    l7_status_codes: countMap(event.l7_status_codes),
    l7_top_user_agents: countMap(event.l7_top_user_agents),
    l7_threat_patterns: countMap(event.l7_threat_patterns),
    l7_protocol_versions: countMap(event.l7_protocol_versions),
  };
}

function num(v: unknown, fallback = 0): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

function int(v: unknown): number {
  return Math.round(num(v));
}

function str(v: unknown, fallback = ""): string {
  return typeof v === "string" ? v : fallback;
}

function round1(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 10) / 10 : 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function ipList(v: unknown): { ip: string; count: number }[] {
  if (!Array.isArray(v)) return [];
  return v.filter((e) => isObject(e) && typeof e.ip === "string").map((e) => ({
    ...e,
    ip: e.ip as string,
    count: int(e.count),
  }));
}

function portList(v: unknown): { port: number; count: number }[] {
  if (!Array.isArray(v)) return [];
  return v.filter((e) => isObject(e) && typeof e.port === "number").map((e) => ({
    port: int(e.port),
    count: int(e.count),
  }));
}

function countMap(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isObject(v)) return out;
  for (const [k, n] of Object.entries(v)) {
    if (typeof n === "number" && Number.isFinite(n)) out[k] = n;
  }
  return out;
}

function fixedCounts(v: unknown, keys: readonly string[]): Record<string, number> {
  const m = countMap(v);
  return Object.fromEntries(keys.map((k) => [k, m[k] ?? 0]));
}

function protocolBreakdown(v: unknown): Record<string, number> {
  return fixedCounts(v, PROTOCOLS);
}

function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s) => typeof s === "string") : [];
}

function dnsStats(v: unknown): { total: number; unique: number; top: [string, number][] } {
  if (!isObject(v)) return { total: 0, unique: 0, top: [] };
  const top = Array.isArray(v.top)
    ? v.top.filter((e): e is [string, number] =>
      Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number"
    )
    : [];
  return { total: int(v.total), unique: int(v.unique), top };
}

/** The curve in time order (a stable sort: the detector already sends it so), one point per t. */
function velocity(v: unknown, rate: "pps" | "rps"): Record<string, number>[] {
  if (!Array.isArray(v)) return [];
  const points = v.filter((p) => isObject(p) && Number.isFinite(p.t)).map((p) => ({
    t: p.t as number,
    [rate]: num(p[rate]),
  })).sort((a, b) => a.t - b.t);
  return points.filter((p, i) => i === 0 || p.t !== points[i - 1].t);
}
