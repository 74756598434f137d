/**
 * Mitigation planning: from an incident event to the typed actions that fit the attack, and the
 * mode to run them in. Pure: the allowlist and settings are passed in.
 *
 * ## Default rules (used unless `mitigation.rules` names the family or family/subtype)
 *
 * | attack | actions |
 * |---|---|
 * | `<service>_amplification` (NTP, SSDP, memcached, ...) | drop UDP from the service's source port(s) to the target |
 * | `dns_amplification` | rate-limit UDP from source port 53 to the target (the host's own lookups keep working) |
 * | `multi_amplification` | drop UDP from every amplification port but 53, rate-limit 53 |
 * | `syn_flood` | SYN rate limit to the dominant port (>= 50% of packets; else every port), SYN cookies |
 * | `syn_ack_flood` | drop the reflecting sources |
 * | other `tcp_flood`, `udp_flood` | drop the sources; spoofed: rate-limit the protocol to the dominant port (or all) |
 * | `dns_query_flood` | rate-limit UDP to port 53 |
 * | `icmp_flood`, `ping_flood` | rate-limit ICMP |
 * | `fragment_flood` | drop fragments to the target |
 * | `gre_flood`, `ip_proto_<n>_flood` | drop GRE (protocol n) to the target |
 * | `multi_vector` | the rules of each part |
 * | `http_flood` | drop the sources |
 * | `unknown` | nothing |
 *
 * "Drop the sources" always means the top talkers (up to `max_sources_per_incident`, each with at
 * least 5% of the top one's packets; those the `ip_blocklist` lists, `threat_intel`, first and
 * whatever their share), never allowlisted ones, and never when the evidence says
 * the sources are spoofed (blocking random forged addresses is useless and can hurt real
 * hosts). With a Cloudflare token and zone, default rules that drop sources also add Cloudflare
 * access rules for them.
 *
 * @module
 */

import type { Allowlist } from "./allowlist.ts";
import { AMPLIFICATION_SERVICES, canonicalCidr, PROTOCOL_NUMBERS } from "../packet/mod.ts";
import type { IncidentEvent } from "../detect/mod.ts";
import { actionKey, type MitigationAction, validateAction } from "./action.ts";
import type { ActionSpec, MitigationMode, MitigationSettings } from "../config/mod.ts";

/** What to do about one incident. */
export interface MitigationPlan {
  /** The incident's id. */
  incident: string;
  /** Whether the actions are applied, proposed or only logged. */
  mode: MitigationMode;
  /** Which rule decided: a `mitigation.rules` key, or "default <family>/<subtype>". */
  rule: string;
  /** The actions, validated and deduplicated. */
  actions: MitigationAction[];
  /** Why some actions were left out (spoofed sources, allowlisted addresses, no dominant port). */
  notes: string[];
}

/** Share of the top source's packets a source needs to be blocked with it. */
const SOURCE_SHARE_OF_TOP = 0.05;
/** Share of packets that makes a destination port "dominant" (percent). */
const DOMINANT_PORT_PCT = 50;

/** Plans the actions for an incident event (normally its "open" event). */
export function planMitigation(
  event: IncidentEvent,
  settings: MitigationSettings,
  allowlist: Allowlist,
): MitigationPlan {
  if (event.direction === "outbound") {
    return {
      incident: event.id,
      mode: settings.mode,
      rule: "outbound",
      actions: [],
      notes: ["this host sends the flood (compromised-host finding): nothing to block inbound"],
    };
  }
  const family = String(event.attack_family ?? "unknown");
  const subtype = String(event.attack_subtype ?? "unknown");
  const spoofed = event.spoofing_detected === true;
  const rule = settings.rules[`${family}/${subtype}`] ?? settings.rules[family];
  const ruleName = settings.rules[`${family}/${subtype}`]
    ? `${family}/${subtype}`
    : settings.rules[family]
    ? family
    : `default ${family}/${subtype}`;
  const notes: string[] = [];
  let specs: ActionSpec[];
  let parts: { family: string; subtype: string }[] = [{ family, subtype }];
  if (rule?.actions) {
    specs = rule.actions;
  } else if (family === "multi_vector") {
    parts = evidenceParts(event);
    specs = parts.flatMap((p) =>
      (settings.rules[`${p.family}/${p.subtype}`] ?? settings.rules[p.family])?.actions ??
        defaultSpecs(p.family, p.subtype, spoofed, settings)
    );
  } else {
    specs = defaultSpecs(family, subtype, spoofed, settings);
  }
  const ctx = { event, settings, allowlist, spoofed, parts, notes };
  const actions: MitigationAction[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    for (const action of expand(spec, ctx)) {
      const err = validateAction(action);
      if (err !== null) {
        notes.push(`left out: ${err}`);
        continue;
      }
      const key = actionKey(action);
      if (seen.has(key)) continue;
      seen.add(key);
      actions.push(action);
    }
  }
  if (actions.length === 0 && notes.length === 0) notes.push(`no action for ${family}/${subtype}`);
  return {
    incident: event.id,
    mode: rule?.mode ?? settings.mode,
    rule: ruleName,
    actions,
    notes: [...new Set(notes)],
  };
}

/** The default actions of a family/subtype (see the module documentation). */
export function defaultSpecs(
  family: string,
  subtype: string,
  spoofed: boolean,
  settings: MitigationSettings,
): ActionSpec[] {
  const cloudflare = settings.cloudflare.api_token !== "" && settings.cloudflare.zone_id !== "";
  const sources: ActionSpec[] = cloudflare
    ? [{ type: "drop_sources" }, { type: "cloudflare" }]
    : [{ type: "drop_sources" }];
  if (subtype === "dns_amplification") {
    return [{ type: "rate_limit", protocol: "udp", src_port: 53 }];
  }
  if (subtype === "multi_amplification") {
    return [
      { type: "drop", protocol: "udp", src_port: "service" },
      { type: "rate_limit", protocol: "udp", src_port: 53 },
    ];
  }
  if (subtype.endsWith("_amplification")) {
    return [{ type: "drop", protocol: "udp", src_port: "service" }];
  }
  switch (family) {
    case "syn_flood":
      if (subtype === "syn_ack_flood") return sources;
      return [
        { type: "syn_rate_limit", dst_port: "top" },
        { type: "syn_cookies" },
        ...sources,
      ];
    case "tcp_flood":
    case "udp_flood": {
      const protocol = family === "tcp_flood" ? "tcp" : "udp";
      return spoofed ? [{ type: "rate_limit", protocol, dst_port: "top" }, ...sources] : sources;
    }
    case "dns_flood":
      return [{ type: "rate_limit", protocol: "udp", dst_port: 53 }, ...sources];
    case "icmp_flood":
      return [{ type: "rate_limit", protocol: "icmp" }, ...sources];
    case "fragment_flood":
      return [{ type: "drop_fragments" }];
    case "protocol_flood": {
      if (subtype === "gre_flood") return [{ type: "drop", protocol: "gre" }];
      const n = /^ip_proto_(\d{1,3})_flood$/.exec(subtype);
      return n ? [{ type: "drop", protocol: Number(n[1]) }] : [];
    }
    case "http_flood":
      return sources;
    default:
      return [];
  }
}

interface Context {
  event: IncidentEvent;
  settings: MitigationSettings;
  allowlist: Allowlist;
  spoofed: boolean;
  parts: { family: string; subtype: string }[];
  notes: string[];
}

function expand(spec: ActionSpec, ctx: Context): MitigationAction[] {
  const { settings, notes } = ctx;
  const ttl_s = spec.ttl_seconds ?? settings.ttl_seconds;
  const target = targetOf(ctx.event);
  switch (spec.type) {
    case "drop_sources":
      return topSources(ctx).map((source) => ({
        type: "drop_source",
        source,
        protocol: null,
        ttl_s,
      }));
    case "cloudflare":
      if (settings.cloudflare.api_token === "" || settings.cloudflare.zone_id === "") {
        notes.push("Cloudflare rules need mitigation.cloudflare.api_token and zone_id");
        return [];
      }
      return topSources(ctx).map((source) => ({
        type: "cloudflare_rule",
        source,
        mode: spec.mode ?? settings.cloudflare.mode,
        ttl_s,
      }));
    case "drop":
    case "rate_limit": {
      const protocol = typeof spec.protocol === "number"
        ? spec.protocol
        : PROTOCOL_NUMBERS[spec.protocol];
      const dst = spec.dst_port === "top" ? topDstPort(ctx.event) : spec.dst_port ?? null;
      if (spec.dst_port === "top" && dst === null && spec.type === "drop") {
        notes.push(`no destination port holds ${DOMINANT_PORT_PCT}% of the packets: not dropping`);
        return [];
      }
      const srcPorts = spec.src_port === "service"
        ? servicePorts(ctx.parts)
        : [spec.src_port ?? null];
      const pps = spec.type === "rate_limit" ? spec.pps ?? settings.rate_limit_pps : 0;
      return srcPorts.map((src_port) => ({
        type: spec.type === "drop" ? "drop_traffic" : "rate_limit",
        target,
        protocol,
        src_port,
        dst_port: src_port === null ? dst : null,
        pps,
        ttl_s,
      }));
    }
    case "drop_fragments":
      return [{ type: "drop_fragments", target, ttl_s }];
    case "syn_rate_limit":
      return [{
        type: "syn_rate_limit",
        target,
        dst_port: spec.dst_port === "top" ? topDstPort(ctx.event) : spec.dst_port ?? null,
        pps: spec.pps ?? settings.syn_rate_limit_pps,
        ttl_s,
      }];
    case "syn_cookies":
      return [{ type: "syn_cookies", ttl_s }];
  }
}

/** The attacked address (canonical), or null for an interface-wide incident. */
function targetOf(event: IncidentEvent): string | null {
  const inner = event.inner_ip;
  if (typeof inner !== "string") return null;
  return canonicalCidr(inner);
}

function topSources(ctx: Context): string[] {
  if (ctx.spoofed) {
    ctx.notes.push("sources are spoofed: not blocking sources");
    return [];
  }
  // [{ip, count}] (L3/L4), or {ip: count} as some L7 payloads carry it.
  const raw = ctx.event.top_src_ips;
  const list: unknown[] = Array.isArray(raw)
    ? raw
    : typeof raw === "object" && raw !== null
    ? Object.entries(raw).map(([ip, count]) => ({ ip, count }))
    : [];
  type Row = { ip: string; count: number; threat_intel?: unknown };
  const listed = (r: Row) => r.threat_intel === true ? 1 : 0;
  const rows = list.filter((r): r is Row => {
    const row = r as { ip?: unknown; count?: unknown } | null;
    return typeof row?.ip === "string" && typeof row.count === "number" &&
      Number.isFinite(row.count);
  }).sort((a, b) => b.count - a.count);
  if (rows.length === 0) return [];
  const floor = rows[0].count * SOURCE_SHARE_OF_TOP;
  // Sources the ip_blocklist lists (`threat_intel`) first, whatever their share.
  rows.sort((a, b) => listed(b) - listed(a));
  const out: string[] = [];
  for (const row of rows) {
    if (out.length >= ctx.settings.max_sources_per_incident) break;
    if (row.count < floor && listed(row) === 0) break;
    const source = canonicalCidr(row.ip);
    if (source === null) continue;
    const protectedWhy = ctx.allowlist.protects(source);
    if (protectedWhy !== null) {
      ctx.notes.push(`not blocking ${protectedWhy}`);
      continue;
    }
    out.push(source);
  }
  return out;
}

/** The dominant destination port (>= 50% of the packets), or null. */
function topDstPort(event: IncidentEvent): number | null {
  const top = (event.evidence as { top_dst_port?: { port?: unknown; pct?: unknown } } | null)
    ?.top_dst_port;
  if (!top || typeof top.port !== "number" || typeof top.pct !== "number") return null;
  return top.pct >= DOMINANT_PORT_PCT && top.port > 0 ? top.port : null;
}

/** Source ports of the amplification services named by the subtypes (53 never dropped whole). */
function servicePorts(parts: { subtype: string }[]): (number | null)[] {
  const ports = new Set<number>();
  for (const { subtype } of parts) {
    const m = /^(.+)_amplification$/.exec(subtype);
    if (!m) continue;
    for (const s of AMPLIFICATION_SERVICES) {
      if (m[1] === "multi" ? s.port !== 53 : s.name === m[1]) ports.add(s.port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

function evidenceParts(event: IncidentEvent): { family: string; subtype: string }[] {
  const parts = (event.evidence as { parts?: unknown } | null)?.parts;
  if (!Array.isArray(parts)) return [];
  return parts.filter((p): p is { family: string; subtype: string } =>
    typeof p === "object" && p !== null && typeof p.family === "string" &&
    typeof p.subtype === "string"
  ).map((p) => ({ family: p.family, subtype: p.subtype }));
}
