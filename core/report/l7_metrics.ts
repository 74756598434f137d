/**
 * The body of the periodic `POST /agent/l7/metrics` (every 10 s while L7 is active) from the
 * L7 windows of the interval: field names and units of the Flowtriq agent API (percentages
 * 0-100, maps `{key: count}`).
 *
 * @module
 */

import type { L7WindowStats } from "../l7/mod.ts";

/** The `/agent/l7/metrics` body of an interval's statistics. */
export function l7MetricsBody(s: L7WindowStats): Record<string, unknown> {
  const n = Math.max(1, s.requests);
  const pct = (x: number) => Math.round((1000 * x) / n) / 10;
  const versions: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.protocol_versions)) versions[k] = pct(v);
  return {
    rps: s.rps,
    error_rate: s.error_rate,
    unique_ips: s.unique_ips,
    total_requests: s.requests,
    top_paths: Object.fromEntries(s.top_paths.map((p) => [p.path, p.count])),
    top_ips: Object.fromEntries(s.top_ips.map((p) => [p.ip, p.count])),
    status_codes: s.status_codes,
    window_seconds: s.seconds,
    top_user_agents: Object.fromEntries(s.top_user_agents.map((u) => [u.ua, u.count])),
    threat_patterns: s.threat_patterns,
    bot_request_pct: pct(s.bot_requests + s.tool_requests),
    avg_response_ms: s.avg_response_ms ?? 0,
    status_4xx: s.status_4xx,
    status_5xx: s.status_5xx,
    status_499: s.status_499,
    protocol_versions: versions,
    rps_per_ip: s.unique_ips > 0 ? Math.round((100 * s.rps) / s.unique_ips) / 100 : 0,
    h2_pct: pct(s.protocol_versions["2"] ?? 0),
    h3_pct: pct(s.protocol_versions["3"] ?? 0),
  };
}
