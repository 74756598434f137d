/**
 * Auto-mitigation as the agent runs it: the {@linkcode Mitigator} built from the config, a
 * previous run's leftovers undone at start, incident events and server commands acted on,
 * expired actions swept every 5 s, everything undone at stop.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import { MitigationStore } from "../state/mod.ts";
import { CloudflareClient, Enforcer } from "./enforcer.ts";
import { firewallBackend } from "./firewall.ts";
import { hostAllowlist } from "./host_allowlist.ts";
import { HostProtection } from "./host_protection.ts";
import { Mitigator } from "./mitigator.ts";
import type { CommandOutcome } from "./mitigator_types.ts";

/** Wall-clock period (ms) of the expiry sweep. */
const SWEEP_MS = 5000;

/** Builds the mitigator for `config` on `db` (the agent's, and `ftagent mitigation approve`'s). */
export function mitigatorFor(config: Config, db: DatabaseSync, log: Logger): Mitigator {
  const m = config.mitigation;
  // The API host is only reached (and so only allowlisted and exempted) with an account.
  const api = config.api_key === "" ? null : config.api_base;
  const protection = new HostProtection(api, config.metrics_port, (note) => log.info(note));
  const cloudflare = m.cloudflare.api_token !== "" && m.cloudflare.zone_id !== ""
    ? new CloudflareClient(m.cloudflare.api_base, m.cloudflare.api_token, m.cloudflare.zone_id)
    : null;
  return new Mitigator({
    settings: m,
    enforcer: new Enforcer(firewallBackend(m.backend), cloudflare),
    store: new MitigationStore(db),
    allowlist: hostAllowlist(m.allowlist, api, (note) => log.info(note)),
    protection: () => protection.flows(),
    log,
    reporting: api !== null,
  });
}

/** The running mitigation component. */
export class Mitigation {
  readonly #mitigator: Mitigator;
  readonly #sweeper: ReturnType<typeof setInterval>;

  private constructor(mitigator: Mitigator) {
    this.#mitigator = mitigator;
    this.#sweeper = setInterval(() => mitigator.sweep(), SWEEP_MS);
  }

  /** Undoes a previous run's leftovers, then starts acting and sweeping. */
  static async start(config: Config, db: DatabaseSync, log: Logger): Promise<Mitigation> {
    const mitigator = mitigatorFor(config, db, log);
    await mitigator.start();
    return new Mitigation(mitigator);
  }

  /** An incident event: open plans and applies, update renews, resolve undoes. */
  handle(event: IncidentEvent): Promise<void> {
    return this.#mitigator.handle(event);
  }

  /** Adds a network that may never be blocked (the server's GRE whitelist); false if invalid. */
  allow(cidr: string, why: string): boolean {
    return this.#mitigator.allow(cidr, why);
  }

  /** A server command (the reporter's `onCommand`); never throws. */
  command(command: unknown): Promise<CommandOutcome> {
    return this.#mitigator.command(command);
  }

  /** Stops sweeping and undoes everything in force. */
  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.#mitigator.stop();
  }
}
