// The agent's local incident store: a listener that records every incident event in the state
// database, the retention pruning, and the incidents an earlier run left open marked
// interrupted.
import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { IncidentStore } from "../agent/state/mod.ts";
import type { Listeners } from "../agent/listeners.ts";

const PRUNE_MS = 3600_000;

/** The running store; `stop()` ends its pruning timer. */
export interface LocalIncidents {
  readonly store: IncidentStore;
  stop(): void;
}

/** Opens the store in `db`, prunes it and records every incident event from `listeners`. */
export function startLocalIncidents(
  opts: { config: Config; db: DatabaseSync; listeners: Listeners; log: Logger },
): LocalIncidents {
  const { config, log } = opts;
  const store = new IncidentStore(opts.db);
  const interrupted = store.closeInterrupted();
  if (interrupted > 0) {
    log.info("{n} incidents left open by the previous run marked interrupted", { n: interrupted });
  }
  const prune = () => {
    try {
      const n = store.prune(config.incident_retention_days, Date.now());
      if (n > 0) {
        log.info("deleted {n} incidents older than {days} days", {
          n,
          days: config.incident_retention_days,
        });
      }
    } catch (err) {
      log.error("cannot prune the incident store: {error}", { error: String(err) });
    }
  };
  prune();
  const timer = setInterval(prune, PRUNE_MS);
  const pcapPath = (id: string) => config.pcap_enabled ? join(config.pcap_dir, `${id}.pcap`) : null;
  opts.listeners.add({
    name: "incidents",
    handle: (event) => store.record(event, pcapPath(event.id), Date.now()),
  });
  return { store, stop: () => clearInterval(timer) };
}
