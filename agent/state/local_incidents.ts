/**
 * The agent's local incident store at work: every incident event recorded in the state
 * database, incidents a previous run left open marked interrupted at start, and rows older than
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

/** Wall-clock period (ms) of the retention pruning. */
const PRUNE_MS = 3600_000;

/** Records incident events in the store and keeps it pruned. */
export class LocalIncidents {
  /** The store (`ftagent incidents` reads the same tables). */
  readonly store: IncidentStore;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Opens the store in `db`, marks interrupted incidents, prunes, and prunes every hour. */
  constructor(db: DatabaseSync, config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.store = new IncidentStore(db);
    const interrupted = this.store.closeInterrupted();
    if (interrupted > 0) {
      log.info("{n} incidents left open by the previous run marked interrupted", {
        n: interrupted,
      });
    }
    this.prune();
    this.#timer = setInterval(() => this.prune(), PRUNE_MS);
  }

  /** Records one incident event (with the path its capture has when PCAP is on). */
  record(event: IncidentEvent): void {
    const c = this.#config;
    const pcapPath = c.pcap_enabled ? join(c.pcap_dir, `${event.id}.pcap`) : null;
    this.store.record(event, pcapPath, Date.now());
  }

  /** Deletes incidents older than `incident_retention_days`; a failure is logged. */
  prune(): void {
    const days = this.#config.incident_retention_days;
    try {
      const n = this.store.prune(days, Date.now());
      if (n > 0) this.#log.info("deleted {n} incidents older than {days} days", { n, days });
    } catch (err) {
      this.#log.error("cannot prune the incident store: {error}", { error: String(err) });
    }
  }

  /** Stops the pruning. */
  close(): void {
    clearInterval(this.#timer);
  }
}
