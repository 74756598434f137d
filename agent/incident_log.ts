/**
 * The incident log line: one per incident event, with its id, target, family and evidence
 * (opens as warnings, with the rule that opened them; resolves of incidents a stopped agent left
 * open as warnings too); HTTP floods with their request rates
 * instead of packet rates.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { IncidentEvent } from "../core/detect/mod.ts";

/** Logs `event` as one line. */
export function logIncident(log: Logger, event: IncidentEvent): void {
  const l7 = event.attack_family === "http_flood";
  const fields = {
    event: event.event,
    id: event.id,
    target: event.target,
    network: typeof event.network === "string" ? ` (network ${event.network})` : "",
    family: event.attack_family,
    subtype: event.attack_subtype,
    peak_pps: event.peak_pps,
    peak_bps: event.peak_bps,
    rps: event.rps,
    peak_rps: event.peak_rps,
    baseline_rps: event.baseline_rps,
    confidence: event.confidence,
    opened_by: event.opened_by,
    summary: (event.evidence as { summary?: string } | null)?.summary ?? "",
  };
  const rates = l7
    ? "{rps} rps (peak {peak_rps}, baseline {baseline_rps})"
    : "peak {peak_pps} pps {peak_bps} bps";
  const text = `incident {event} {id}: {family}/{subtype} on {target}{network}, ${rates}, ` +
    "confidence {confidence}: {summary}";
  if (event.event === "open") log.warn(text + " ({opened_by})", fields);
  else if (event.resolved_by === "agent_restart") {
    log.warn(text + " (resolved at start: the agent stopped while it was open)", fields);
  } else log.info(text, fields);
}
