/**
 * What the server's config switches on the agent's side, apart from the detection settings:
 * `suspended` (no incidents, metrics or mitigation while set; detection and heartbeats go on),
 * the `ip_blocklist` in force (the config's list and the server's, rebuilt in slices when it
 * changes so a 50,000-entry list never holds the event loop) and the `gre_mode` in force.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { IpBlocklist } from "../../core/classify/mod.ts";
import type { Config } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import type { RemoteConfig } from "../../core/report/mod.ts";
import type { CommandHandler } from "./remote_control.ts";

/** Indicators parsed between two yields to the event loop (a few ms of work once warm). */
const SLICE = 500;

/** The server's suspension and the blocklist in force. */
export class ServerSwitches {
  readonly #log: Logger;
  #suspendedSince: string | null = null;
  /** Incidents opened while suspended: never reported, not even after the suspension. */
  readonly #unreported = new Set<string>();
  #blocklist = new IpBlocklist();
  #source: readonly string[] = [];
  #generation = 0;
  #greMode: Config["gre_mode"] | null = null;
  /** Hears each change of the merged config's `gre_mode` (and the first value). */
  onGreMode: ((mode: Config["gre_mode"]) => void) | null = null;

  /** Says each change through `log` (a suspension as a warning, the rest as notes). */
  constructor(log: Logger) {
    this.#log = log;
  }

  /** True while the server suspends this node. */
  get suspended(): boolean {
    return this.#suspendedSince !== null;
  }

  /** When the suspension began (ISO-8601 UTC), or null. */
  get suspendedSince(): string | null {
    return this.#suspendedSince;
  }

  /** Incidents opened while suspended and still open (never reported). */
  get openUnreported(): number {
    return this.#unreported.size;
  }

  /** The blocklist in force (the last one fully built). */
  get blocklist(): IpBlocklist {
    return this.#blocklist;
  }

  /** A config response: a change of `suspended` is said once (absent: not suspended). */
  config(config: RemoteConfig, nowMs: number): void {
    const now = config.suspended === true;
    if (now === this.suspended) return;
    if (now) {
      this.#suspendedSince = new Date(nowMs).toISOString();
      this.#log.warn(
        "the server suspended this node: incidents, metrics and mitigation paused, detection " +
          "goes on locally and heartbeats continue",
      );
    } else {
      this.#suspendedSince = null;
      this.#log.info("the server lifted the suspension: reporting and mitigation resume");
    }
  }

  /**
   * Whether `event` goes to the control plane: not an open or update while suspended, nothing
   * of an incident opened while suspended; the resolve of an incident reported before the
   * suspension still goes (the server's incident must close).
   */
  reports(event: IncidentEvent): boolean {
    const id = String(event.id);
    if (this.#unreported.has(id)) {
      if (event.event === "resolve") this.#unreported.delete(id);
      return false;
    }
    if (!this.suspended || event.event === "resolve") return true;
    if (event.event === "open") this.#unreported.add(id);
    return false;
  }

  /** `handler`, refusing every command (acked failed) while suspended. */
  guard(handler: CommandHandler): CommandHandler {
    return (command) =>
      this.suspended
        ? Promise.resolve({ status: "failed", error: "this node is suspended by the server" })
        : handler(command);
  }

  /** The `gre_mode` in force (the merged config's). */
  get greMode(): Config["gre_mode"] | null {
    return this.#greMode;
  }

  /** A merged config (local, or with the server's overrides): its `gre_mode` and blocklist. */
  configure(merged: Config): Promise<void> {
    if (merged.gre_mode !== this.#greMode) {
      this.#greMode = merged.gre_mode;
      this.onGreMode?.(merged.gre_mode);
    }
    return this.blocklistFrom(merged.ip_blocklist);
  }

  /** Whether mitigation acts on `event`: not while suspended, except to undo on resolve. */
  mitigates(event: IncidentEvent): boolean {
    return !this.suspended || event.event === "resolve";
  }

  /**
   * The merged config's `ip_blocklist`: when it differs from the one in force, a new set is
   * built (in slices of {@linkcode SLICE} with a yield between them) and replaces it whole.
   */
  async blocklistFrom(list: readonly string[]): Promise<void> {
    if (sameList(list, this.#source)) return;
    this.#source = list;
    const generation = ++this.#generation;
    const next = new IpBlocklist();
    for (let i = 0; i < list.length; i += SLICE) {
      if (i > 0) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (generation !== this.#generation) return; // a newer list took over
      }
      next.add(list.slice(i, i + SLICE));
    }
    this.#blocklist = next;
    this.#log.info("{message}", {
      message: `ip_blocklist: ${next.size} addresses and networks in force` +
        (next.invalid > 0
          ? ` (${next.invalid} left out: not an address or CIDR, or beyond 50,000, first ${
            JSON.stringify(next.firstInvalid)
          })`
          : ""),
    });
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((v, i) => v === b[i]));
}
