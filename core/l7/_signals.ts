// The L7 signals of one second and the subtype of an L7 incident, with the numbers that
// decided them. Private to the L7 detector; the rules are documented in detector.ts.
import type { L7Config } from "../config/mod.ts";
import type { L7WindowStats } from "./window.ts";

/** One signal that fired: its value and the limit it passed. */
export interface L7Signal {
  /** The signal's name (`rate`, `error_rate`, ...). */
  name: string;
  /** What the second measured. */
  value: number;
  /** The limit it passed. */
  limit: number;
}

/** What one second looked like to detection. */
export interface L7Verdict {
  /** Signals that fired. */
  signals: L7Signal[];
  /** At least two signals, enough clients and enough volume. */
  suspicious: boolean;
  /** Why it is not suspicious (empty when it is). */
  reason: string;
}

/** Fewest requests a second needs before shares mean anything. */
const MIN_REQUESTS_FOR_SHARES = 20;

/** Share thresholds scale with the sensitivity (lower: fires sooner). */
function sensitivityFactor(cfg: L7Config): number {
  return cfg.l7_sensitivity === "low" ? 1.2 : cfg.l7_sensitivity === "high" ? 0.8 : 1;
}

/** Baseline multiplier of the sensitivity. */
export function sensitivityMultiplier(cfg: L7Config): number {
  return cfg.l7_sensitivity === "low" ? 5 : cfg.l7_sensitivity === "high" ? 2 : 3;
}

function share(x: number, of: number): number {
  return of > 0 ? Math.round((1000 * x) / of) / 10 : 0;
}

/** The signals of one second against the rate threshold `threshold` (requests/s). */
export function evaluateSecond(s: L7WindowStats, threshold: number, cfg: L7Config): L7Verdict {
  const f = sensitivityFactor(cfg);
  const n = s.requests;
  const signals: L7Signal[] = [];
  const push = (name: string, value: number, limit: number) =>
    signals.push({ name, value, limit: Math.round(limit * 10) / 10 });
  if (s.rps > threshold) push("rate", s.rps, threshold);
  const slow = s.slow_requests;
  if (slow >= 5 && share(slow, n) >= 20 * f) push("slow_responses", share(slow, n), 20 * f);
  const timeouts = s.status_408;
  if (timeouts >= 5 && share(timeouts, n) >= 10 * f) push("timeouts", share(timeouts, n), 10 * f);
  if (n >= MIN_REQUESTS_FOR_SHARES) {
    if (s.top_ip_pct >= 50 * f) push("source_concentration", s.top_ip_pct, 50 * f);
    if (s.top_path_pct >= 60 * f) push("path_concentration", s.top_path_pct, 60 * f);
    if (s.error_rate >= cfg.l7_error_rate_threshold) {
      push("error_rate", s.error_rate, cfg.l7_error_rate_threshold);
    }
    const tools = share(s.tool_requests + s.bot_requests, n);
    if (tools >= 50 * f) push("tool_agents", tools, 50 * f);
    else if (s.top_ua_pct >= Math.min(95, 90 * f)) {
      push("uniform_agent", s.top_ua_pct, Math.min(95, 90 * f));
    }
    const threats = share(s.threat_requests, n);
    if (s.threat_requests >= 5 && threats >= 10 * f) push("attack_patterns", threats, 10 * f);
    const queries = share(s.query_requests, n);
    const distinct = share(s.unique_queries, s.query_requests);
    if (queries >= 50 * f && distinct >= 80) push("random_queries", distinct, 80);
  }
  let reason = "";
  if (signals.length < 2) reason = `${signals.length} signal${signals.length === 1 ? "" : "s"}`;
  else if (s.unique_ips < cfg.l7_min_client_ips) reason = `${s.unique_ips} client addresses`;
  else if (
    s.rps <= threshold && s.rps < 0.5 * threshold &&
    !signals.some((g) => g.name === "slow_responses" || g.name === "timeouts")
  ) {
    reason = `${s.rps} requests/s is under half the threshold`;
  }
  return { signals, suspicious: reason === "", reason };
}

/** The subtype of an L7 incident and why. */
export interface L7Classification {
  attack_subtype: string;
  confidence: number;
  evidence: {
    rule: string;
    summary: string;
    /** Seconds each signal fired while the incident lasted. */
    signal_seconds: Record<string, number>;
    shares: Record<string, number>;
  };
}

/**
 * Names the attack from everything the incident saw (`s`: its whole span) and how often each
 * signal fired. First rule that matches wins, most specific first.
 */
export function classifyL7(
  s: L7WindowStats,
  signalSeconds: Record<string, number>,
  seconds: number,
  cfg: L7Config,
): L7Classification {
  const n = Math.max(1, s.requests);
  const shares = {
    top_ip_pct: s.top_ip_pct,
    top_path_pct: s.top_path_pct,
    error_rate: s.error_rate,
    auth_pct: share(s.auth_requests, n),
    auth_fail_pct: share(s.status_auth_fail, n),
    api_pct: share(s.api_requests, n),
    query_pct: share(s.query_requests, n),
    distinct_query_pct: share(s.unique_queries, s.query_requests),
    slow_pct: share(Math.max(s.slow_requests, s.status_408), n),
    threat_pct: share(s.threat_requests, n),
    tool_agent_pct: share(s.tool_requests + s.bot_requests, n),
    distinct_path_pct: share(s.unique_paths, n),
    success_pct: share((s.status_codes["2xx"] ?? 0) + (s.status_codes["3xx"] ?? 0), n),
  };
  const rateSeconds = signalSeconds.rate ?? 0;
  const fired = Object.keys(signalSeconds).length;
  const top = s.top_paths[0]?.path ?? "";
  const who = `${s.unique_ips} client addresses`;
  let subtype: string;
  let rule: string;
  let summary: string;
  if (
    shares.auth_pct >= 50 &&
    (shares.error_rate >= cfg.l7_error_rate_threshold || shares.auth_fail_pct >= 30)
  ) {
    subtype = "credential_stuffing";
    rule = "auth paths >= 50% of requests and error rate over the threshold (or >= 30% 401/403)";
    summary = `${shares.auth_pct}% of requests to login endpoints (${top}), ` +
      `${shares.error_rate}% errors, ${who}`;
  } else if (shares.query_pct >= 50 && shares.distinct_query_pct >= 80) {
    subtype = "cache_bypass";
    rule = "query strings on >= 50% of requests, >= 80% of them distinct";
    summary = `${shares.query_pct}% of requests carry a query string, ` +
      `${shares.distinct_query_pct}% distinct (random, defeats caches), top path ${top}, ${who}`;
  } else if (shares.slow_pct >= 20) {
    subtype = "slow_rate";
    rule = "slow responses or 408 timeouts >= 20% of requests";
    summary = `${shares.slow_pct}% of requests slow (>= 5 s) or timed out (408), ${who}`;
  } else if (shares.threat_pct >= 30) {
    subtype = "vulnerability_scan";
    rule = "attack patterns in >= 30% of requests";
    summary = `${shares.threat_pct}% of requests carry attack patterns ` +
      `(${Object.keys(s.threat_patterns).join(", ")}), ${who}`;
  } else if (s.top_ip_pct >= 50) {
    subtype = "single_source_abuse";
    rule = "one client sends >= 50% of requests";
    summary = `${s.top_ips[0]?.ip} sent ${s.top_ip_pct}% of ${s.requests} requests`;
  } else if (shares.distinct_path_pct >= 50 && shares.success_pct >= 50) {
    subtype = "scraping";
    rule = "distinct paths >= 50% of requests, mostly successful";
    summary = `${s.unique_paths} distinct paths in ${s.requests} requests ` +
      `(${shares.success_pct}% answered 2xx/3xx), ${shares.tool_agent_pct}% tool or bot agents, ${who}`;
  } else if (shares.api_pct >= 60) {
    subtype = "api_abuse";
    rule = "API endpoints >= 60% of requests";
    summary = `${shares.api_pct}% of requests to API endpoints (top ${top}), ${who}`;
  } else if (rateSeconds >= Math.max(1, seconds / 2) && s.unique_ips >= 10) {
    subtype = "volumetric_flood";
    rule = "rate over threshold for most of the incident from >= 10 clients";
    summary = `${s.requests} requests in ${seconds} s from ${who}, top path ${top} ` +
      `(${s.top_path_pct}%)`;
  } else {
    subtype = "l7_flood";
    rule = "at least two signals, no more specific pattern";
    summary = `${s.requests} requests in ${seconds} s, ${who}, signals: ${
      Object.keys(signalSeconds).join(", ")
    }`;
  }
  const confidence = Math.min(
    99,
    50 + 8 * Math.max(0, fired - 2) + (rateSeconds > 0 ? 15 : 0) + (s.unique_ips >= 10 ? 10 : 0),
  );
  return {
    attack_subtype: subtype,
    confidence,
    evidence: { rule, summary, signal_seconds: { ...signalSeconds }, shares },
  };
}
