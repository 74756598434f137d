/**
 * What payload findings change in an incident event: `ioc_hits`, `attack_tool`, the subtype
 * where ours is generic, `botnet_detected`, the confidence, and the evidence.
 *
 * @module
 */

import type { PayloadFindings } from "./inspector.ts";

/** An indicator names the tool and subtype once it is in this share of the inspected payloads. */
export const IOC_SHARE = 0.05;
/** ... and in at least this many of them. */
export const IOC_MIN_HITS = 3;
/** A signature confirms its amplification subtype from this share of the inspected payloads. */
export const SIGNATURE_SHARE = 0.2;
/** ... and names it (over a generic or mixed amplification subtype) from this share. */
export const SIGNATURE_RENAME_SHARE = 0.6;
/** ... in at least this many payloads. */
export const SIGNATURE_MIN_HITS = 5;

/** Botnets: an indicator of one names the subtype `<name>_botnet`. */
export const BOTNETS: readonly string[] = [
  "mirai",
  "gafgyt",
  "bashlite",
  "mozi",
  "xorddos",
  "meris",
  "hajime",
  "moobot",
  "fodcha",
  "dark_nexus",
  "zergeca",
];
/** Attack tools: an indicator of one names the subtype `attack_tool`. */
export const TOOLS: readonly string[] = [
  "loic",
  "hoic",
  "mhddos",
  "hping",
  "hping3",
  "slowloris",
  "xerxes",
  "torshammer",
  "goldeneye",
];

/**
 * Subtypes that name only the shape of the packets (which the payload can make precise); the
 * others (amplification services, DNS query kinds, multi-vector lists) stay.
 */
export const GENERIC_SUBTYPES: ReadonlySet<string> = new Set([
  "unknown",
  "volumetric",
  "small_packet_flood",
  "udp_flood",
  "tcp_flood",
  "icmp_flood",
  "ping_flood",
  "syn_flood",
  "ack_flood",
  "psh_ack_flood",
  "rst_flood",
  "fin_flood",
  "null_flood",
  "xmas_flood",
  "anomalous_flags_flood",
  "connection_flood",
  "udp_fragment_flood",
  "ip_fragment_flood",
]);
/** Generic subtypes a dominant amplification signature renames (UDP shapes), and the mixed one. */
const AMPLIFIABLE = new Set([
  "unknown",
  "volumetric",
  "small_packet_flood",
  "udp_flood",
  "udp_fragment_flood",
  "multi_amplification",
]);

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");

/** What an indicator's attack is: a botnet, a tool, a booter service, or none of those. */
export function iocKind(name: string, family: string): "botnet" | "tool" | "booter" | null {
  const n = slug(name), f = slug(family);
  if (/booter|stresser/.test(n) || /booter|stresser/.test(f)) return "booter";
  if (BOTNETS.includes(n) || /(^|_)botnet($|_)/.test(f)) return "botnet";
  if (TOOLS.includes(n) || /(^|_)(tool|attack_tool)($|_)/.test(f)) return "tool";
  return null;
}

/**
 * The subtype an indicator names: `<name>_botnet` for botnets (mirai -> `mirai_botnet`),
 * `attack_tool` for attack tools, `booter_service` for booters and stressers, else null.
 */
export function iocSubtype(name: string, family: string): string | null {
  switch (iocKind(name, family)) {
    case "botnet":
      return `${slug(name)}_botnet`;
    case "tool":
      return "attack_tool";
    case "booter":
      return "booter_service";
  }
  return null;
}

/** Closes `part` of the way from `confidence` to 100 (by the share, at most half). */
function raised(confidence: number, share: number): number {
  const c = Number.isFinite(confidence) ? confidence : 0;
  return Math.min(100, Math.round(c + (100 - c) * 0.5 * Math.min(1, share)));
}

function pct(x: number): number {
  return Math.round(x * 1000) / 10;
}

/**
 * Applies `findings` to an incident event (a detector event, its `evidence` the classifier's):
 * lists every indicator in `ioc_hits` (`"name:family"`, most frequent first); when the top one
 * is in at least {@linkcode IOC_SHARE} of the inspected payloads (and {@linkcode IOC_MIN_HITS}),
 * it names `attack_tool`, the subtype where ours is generic ({@linkcode iocSubtype}),
 * `botnet_detected` for a botnet, and raises the confidence. A signature in at least
 * {@linkcode SIGNATURE_SHARE} of the payloads raises the confidence of its amplification
 * subtype; from {@linkcode SIGNATURE_RENAME_SHARE} it names that subtype over a generic UDP or
 * mixed amplification one. The evidence gets the findings and a clause naming each signature
 * and indicator with its share of the inspected payloads.
 */
export function applyFindings(event: Record<string, unknown>, findings: PayloadFindings): void {
  const inspected = findings.inspected;
  event.ioc_hits = findings.ioc.map((f) => f.hit);
  if (!(inspected > 0)) return;
  const subtype = typeof event.attack_subtype === "string" ? event.attack_subtype : "unknown";
  const family = typeof event.attack_family === "string" ? event.attack_family : "unknown";
  let confidence = typeof event.confidence === "number" ? event.confidence : 0;
  const clauses: string[] = [];
  const notes: string[] = [];
  let newSubtype = subtype, newFamily = family;

  const sig = findings.signatures[0];
  if (sig && sig.hits >= SIGNATURE_MIN_HITS && sig.hits / inspected >= SIGNATURE_SHARE) {
    const share = sig.hits / inspected;
    const expected = `${sig.service}_amplification`;
    if (subtype === expected) {
      confidence = raised(confidence, share);
      notes.push(`payload signature ${sig.name} confirms ${expected}`);
    } else if (share >= SIGNATURE_RENAME_SHARE && AMPLIFIABLE.has(subtype)) {
      newSubtype = expected;
      if (family === "unknown" || family === "udp_flood" || family === "fragment_flood") {
        newFamily = sig.service === "dns" ? "dns_flood" : "udp_flood";
      }
      confidence = raised(confidence, share);
      notes.push(
        `payload signature ${sig.name} in ${pct(share)}% >= ${
          SIGNATURE_RENAME_SHARE * 100
        }% of inspected payloads names ${expected}`,
      );
    }
  }
  for (const s of findings.signatures) {
    clauses.push(`${s.label} in ${pct(s.hits / inspected)}%`);
  }

  const top = findings.ioc[0];
  if (top && top.hits >= IOC_MIN_HITS && top.hits / inspected >= IOC_SHARE) {
    const share = top.hits / inspected;
    event.attack_tool = top.name;
    const named = iocSubtype(top.name, top.family);
    if (named !== null && GENERIC_SUBTYPES.has(newSubtype)) {
      notes.push(`indicator ${top.hit} in ${pct(share)}% of inspected payloads names ${named}`);
      newSubtype = named;
    }
    if (iocKind(top.name, top.family) === "botnet") event.botnet_detected = true;
    confidence = raised(confidence, share);
  }
  for (const f of findings.ioc.slice(0, 5)) {
    clauses.push(`indicator ${f.hit} in ${pct(f.hits / inspected)}%`);
  }

  event.attack_subtype = newSubtype;
  event.attack_family = newFamily;
  event.confidence = confidence;
  const evidence = event.evidence;
  if (typeof evidence !== "object" || evidence === null || Array.isArray(evidence)) return;
  const e = evidence as Record<string, unknown>;
  e.payload = {
    inspected,
    signatures: Object.fromEntries(
      findings.signatures.map((s) => [s.name, pct(s.hits / inspected)]),
    ),
    ioc: Object.fromEntries(findings.ioc.map((f) => [f.hit, pct(f.hits / inspected)])),
  };
  if (clauses.length > 0 && typeof e.summary === "string") {
    e.summary += `; payload: ${clauses.join(", ")} of ${inspected} inspected payloads`;
  }
  if (notes.length > 0 && typeof e.rule === "string") e.rule += `; ${notes.join("; ")}`;
}

/** What {@linkcode annotateIncident} reads of a watched target (a `PayloadInspector`). */
export interface FindingsSource {
  /** Starts counting a target's payloads (seeded from `sinceUs`). */
  watch(target: string, sinceUs: number): boolean;
  /** Stops counting them. */
  unwatch(target: string): void;
  /** What they held, or null when the target is not watched. */
  findings(target: string): PayloadFindings | null;
}

/**
 * The detector's incident events through the inspector: an incident's target is watched from
 * its first event (seeded from its start) to its resolve, and each event gets the findings
 * ({@linkcode applyFindings}). Outbound findings and L7 events are left as they are.
 */
export function annotateIncident(source: FindingsSource, event: Record<string, unknown>): void {
  if (event.type !== "incident" || event.direction === "outbound") return;
  if (event.attack_family === "http_flood" || typeof event.target !== "string") return;
  const target = event.target;
  if (source.findings(target) === null) {
    const started = typeof event.started_at === "string" ? Date.parse(event.started_at) : NaN;
    source.watch(target, started * 1000);
  }
  const findings = source.findings(target);
  if (findings !== null) applyFindings(event, findings);
  if (event.event === "resolve") source.unwatch(target);
}
