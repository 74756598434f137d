/**
 * The agent's local incident store at work: every incident event recorded in the state
 * database through its {@linkcode StateWriter} (never waiting on disk: the latest event of each
 * incident waits in memory while the database is locked or full), incidents a previous run left
 * open (killed, crashed) resolved at start with their last known numbers, and rows older than
 * `incident_retention_days` pruned at start and every hour.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import { IncidentStore } from "./incident_store.ts";
import { type StateWriter, stateWriter } from "./state_writer.ts";

/** Wall-clock period (ms) of the retention pruning. */
const PRUNE_MS = 3600_000;

/** `resolved_by` of an incident resolved at the next start after the agent stopped. */
export const RESOLVED_BY_RESTART = "agent_restart";

/** Records incident events in the store and keeps it pruned. */
export class LocalIncidents {
  /** The store (`ftagent incidents` reads the same tables). */
  readonly store: IncidentStore;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #writer: StateWriter;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Opens the store in `db`, prunes, and prunes every hour. */
  constructor(db: DatabaseSync, config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.store = new IncidentStore(db);
    this.#writer = stateWriter(db, log);
    this.prune();
    this.#timer = setInterval(() => this.prune(), PRUNE_MS);
  }

  /**
   * The resolve events of the incidents a previous run left open (read at start): each is its
   * latest stored event turned into a resolve that ended when the agent last knew it open (that
   * event's time), with `resolved_by: "agent_restart"` and a note. Emitted to every listener,
   * they close the incident on the control plane (same id, so the same server uuid), in the
   * store and in the alerts.
   */
  leftOpen(): IncidentEvent[] {
    let rows: { event: IncidentEvent; updatedMs: number }[];
    try {
      rows = this.store.leftOpen();
    } catch (err) {
      this.#log.error("cannot read the incidents left open: {error}", { error: String(err) });
      return [];
    }
    if (rows.length > 0) {
      this.#log.warn("{n} incidents left open by the previous run (stopped): resolving them", {
        n: rows.length,
      });
    }
    return rows.map(({ event, updatedMs }) => restartResolve(event, updatedMs));
  }

  /** Records one incident event (with the path its capture has when PCAP is on). */
  record(event: IncidentEvent): void {
    const c = this.#config;
    const pcapPath = c.pcap_enabled ? join(c.pcap_dir, `${event.id}.pcap`) : null;
    const nowMs = Date.now();
    // Only the latest event of an incident matters: a newer one replaces a waiting one.
    this.#writer.write(
      `incident ${event.event} ${event.id}`,
      () => this.store.record(event, pcapPath, nowMs),
      `incident:${event.id}`,
    );
  }

  /** Deletes incidents older than `incident_retention_days` (when the database answers). */
  prune(): void {
    const days = this.#config.incident_retention_days;
    this.#writer.write("incident pruning", () => {
      const n = this.store.prune(days, Date.now());
      if (n > 0) this.#log.info("deleted {n} incidents older than {days} days", { n, days });
    }, "incidents:prune");
  }

  /** Stops the pruning. */
  close(): void {
    clearInterval(this.#timer);
  }
}

/** `last` (an open or update event) as the resolve of an incident the agent stopped during. */
function restartResolve(last: IncidentEvent, updatedMs: number): IncidentEvent {
  const lastMs = Date.parse(String(last.detected_at));
  const endedMs = Number.isFinite(lastMs) ? lastMs : updatedMs;
  const startedMs = Date.parse(String(last.started_at));
  const duration = Number.isFinite(startedMs)
    ? Math.max(0, Math.round((endedMs - startedMs) / 100) / 10)
    : Number(last.duration) || 0;
  const ended = new Date(endedMs).toISOString().replace("Z", "+00:00");
  return {
    ...last,
    event: "resolve",
    detected_at: ended,
    ended_at: ended,
    duration,
    duration_seconds: duration,
    resolved_by: RESOLVED_BY_RESTART,
    note: "the agent stopped while this incident was open; resolved at its next start " +
      "with the last known numbers",
  };
}
