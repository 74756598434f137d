/**
 * What the local dashboard and `ftagent top` show, as one JSON document (`/dashboard.json`):
 * the rate history with the thresholds, the tracked targets, the open incidents with their
 * evidence sentence and mitigation status, the incident history and the last events. The
 * {@linkcode DashboardFeed} hears incident events (bounded memory); the rest is handed in.
 *
 * @module
 */

import type { IncidentEvent, TargetStatus } from "../detect/mod.ts";
import type { AgentSnapshot } from "./agent_metrics.ts";
import type { OpenIncident } from "./incident_tally.ts";
import type { RateSeries } from "./rate_history.ts";

/** Events the feed keeps for "last events". */
const LAST_EVENTS = 20;

/** One open incident on the dashboard. */
export interface DashboardIncident extends OpenIncident {
  /** The classifier's one-sentence evidence ("" before it is classified). */
  evidence: string;
  /** Mitigation in a few words ("none", "applied 2", "proposed 1, dry run 1"). */
  mitigation: string;
}

/** One incident of the history (newest first). */
export interface DashboardPastIncident {
  /** The incident's id. */
  id: string;
  /** Attack family and subtype. */
  family: string;
  /** Attack subtype. */
  subtype: string;
  /** `"interface"` or the attacked address. */
  target: string;
  /** ISO-8601 start. */
  startedAt: string;
  /** ISO-8601 end, or null while open. */
  endedAt: string | null;
  /** Peak packets per second. */
  peakPps: number;
  /** Peak bits per second. */
  peakBps: number;
  /** Open, resolved or interrupted. */
  state: string;
  /** A PCAP was recorded for it (downloadable by id). */
  pcap: boolean;
}

/** One line of "last events". */
export interface DashboardEvent {
  /** Wall time (ms). */
  atMs: number;
  /** What happened, in one line. */
  text: string;
}

/** The document `/dashboard.json` serves. */
export interface DashboardData {
  /** The agent's version and source. */
  version: string;
  /** Capture source (interface or file). */
  source: string;
  /** Wall time (ms) of the document. */
  nowMs: number;
  /** Problems `/health` names (empty: healthy). */
  problems: string[];
  /** The interface's thresholds (null: off). */
  thresholds: Record<string, number | null>;
  /** The baseline's levels by rate name. */
  baseline: { ready: boolean; levels: Record<string, number> };
  /** The last 15 minutes, one sample per second. */
  history: RateSeries;
  /** Tracked targets with their state and thresholds. */
  targets: TargetStatus[];
  /** Incidents open now. */
  open: DashboardIncident[];
  /** Recent incidents, newest first. */
  past: DashboardPastIncident[];
  /** The last incident events, newest first. */
  events: DashboardEvent[];
  /** The mitigation mode. */
  mitigationMode: string;
}

/** Inputs of one document besides what the feed heard. */
export interface DashboardInputs {
  /** The agent's snapshot. */
  snapshot: AgentSnapshot;
  /** Problems of the snapshot. */
  problems: string[];
  /** The rate history. */
  history: RateSeries;
  /** The detector's targets. */
  targets: TargetStatus[];
  /** Recent incidents from the store (none without one). */
  past: DashboardPastIncident[];
  /** Mitigation action states by incident id. */
  mitigation: (incident: string) => string[];
  /** The mitigation mode. */
  mitigationMode: string;
}

/** Keeps what the dashboard needs from incident events. */
export class DashboardFeed {
  readonly #evidence = new Map<string, string>();
  readonly #events: DashboardEvent[] = [];

  /** Takes one incident event into account at wall time `nowMs`. */
  event(event: IncidentEvent, nowMs: number): void {
    const summary = (event.evidence as { summary?: unknown } | null)?.summary;
    if (event.event === "resolve") this.#evidence.delete(event.id);
    else if (typeof summary === "string") this.#evidence.set(event.id, summary);
    if (event.event === "update") return;
    const family = String(event.attack_family ?? "unknown");
    const target = String(event.target ?? "");
    const peak = typeof event.peak_pps === "number"
      ? ` peak ${Math.round(event.peak_pps)} pps`
      : "";
    this.#events.unshift({
      atMs: nowMs,
      text: `${event.event} ${family} on ${target}${peak} ${event.id.slice(0, 8)}`,
    });
    if (this.#events.length > LAST_EVENTS) this.#events.length = LAST_EVENTS;
  }

  /** The document for `inputs`. */
  data(inputs: DashboardInputs): DashboardData {
    const s = inputs.snapshot;
    return {
      version: s.version,
      source: s.capture.source,
      nowMs: s.nowMs,
      problems: inputs.problems,
      thresholds: s.thresholds,
      baseline: { ready: s.baseline.ready, levels: s.baseline.levels },
      history: inputs.history,
      targets: inputs.targets,
      open: s.incidents.open.map((i) => ({
        ...i,
        evidence: this.#evidence.get(i.id) ?? "",
        mitigation: mitigationText(inputs.mitigation(i.id)),
      })),
      past: inputs.past,
      events: this.#events.slice(),
      mitigationMode: inputs.mitigationMode,
    };
  }
}

/** Action states as a few words: `["applied", "applied", "proposed"]` -> "applied 2, proposed 1". */
export function mitigationText(states: string[]): string {
  if (states.length === 0) return "none";
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${s.replace("_", " ")} ${n}`).join(", ");
}
