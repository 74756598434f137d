/**
 * The mitigation runtime: on an incident's open it plans actions and, by mode, applies them,
 * records them as a proposal, or logs what it would do; on resolve, on expiry, on shutdown and
 * at the next start it undoes them. Server commands are parsed into typed actions and applied
 * the same way. Every step is logged with the incident id and recorded in the state database.
 *
 * Several incidents may hold the same action (same key): the firewall state is undone when the
 * last holder lets go. All work is serialised, so events, commands and the expiry sweep never
 * interleave.
 *
 * @module
 */

import {
  ActionBudget,
  actionKey,
  capActions,
  describeAction,
  describeProtection,
  type MitigationAction,
  nftCovers,
  NO_PROTECTED_FLOWS,
  planMitigation,
  type ProtectedFlows,
  protectedRefusal,
  protectionKey,
} from "../../core/mitigate/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import type { MitigationSettings } from "../../core/config/mod.ts";
import type { ActionRecord } from "../state/mod.ts";
import type { CommandOutcome, MitigatorOptions } from "./mitigator_types.ts";
import { runCommand } from "./_command_runner.ts";

/** Applies, records and undoes mitigation actions. */
export class Mitigator {
  readonly #o: MitigatorOptions;
  readonly #now: () => number;
  readonly #budget: ActionBudget;
  readonly #protection: () => Promise<ProtectedFlows> | ProtectedFlows;
  #queue: Promise<unknown> = Promise.resolve();
  #tableMade = false;
  #protected: string | null = null;
  #stopped = false;

  /** Creates the runtime; call {@linkcode start} in the agent (not in `mitigation approve`). */
  constructor(options: MitigatorOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#budget = new ActionBudget(options.settings.max_actions_per_minute);
    this.#protection = options.protection ?? (() => NO_PROTECTED_FLOWS);
  }

  /** The configured settings. */
  get settings(): MitigationSettings {
    return this.#o.settings;
  }

  /**
   * Undoes what a previous run left applied, then resets the backend's table (when anything
   * may act: a mode other than dry_run, or leftovers). Failures are logged, never thrown.
   */
  start(): Promise<void> {
    return this.#serial(async () => {
      const leftovers = this.#o.store.active();
      for (const row of leftovers) await this.#undoRow(row, "left by a previous run");
      const rules = Object.values(this.#o.settings.rules).map((r) => r.mode);
      // (Pushed commands make the table ready when the first one comes: none may ever come.)
      const acts = [this.#o.settings.mode, ...rules].some((m) =>
        m !== undefined && m !== "dry_run"
      );
      if (acts || leftovers.length > 0) {
        try {
          await this.#o.enforcer.backend.reset();
          this.#tableMade = true;
          await this.#protect();
          this.#o.log.info("mitigation: {backend} ready ({mode} mode), {n} leftovers undone", {
            backend: this.#o.enforcer.backend.name,
            mode: this.#o.settings.mode,
            n: leftovers.length,
          });
        } catch (err) {
          this.#o.log.error("mitigation: {backend} unavailable: {error}", {
            backend: this.#o.enforcer.backend.name,
            error: (err as Error).message,
          });
        }
      } else {
        // A killed earlier run may have left the (by now inert) table: nothing may stay.
        await this.#o.enforcer.backend.remove().catch(() => null);
        this.#o.log.info("mitigation: dry_run mode, actions are only logged");
      }
    });
  }

  /**
   * Handles an incident event: plan on open; on update renew the timeouts and act on what the
   * new plan adds (sources that joined later); undo on resolve.
   */
  handle(event: IncidentEvent): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      if (event.event === "open") await this.#act(event);
      else if (event.event === "update") {
        await this.#renew(event.id);
        await this.#act(event);
      } else if (event.event === "resolve") await this.#resolve(event.id);
    });
  }

  /** Adds a network that may never be blocked (the server's GRE whitelist); false if invalid. */
  allow(cidr: string, why: string): boolean {
    return this.#o.allowlist.add(cidr, why);
  }

  /** Runs one server command (all its steps or none), never throws; see _command_runner.ts. */
  command(command: unknown): Promise<CommandOutcome> {
    return this.#serial(async (): Promise<CommandOutcome> => {
      if (this.#stopped) return { status: "failed", error: "the agent is stopping" };
      return await runCommand(command, {
        o: this.#o,
        now: this.#now,
        applies: this.#appliesCommands(),
        protection: this.#protection,
        ensureTable: async () => {
          if (this.#tableMade) return;
          await this.#o.enforcer.backend.ensure(); // the first pushed command (mode dry_run)
          this.#tableMade = true;
        },
        admitAll: (incident, actions) => this.#admitAll(incident, actions),
        record: (incident, a, state, why) => void this.#record(incident, a, state, why),
        applyRow: (id) => this.#applyRow(id),
        undoRow: (row, why) => this.#undoRow(row, why),
      });
    });
  }

  /** Records `actions` as proposed when the caps let all through (ids), else none and why. */
  #admitAll(incident: string, actions: MitigationAction[]): number[] | string {
    const capped = capActions(
      actions,
      this.#o.store.blockedSources(),
      this.#o.settings.max_blocked_entries,
      this.#budget,
      this.#now(),
    );
    if (capped.refused.length > 0) {
      const why = `refused by the safety caps: ${capped.refused[0].reason}`;
      for (const a of actions) this.#record(incident, a, "refused", why);
      return why;
    }
    return actions.map((a) => this.#record(incident, a, "proposed", null, "command"));
  }

  /** Whether pushed commands are applied (a control plane, `server_commands` "apply"). */
  #appliesCommands(): boolean {
    return this.#o.reporting === true && this.#o.settings.server_commands === "apply";
  }

  /** Applies the recorded proposal of a manual-mode incident; returns applied and failed counts. */
  approve(incident: string): Promise<{ applied: number; failed: number }> {
    return this.#serial(async () => {
      const rows = this.#o.store.ofIncident(incident, "proposed");
      let applied = 0;
      if (rows.length > 0 && rows.some((r) => this.#o.enforcer.backend.handles(r.action))) {
        await this.#o.enforcer.backend.ensure();
        this.#tableMade = true;
      }
      const capped = capActions(
        rows.map((r) => r.action),
        this.#o.store.blockedSources(),
        this.#o.settings.max_blocked_entries,
        this.#budget,
        this.#now(),
      );
      for (const row of rows) {
        const refusal = capped.refused.find((r) => r.action === row.action);
        if (refusal) {
          this.#o.store.failed(row.id, refusal.reason);
          continue;
        }
        if (await this.#applyRow(row.id) === null) applied++;
      }
      return { applied, failed: rows.length - applied };
    });
  }

  /** Undoes actions whose time-to-live has passed. */
  sweep(): Promise<void> {
    return this.#serial(async () => {
      const rows = this.#o.store.active(this.#now()).toReversed(); // newest first, as at stop
      for (const row of rows) await this.#undoRow(row, "expired");
    });
  }

  /**
   * Undoes everything in force (shutdown), removes the backend's table and puts back the
   * sysctl the agent changed; later events and commands are ignored.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#serial(async () => {
      // Newest first: a rule goes before the set it uses.
      const rows = this.#o.store.active().toReversed();
      for (const row of rows) await this.#undoRow(row, "agent stopped");
      const backend = this.#o.enforcer.backend.name;
      if (rows.length > 0 || this.#tableMade) {
        try {
          const kept = await this.#o.enforcer.backend.remove();
          if (kept !== null) this.#o.log.warn("mitigation: {backend}: {kept}", { backend, kept });
        } catch (err) {
          this.#o.log.warn("mitigation: cannot remove the {backend} table: {error}", {
            backend,
            error: (err as Error).message,
          });
        }
      }
      const note = await this.#o.enforcer.restore().catch((e) => `cannot restore: ${e.message}`);
      if (note !== null) this.#o.log.warn("mitigation: {note}", { note });
    });
  }

  /** Puts the protected flows' exemptions in the firewall when they changed since last time. */
  async #protect(): Promise<void> {
    const flows = await this.#protection();
    const key = protectionKey(flows);
    if (key === this.#protected) return;
    await this.#o.enforcer.backend.protect(flows);
    this.#protected = key;
    this.#o.log.info("mitigation: never blocked: {flows}", { flows: describeProtection(flows) });
  }

  async #act(event: IncidentEvent): Promise<void> {
    const plan = planMitigation(event, this.#o.settings, this.#o.allowlist);
    const log = this.#o.log;
    const incident = event.id;
    const known = this.#o.store.keysOf(incident);
    if (event.event === "open") {
      for (const note of plan.notes) log.info("mitigation {incident}: {note}", { incident, note });
    }
    // Only what this incident has not seen yet (in any state): no repeats, no retry storms.
    plan.actions = plan.actions.filter((a) => !known.has(actionKey(a)));
    const flows = await this.#protection();
    const refused = plan.actions.map((a) => ({ a, why: protectedRefusal(a, flows) }));
    for (const { a, why } of refused.filter((r) => r.why !== null)) {
      this.#record(incident, a, "refused", why);
      log.warn("mitigation {incident}: refused {action}: {why}", {
        incident,
        action: describeAction(a),
        why,
      });
    }
    plan.actions = refused.filter((r) => r.why === null).map((r) => r.a);
    if (plan.actions.length === 0) return;
    if (plan.mode === "dry_run") {
      for (const action of plan.actions) {
        this.#record(incident, action, "dry_run", `dry run (${plan.rule})`);
        log.info("mitigation {incident}: dry run, would {action}", {
          incident,
          action: describeAction(action),
        });
      }
      return;
    }
    if (plan.mode === "manual") {
      for (const action of plan.actions) {
        this.#record(incident, action, "proposed", `proposed (${plan.rule})`);
        log.warn("mitigation {incident}: proposed {action}", {
          incident,
          action: describeAction(action),
        });
      }
      log.warn("mitigation {incident}: approve with: ftagent mitigation approve {incident}", {
        incident,
      });
      return;
    }
    for (const id of this.#admit(incident, plan.actions, "auto")) await this.#applyRow(id);
  }

  /** Records the actions that pass the caps as proposed (refusals as refused); returns ids. */
  #admit(incident: string, actions: MitigationAction[], mode: string): number[] {
    const capped = capActions(
      actions,
      this.#o.store.blockedSources(),
      this.#o.settings.max_blocked_entries,
      this.#budget,
      this.#now(),
    );
    for (const { action, reason } of capped.refused) {
      this.#record(incident, action, "refused", reason);
      this.#o.log.warn("mitigation {incident}: refused {action}: {reason}", {
        incident,
        action: describeAction(action),
        reason,
      });
    }
    return capped.allowed.map((a) => this.#record(incident, a, "proposed", null, mode));
  }

  #record(
    incident: string,
    action: MitigationAction,
    state: "proposed" | "dry_run" | "refused",
    result: string | null,
    mode?: string,
  ): number {
    return this.#o.store.add({
      incident,
      key: actionKey(action),
      action,
      state,
      mode: mode ?? (state === "proposed" ? "manual" : state === "dry_run" ? "dry_run" : "auto"),
      backend: this.#o.enforcer.backend.name,
      at: this.#now(),
      result,
    });
  }

  /** Applies a recorded action; returns null or the error. */
  async #applyRow(id: number): Promise<string | null> {
    const row = this.#o.store.get(id);
    if (row === null) return "no such action";
    const holders = this.#o.store.activeWithKey(row.key);
    const now = this.#now();
    try {
      let detail: string | null;
      // SYN cookies and Cloudflare rules exist once: a second holder shares the first's.
      if (holders.length > 0 && !this.#o.enforcer.backend.handles(row.action)) {
        detail = holders[0].detail;
      } else {
        // No drop goes in before the exemptions of the protected flows are in place.
        if (this.#o.enforcer.backend.handles(row.action)) await this.#protect();
        detail = await this.#o.enforcer.apply(row.action, row.incident);
      }
      this.#o.store.applied(id, now, now + row.action.ttl_s * 1000, detail);
      this.#o.log.warn("mitigation {incident}: applied {action} ({backend})", {
        incident: row.incident,
        action: describeAction(row.action),
        backend: this.#o.enforcer.backend.name,
      });
      return null;
    } catch (err) {
      const error = (err as Error).message;
      this.#o.store.failed(id, error);
      this.#o.log.error("mitigation {incident}: {action} failed: {error}", {
        incident: row.incident,
        action: describeAction(row.action),
        error,
      });
      return error;
    }
  }

  /** Renews an incident's actions past half their time-to-live (the attack goes on). */
  async #renew(incident: string): Promise<void> {
    const now = this.#now();
    for (const row of this.#o.store.ofIncident(incident, "applied")) {
      const ttl = row.action.ttl_s * 1000;
      if (row.expires_at === null || row.expires_at - now > ttl / 2) continue;
      try {
        // Kernel state gets a new timeout; SYN cookies and Cloudflare rules only a later expiry.
        if (this.#o.enforcer.backend.handles(row.action)) {
          await this.#protect();
          await this.#o.enforcer.backend.apply([row.action]);
        }
        this.#o.store.applied(row.id, row.applied_at ?? now, now + ttl, row.detail, "renewed");
      } catch (err) {
        this.#o.log.error("mitigation {incident}: renewing {action} failed: {error}", {
          incident,
          action: describeAction(row.action),
          error: (err as Error).message,
        });
      }
    }
  }

  async #resolve(incident: string): Promise<void> {
    for (const row of this.#o.store.ofIncident(incident, "applied")) {
      await this.#undoRow(row, "incident resolved");
    }
    for (const row of this.#o.store.ofIncident(incident, "proposed")) {
      this.#o.store.undone(row.id, this.#now(), "incident resolved before approval");
    }
  }

  async #undoRow(row: ActionRecord, why: string): Promise<void> {
    const others = this.#o.store.activeWithKey(row.key).filter((r) => r.id !== row.id);
    const log = this.#o.log;
    const fields = { incident: row.incident, action: describeAction(row.action), why };
    if (others.length > 0) {
      this.#o.store.undone(row.id, this.#now(), `${why}; still held by #${others[0].id}`);
      log.info("mitigation {incident}: released {action} ({why}), still held", fields);
      return;
    }
    try {
      await this.#o.enforcer.undo(row.action, row.detail);
      this.#o.store.undone(row.id, this.#now(), why);
      log.warn("mitigation {incident}: undone {action} ({why})", fields);
      await this.#restoreCovered(row.action);
    } catch (err) {
      const error = (err as Error).message;
      // A Cloudflare rule has no kernel timeout: keep it applied so the sweep retries.
      if (row.action.type !== "cloudflare_rule") {
        this.#o.store.undone(row.id, this.#now(), `${why}; undo failed: ${error}`);
      }
      log.error("mitigation {incident}: undoing {action} failed: {error}", { ...fields, error });
    }
  }

  /** Puts back the narrower nft elements `wide` replaced while it was in force. */
  async #restoreCovered(wide: MitigationAction): Promise<void> {
    if (this.#o.enforcer.backend.name !== "nftables" || this.#stopped) return;
    const now = this.#now();
    for (const r of this.#o.store.active()) {
      if (r.expires_at === null || !nftCovers(wide, r.action)) continue;
      const ttl_s = Math.ceil((r.expires_at - now) / 1000);
      if (ttl_s < 1) continue;
      await this.#o.enforcer.backend.apply([{ ...r.action, ttl_s }]).catch((err) =>
        this.#o.log.error("mitigation {incident}: putting back {action} failed: {error}", {
          incident: r.incident,
          action: describeAction(r.action),
          error: (err as Error).message,
        })
      );
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }
}
