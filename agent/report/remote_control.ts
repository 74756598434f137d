/**
 * What the control plane tells the agent: the config response (fetched at start, every 300 s,
 * every 10 s while an incident is open and once at each attack start), validated key by key,
 * and its pending commands, each handed to the command handler once and acknowledged exactly
 * once through the outbox (kind "ack", key `ack:<id>`).
 *
 * @module
 */

import {
  commandAckBody,
  commandId,
  parseRemoteConfig,
  type RemoteConfig,
} from "../../core/report/mod.ts";
import type { FlowtriqApi } from "./flowtriq_api.ts";
import { FLOWTRIQ_CHANNEL, type FlowtriqEntryBody } from "./flowtriq_delivery.ts";
import type { Outbox } from "../state/mod.ts";

/** Runs one server command; the outcome is acknowledged to the server. */
export type CommandHandler = (
  command: unknown,
) => Promise<{ status: "applied" | "failed"; error: string | null }>;

/** The handler until mitigation exists: every command fails with "not supported". */
export function unsupportedCommand(
  _command: unknown,
): Promise<{ status: "applied" | "failed"; error: string | null }> {
  return Promise.resolve({ status: "failed", error: "not supported" });
}

/** Fetch cadence (seconds). */
const CONFIG_EVERY_S = 300;
const CONFIG_EVERY_ATTACK_S = 10;

/** Options of {@linkcode RemoteControl}. */
export interface RemoteControlOptions {
  /** The control plane's client. */
  api: FlowtriqApi;
  /** Where command acknowledgements are queued. */
  outbox: Outbox;
  /** Runs one server command. */
  onCommand: CommandHandler;
  /** A validated config response (only the well-typed keys). */
  onConfig: (config: RemoteConfig) => void;
  /** One-line warnings (bad keys, bad answers, failed fetches) and notes. */
  warn: (message: string) => void;
  /** Says what changed. */
  info: (message: string) => void;
  /** True while an incident is open (fetch every 10 s). */
  attackOpen: () => boolean;
}

/** Polls the config and runs pending commands. */
export class RemoteControl {
  readonly #o: RemoteControlOptions;
  readonly #stop = new AbortController();
  readonly #running = new Set<number>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #fetching: Promise<void> | null = null;
  #lastFetchMs = -Infinity;
  #failures = 0;
  /** Config fetches that failed or were ignored. */
  errors = 0;
  /** Commands handed to the handler. */
  commands = 0;
  readonly #tasks = new Set<Promise<void>>();

  /** Fetches the config now, then on its schedule. */
  constructor(options: RemoteControlOptions) {
    this.#o = options;
    this.fetchNow();
  }

  /** Fetches now (an attack started), unless a fetch is already running. */
  fetchNow(): void {
    if (this.#stop.signal.aborted || this.#fetching !== null) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#fetching = this.#fetch().finally(() => {
      this.#fetching = null;
      this.#schedule();
    });
  }

  /** Hands the commands of a config or create answer to the handler (each id once). */
  commandsFrom(list: unknown): void {
    if (!Array.isArray(list)) {
      this.#o.warn("pending_commands ignored: not a list");
      return;
    }
    for (const command of list) {
      const id = commandId(command);
      if (id === null) {
        this.#o.warn(`a pending command without an integer id ignored: ${short(command)}`);
        continue;
      }
      const key = `ack:${id}`;
      if (this.#running.has(id) || this.#o.outbox.has(FLOWTRIQ_CHANNEL, key)) continue;
      this.#running.add(id);
      this.commands++;
      const task = this.#runCommand(id, command).finally(() => {
        this.#running.delete(id);
        this.#tasks.delete(task);
      });
      this.#tasks.add(task);
    }
  }

  /** Stops polling; waits for the fetch and commands in flight (they are aborted). */
  async stop(): Promise<void> {
    this.#stop.abort();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#fetching;
    await Promise.all([...this.#tasks]);
  }

  #schedule(): void {
    if (this.#stop.signal.aborted) return;
    const every = this.#o.attackOpen() ? CONFIG_EVERY_ATTACK_S : CONFIG_EVERY_S;
    // Failed fetches back off a little (10, 20, 40 ... s, never beyond the normal period).
    const retry = this.#failures > 0
      ? Math.min(every, CONFIG_EVERY_ATTACK_S * 2 ** (this.#failures - 1))
      : every;
    const dueMs = Math.max(0, this.#lastFetchMs + retry * 1000 - Date.now());
    // Re-check every 10 s so an attack that starts shortens the wait.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (Date.now() >= this.#lastFetchMs + retry * 1000 - 5) this.fetchNow();
      else this.#schedule();
    }, Math.min(dueMs, CONFIG_EVERY_ATTACK_S * 1000));
  }

  async #fetch(): Promise<void> {
    this.#lastFetchMs = Date.now();
    const r = await this.#o.api.getConfig(this.#stop.signal);
    if (this.#stop.signal.aborted) return;
    if (!r.ok) {
      this.errors++;
      if (this.#failures++ === 0) this.#o.warn(`config fetch failed: ${r.error}`);
      return;
    }
    if (this.#failures > 0) this.#o.info("config fetch works again");
    this.#failures = 0;
    if (r.note !== undefined) {
      this.errors++;
      this.#o.warn(`config response ignored: ${r.note}`);
      return;
    }
    const parsed = parseRemoteConfig(r.body);
    if (!parsed.ok) {
      this.errors++;
      this.#o.warn(`config response ignored: ${parsed.error}`);
      return;
    }
    for (const w of parsed.warnings) this.#o.warn(w);
    try {
      this.#o.onConfig(parsed.config);
    } catch (err) {
      this.#o.warn(`config response not applied: ${(err as Error).message}`);
    }
    if (parsed.config.pending_commands !== undefined) {
      this.commandsFrom(parsed.config.pending_commands);
    }
  }

  async #runCommand(id: number, command: unknown): Promise<void> {
    let status: "applied" | "failed" = "failed";
    let error: string | null;
    try {
      const r = await this.#o.onCommand(command);
      status = r.status === "applied" ? "applied" : "failed";
      error = r.error ?? null;
    } catch (err) {
      error = (err as Error).message ?? String(err);
    }
    this.#o.info(`command ${id} ${status}${error ? `: ${error}` : ""}`);
    const body: FlowtriqEntryBody = {
      op: "post",
      path: "/agent/commands/ack",
      body: commandAckBody(id, status, error),
    };
    this.#o.outbox.enqueue({
      channel: FLOWTRIQ_CHANNEL,
      kind: "ack",
      key: `ack:${id}`,
      eventUs: Date.now() * 1000,
      body,
    });
  }
}

function short(v: unknown): string {
  const t = JSON.stringify(v) ?? String(v);
  return t.length > 80 ? `${t.slice(0, 80)}...` : t;
}
