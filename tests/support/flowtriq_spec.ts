// The endpoint table of ../shared/spec/flowtriq-agent-api.md as data, so the spec file is the
// source of truth of the contract tests: for each endpoint, the body keys an agent must send
// (and may send), for L3/L4 and for L7 incidents.

/** Path of the spec. */
export const SPEC = new URL("../../../shared/spec/flowtriq-agent-api.md", import.meta.url).pathname;

/** Keys of one body variant. */
export interface KeySet {
  required: Set<string>;
  optional: Set<string>;
}

/** One row of the endpoint table. */
export interface SpecEndpoint {
  method: "GET" | "POST";
  /** The path as written (`/agent/incidents/{uuid}`) and as a pattern. */
  path: string;
  pattern: RegExp;
  /** L3/L4 body keys, and L7 (same as L3/L4 unless the row says otherwise). */
  l3: KeySet;
  l7: KeySet;
}

function keys(text: string): KeySet {
  // Notes in parentheses ("(may add `confidence`, `pct`)", "(L7: ...)") are not required keys.
  let flat = text;
  for (let prev = ""; prev !== flat;) {
    prev = flat;
    flat = flat.replace(/\([^()]*\)/g, "");
  }
  const [req, opt = ""] = flat.split(/\boptional\b/);
  const names = (t: string) => new Set([...t.matchAll(/`([a-z][a-z0-9_]*)`/g)].map((m) => m[1]));
  return { required: names(req), optional: names(opt) };
}

function union(a: KeySet, b: KeySet): KeySet {
  return {
    required: new Set([...a.required, ...b.required]),
    optional: new Set([...a.optional, ...b.optional]),
  };
}

/** Parses the endpoint table of the spec. */
export function specEndpoints(text = Deno.readTextFileSync(SPEC)): SpecEndpoint[] {
  const out: SpecEndpoint[] = [];
  const section = text.split("## Endpoints")[1].split("\n## ")[0];
  for (const line of section.split("\n")) {
    const m = /^\| `(GET|POST) ([^`]+)` \| [^|]* \| (.*) \|$/.exec(line);
    if (!m) continue;
    const [, method, path, bodyText] = m;
    const body = bodyText.split(/Response:/)[0];
    let l3: KeySet;
    let l7: KeySet;
    const l7Split = body.split(/\bL7 adds\b|\bL7:/);
    if (/L3\/L4:/.test(body)) {
      l3 = keys(l7Split[0].replace("L3/L4:", ""));
      l7 = keys(l7Split[1] ?? "");
    } else if (/\bL7 adds\b/.test(body)) {
      l3 = keys(l7Split[0]);
      l7 = union(l3, keys(l7Split[1]));
    } else {
      l3 = keys(body);
      l7 = union(l3, { required: new Set(), optional: new Set() });
    }
    // "(L7: [{t, rps}], `peak_rps`)": keys an L7 body adds.
    for (const note of body.matchAll(/\(L7:([^)]*\)?[^)]*)\)/g)) {
      for (const k of keys(note[1].replace(/\([^)]*\)/g, "")).required) l7.required.add(k);
    }
    const pattern = new RegExp(`^${path.replace(/\{uuid\}/g, "[^/]+")}$`);
    out.push({ method: method as "GET" | "POST", path, pattern, l3, l7 });
  }
  return out;
}

/** The JSON type each spec key must have ("iso" = ISO-8601 UTC with offset). */
export const KEY_TYPES: Record<string, string> = {
  version: "string",
  baseline_ready: "boolean",
  baseline_avg_pps: "number",
  baseline_p99_pps: "number",
  baseline_hourly_ready: "boolean",
  baseline_current_hour_p99: "number",
  circuit_breaker: "breaker",
  retry_queue_size: "int",
  gre_dedup_enabled: "boolean",
  hypervisor_mode: "boolean",
  pcap_active: "boolean",
  flow_active: "boolean",
  src_ip_overflow: "boolean",
  src_ip_count: "int",
  pkt_samples_count: "int",
  l7_enabled: "boolean",
  l7_status: "string",
  pps: "number",
  bps: "number",
  avg_pps: "number",
  samples: "int",
  tcp_pct: "pct",
  udp_pct: "pct",
  icmp_pct: "pct",
  conn_count: "int",
  threshold: "number",
  peak_pps: "number",
  peak_bps: "number",
  started_at: "iso",
  attack_family: "string",
  attack_subtype: "string",
  baseline_pps: "number",
  duration: "number",
  top_src_ips: "ips",
  top_dst_ports: "ports",
  source_ip_count: "int",
  attack_tool: "string",
  inner_ip: "string",
  rps: "number",
  baseline_rps: "number",
  correlated_l3l4: "boolean",
  protocol_breakdown: "protocols",
  total_packets: "int",
  ioc_hits: "strings",
  spoofing_detected: "boolean",
  botnet_detected: "boolean",
  fragment_count: "int",
  fragment_pct: "pct",
  l7_error_rate: "number",
  l7_status_codes: "counts",
  l7_top_user_agents: "counts",
  l7_threat_patterns: "counts",
  l7_protocol_versions: "counts",
  duration_seconds: "number",
  confidence: "pct",
  src_ip_entropy: "number",
  tcp_flag_breakdown: "flags",
  dns_query_stats: "dns",
  pkt_length_histogram: "lengths",
  ttl_distribution: "counts",
  velocity_curve: "velocity",
  peak_rps: "number",
  avg_pkt_length: "number",
  command_id: "int",
  status: "ack_status",
  error: "string|null",
};

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isPct = (v: unknown) => isNum(v) && v >= 0 && v <= 100;
const allNum = (v: unknown) => isObj(v) && Object.values(v).every(isNum);
const exactly = (v: unknown, ks: string[]) =>
  isObj(v) && Object.keys(v).sort().join() === [...ks].sort().join() && allNum(v);

/** Why `value` does not have the type of spec key `key` (L7 or not), or null when it does. */
export function typeError(key: string, value: unknown, l7: boolean): string | null {
  const t = KEY_TYPES[key];
  const ok = (() => {
    switch (t) {
      case "string":
        return typeof value === "string";
      case "boolean":
        return typeof value === "boolean";
      case "number":
        return isNum(value);
      case "number|null":
        return value === null || isNum(value);
      case "string|null":
        return value === null || typeof value === "string";
      case "int":
        return Number.isInteger(value);
      case "pct":
        return isNum(value) && value >= 0 && value <= 100;
      case "iso":
        return typeof value === "string" &&
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/.test(value);
      case "breaker":
        return value === "closed" || value === "open" || value === "half-open";
      case "ack_status":
        return value === "applied" || value === "failed";
      case "ips":
        return Array.isArray(value) &&
          value.every((e) =>
            isObj(e) && typeof e.ip === "string" && Number.isInteger(e.count) &&
            (e.pct === undefined || isPct(e.pct)) &&
            (e.confidence === undefined || (Number.isInteger(e.confidence) && isPct(e.confidence)))
          );
      case "ports":
        return l7 ? allNum(value) : Array.isArray(value) &&
          value.every((e) => isObj(e) && Number.isInteger(e.port) && Number.isInteger(e.count));
      case "strings":
        return Array.isArray(value) && value.every((s) => typeof s === "string");
      case "counts":
        return allNum(value);
      case "protocols":
        return exactly(value, ["tcp", "udp", "icmp", "other", "fragments"]);
      case "flags":
        return exactly(value, ["SYN", "ACK", "RST", "FIN", "PSH", "URG"]);
      case "lengths":
        return exactly(value, [
          "0-64",
          "65-128",
          "129-256",
          "257-512",
          "513-1024",
          "1025-1500",
          "1500+",
        ]);
      case "dns":
        return isObj(value) && Number.isInteger(value.total) && Number.isInteger(value.unique) &&
          Array.isArray(value.top);
      case "velocity":
        return Array.isArray(value) &&
          value.every((p) => isObj(p) && isNum(p.t) && isNum(l7 ? p.rps : p.pps));
      default:
        return false;
    }
  })();
  return ok ? null : `${key}: ${JSON.stringify(value)?.slice(0, 80)} is not ${t ?? "a spec key"}`;
}

/**
 * Every problem of `body` against `set`: missing required keys, keys the spec does not list
 * (except `extra`), values of the wrong type.
 */
export function bodyProblems(
  body: unknown,
  set: KeySet,
  l7: boolean,
  extra: string[] = [],
): string[] {
  if (!isObj(body)) return ["the body is not an object"];
  const problems: string[] = [];
  for (const k of set.required) if (!(k in body)) problems.push(`missing ${k}`);
  for (const [k, v] of Object.entries(body)) {
    if (!set.required.has(k) && !set.optional.has(k)) {
      if (!extra.includes(k)) problems.push(`unexpected ${k}`);
      continue;
    }
    const e = typeError(k, v, l7);
    if (e !== null) problems.push(e);
  }
  return problems;
}
