/**
 * Incidents open now and opened since the start, by attack family, kept from the incident
 * events (for the metrics endpoint and `ftagent status`).
 *
 * @module
 */

import type { IncidentEvent } from "../detect/mod.ts";

/** One open incident as the tally knows it. */
export interface OpenIncident {
  /** The incident's id. */
  id: string;
  /** Attack family. */
  family: string;
  /** Attack subtype. */
  subtype: string;
  /** `"interface"` or the attacked address. */
  target: string;
  /** ISO-8601 time it started. */
  startedAt: string;
  /** Peak packets per second so far. */
  peakPps: number;
  /** Peak bits per second so far. */
  peakBps: number;
}

/** Counts incidents by family from their events. */
export class IncidentTally {
  readonly #open = new Map<string, OpenIncident>();
  readonly #total = new Map<string, number>();

  /** Takes one incident event into account. */
  event(event: IncidentEvent): void {
    if (event.event === "resolve") {
      this.#open.delete(event.id);
      return;
    }
    const family = typeof event.attack_family === "string" ? event.attack_family : "unknown";
    if (event.event === "open") this.#total.set(family, (this.#total.get(family) ?? 0) + 1);
    this.#open.set(event.id, {
      id: event.id,
      family,
      subtype: typeof event.attack_subtype === "string" ? event.attack_subtype : "unknown",
      target: typeof event.target === "string" ? event.target : "",
      startedAt: typeof event.started_at === "string" ? event.started_at : "",
      peakPps: typeof event.peak_pps === "number" ? event.peak_pps : 0,
      peakBps: typeof event.peak_bps === "number" ? event.peak_bps : 0,
    });
  }

  /** The incidents open now, oldest first. */
  open(): OpenIncident[] {
    return [...this.#open.values()];
  }

  /** Incidents opened since the start, by family. */
  totals(): Record<string, number> {
    return Object.fromEntries(this.#total);
  }
}
