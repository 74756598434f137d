// Wiring of auto-mitigation into the agent: the runtime, its incident listener, the server
// command handler, the expiry sweep, and undo at shutdown.
import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import {
  CloudflareClient,
  type CommandOutcome,
  Enforcer,
  firewallBackend,
  hostAllowlist,
  Mitigator,
} from "../agent/mitigate/mod.ts";
import type { Listener } from "../agent/listeners.ts";
import { MitigationStore } from "../agent/state/mod.ts";

const SWEEP_MS = 5000;

/** The running mitigation component. */
export interface Mitigation {
  /** Incident events in (open: plan/apply, update: renew, resolve: undo). */
  readonly listener: Listener;
  /** Server commands in (the reporter's `onCommand`). */
  onCommand(command: unknown): Promise<CommandOutcome>;
  /** Undoes everything in force. */
  stop(): Promise<void>;
}

/** Builds the runtime for `config` on `db` (used by the agent and by `mitigation approve`). */
export function mitigator(config: Config, db: DatabaseSync, log: Logger): Mitigator {
  const m = config.mitigation;
  const cloudflare = m.cloudflare.api_token !== "" && m.cloudflare.zone_id !== ""
    ? new CloudflareClient(m.cloudflare.api_base, m.cloudflare.api_token, m.cloudflare.zone_id)
    : null;
  return new Mitigator({
    settings: m,
    enforcer: new Enforcer(firewallBackend(m.backend), cloudflare),
    store: new MitigationStore(db),
    // The API host is only reached (and so only allowlisted) with an account.
    allowlist: hostAllowlist(
      m.allowlist,
      config.api_key === "" ? null : config.api_base,
      (note) => log.info(note),
    ),
    log,
  });
}

/** Starts mitigation: undoes a previous run's leftovers, then listens. */
export async function startMitigation(
  opts: { config: Config; db: DatabaseSync; log: Logger },
): Promise<Mitigation> {
  const runtime = mitigator(opts.config, opts.db, opts.log);
  await runtime.start();
  const sweeper = setInterval(() => runtime.sweep(), SWEEP_MS);
  return {
    listener: { name: "mitigation", handle: (event) => runtime.handle(event) },
    onCommand: (command) => runtime.command(command),
    async stop() {
      clearInterval(sweeper);
      await runtime.stop();
    },
  };
}
