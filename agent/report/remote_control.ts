/**
 * What the control plane tells the agent: the config response (fetched at start, every 300 s,
 * every 10 s while an incident is open and once at each attack start), validated key by key,
 * and its pending commands, each handed to the command handler once and acknowledged exactly
 * once through the outbox (kind "ack", key `ack:<id>`).
 *
 * Pushed values are bounded (see `core/report/remote_config.ts` for each key's range) and a
 * pushed `l7.log_path` is followed only inside a web server's log folder, symlinks resolved
 * (`pushed_log_path.ts`); a refused value is said once with its key and the previous value
 * stays.
 *
 * A server cannot flood the agent with commands: at most {@linkcode MAX_COMMANDS_PER_ANSWER}
 * commands are in hand at a time (running, or acknowledged but the ack not yet delivered); the
 * rest of a longer list is left on the server (not acknowledged: the server lists it again)
 * and fetched as soon as the batch's acks are delivered, so acks go out in batches of at most
 * that many and never pile up in the outbox. Incident events travel on their own lane
 * (see `reporting.ts`), so no number of acks delays them.
 *
 * @module
 */

import {
  commandAckBody,
  commandId,
  keepRefused,
  parseRemoteConfig,
  type RefusedKey,
  type RemoteConfig,
  WEB_LOG_DIRS,
} from "../../core/report/mod.ts";
import { judgePushedLogPath } from "./pushed_log_path.ts";
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

/**
 * Most commands in hand at a time, from one answer or several (running, or acked with the ack
 * not yet delivered). A longer list is taken in batches of this size.
 */
export const MAX_COMMANDS_PER_ANSWER = 50;

/** Most entries of one `pending_commands` list looked at (the rest waits for the next fetch). */
const MAX_SCANNED = 20 * MAX_COMMANDS_PER_ANSWER;

/** Shortest gap between two fetches made to take the rest of a long command list (ms). */
const MORE_COMMANDS_GAP_MS = 1000;

/** An ack not settled after this long stops counting against the commands in hand (ms). */
const ACK_WAIT_MAX_MS = 5 * 60_000;

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
  /** Commands in hand at a time (default {@linkcode MAX_COMMANDS_PER_ANSWER}). */
  maxCommands?: number;
  /** Shortest gap before fetching the rest of a long command list (ms, default 1000). */
  moreCommandsGapMs?: number;
  /** Folders a pushed `l7.log_path` may point into (default {@linkcode WEB_LOG_DIRS}). */
  logDirs?: readonly string[];
}

/** Polls the config and runs pending commands. */
export class RemoteControl {
  readonly #o: RemoteControlOptions;
  readonly #stop = new AbortController();
  readonly #running = new Set<number>();
  /**
   * Acks queued by this process and not yet delivered (see {@linkcode RemoteControl.settled}),
   * with when: one never settled (dropped from a full outbox) stops counting after 5 minutes.
   */
  readonly #acksWaiting = new Map<string, number>();
  /** Outcomes of the commands of a long list (said once it is worked off, not one by one). */
  readonly #flood = { applied: 0, failed: 0 };
  readonly #maxCommands: number;
  /** The last list held more commands than were taken. */
  #more = false;
  #saidMore = false;
  #saidNoId = "";
  /** The last config passed on (refused keys kept at their earlier values). */
  #accepted: RemoteConfig = {};
  /** Refused keys already said, with what was said. */
  readonly #refusedSaid = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #fetching: Promise<void> | null = null;
  #lastFetchMs = -Infinity;
  #failures = 0;
  /** Config fetches that failed or were ignored. */
  errors = 0;
  /** Commands handed to the handler. */
  commands = 0;
  /** Commands left on the server for a later fetch (over the per-answer bound). */
  deferred = 0;
  readonly #tasks = new Set<Promise<void>>();

  /** Fetches the config now, then on its schedule. */
  constructor(options: RemoteControlOptions) {
    this.#o = options;
    this.#maxCommands = Math.max(1, options.maxCommands ?? MAX_COMMANDS_PER_ANSWER);
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
      this.#fetchMoreWhenIdle();
    });
  }

  /**
   * Hands the commands of a config or create answer to the handler (each id once), at most
   * {@linkcode MAX_COMMANDS_PER_ANSWER} in hand at a time; the rest stays on the server (not
   * acknowledged) and is fetched again once this batch's acks are delivered.
   */
  commandsFrom(list: unknown): void {
    if (!Array.isArray(list)) {
      this.#o.warn("pending_commands ignored: not a list");
      return;
    }
    const stale = Date.now() - ACK_WAIT_MAX_MS;
    for (const [key, at] of this.#acksWaiting) if (at < stale) this.#acksWaiting.delete(key);
    let budget = this.#maxCommands - this.#running.size - this.#acksWaiting.size;
    let noId = 0;
    let firstNoId: unknown = undefined;
    let left = 0;
    const scanned = Math.min(list.length, MAX_SCANNED);
    for (let i = 0; i < scanned; i++) {
      const command = list[i];
      const id = commandId(command);
      if (id === null) {
        if (noId++ === 0) firstNoId = command;
        continue;
      }
      const key = `ack:${id}`;
      if (this.#running.has(id) || this.#acksWaiting.has(key)) continue;
      if (budget <= 0) {
        // Not looked up: whatever is left waits on the server for the next fetch.
        left = list.length - i;
        break;
      }
      if (this.#o.outbox.has(FLOWTRIQ_CHANNEL, key)) continue;
      budget--;
      this.#running.add(id);
      this.commands++;
      const task = this.#runCommand(id, command).finally(() => {
        this.#running.delete(id);
        this.#tasks.delete(task);
        this.#fetchMoreWhenIdle();
        this.#sayWorkedOff();
      });
      this.#tasks.add(task);
    }
    if (left === 0 && list.length > scanned) left = list.length - scanned;
    // Said once while the server repeats the same list (every 10 s during an attack).
    const noIdText = noId === 0 ? "" : `${noId} pending command${noId === 1 ? "" : "s"}` +
      ` without an integer id ignored (cannot be acknowledged), e.g. ${short(firstNoId)}`;
    if (noIdText !== "" && noIdText !== this.#saidNoId) this.#o.warn(noIdText);
    this.#saidNoId = noIdText;
    this.#more = left > 0;
    if (left > 0) {
      this.deferred += left;
      if (!this.#saidMore) {
        this.#saidMore = true;
        this.#o.warn(
          `the server lists more commands than the ${this.#maxCommands} taken at a time:` +
            ` up to ${left} left for the next fetches (said once until the list is worked off)`,
        );
      }
    }
  }

  /**
   * The ack `key` was delivered or refused for good (the reporting layer calls this from its
   * sender): it no longer counts against the commands in hand.
   */
  settled(key: string): void {
    if (this.#acksWaiting.delete(key)) this.#fetchMoreWhenIdle();
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
    const refused = [...parsed.refused];
    const config = parsed.config;
    const logPath = config.l7?.log_path;
    if (typeof logPath === "string" && logPath !== "") {
      const verdict = await judgePushedLogPath(logPath, this.#o.logDirs ?? WEB_LOG_DIRS);
      if (this.#stop.signal.aborted) return;
      if (verdict.ok) config.l7 = { ...config.l7, log_path: verdict.path };
      else {
        refused.push({
          key: "l7.log_path",
          message: `remote config key "l7.log_path" ignored: ${
            JSON.stringify(logPath.slice(0, 200))
          } is ${verdict.error}`,
        });
      }
    }
    const applied = keepRefused(this.#accepted, config, refused.map((x) => x.key));
    this.#accepted = applied;
    this.#sayRefused(refused);
    try {
      this.#o.onConfig(applied);
    } catch (err) {
      this.#o.warn(`config response not applied: ${(err as Error).message}`);
    }
    if (applied.pending_commands !== undefined) this.commandsFrom(applied.pending_commands);
    else this.#more = false;
    this.#sayWorkedOff();
  }

  /**
   * Warns once per refused key and value (a server repeating a bad value every 10 s is said
   * once); a key accepted again or no longer sent is forgotten, so a new refusal is said.
   */
  #sayRefused(refused: RefusedKey[]): void {
    const now = new Map(refused.map((x) => [x.key, x.message]));
    for (const [key, message] of now) {
      if (this.#refusedSaid.get(key) === message) continue;
      this.#refusedSaid.set(key, message);
      this.#o.warn(`${message}; the previous value stays (said once)`);
    }
    for (const key of [...this.#refusedSaid.keys()]) {
      if (!now.has(key)) this.#refusedSaid.delete(key);
    }
  }

  /** A long list was worked off and its last batch has run: says the outcome in one line. */
  #sayWorkedOff(): void {
    if (!this.#saidMore || this.#more || this.#running.size > 0) return;
    this.#saidMore = false;
    this.#o.info(
      `the server's command list is worked off: ${this.#flood.applied} applied, ` +
        `${this.#flood.failed} failed (each acknowledged)`,
    );
    this.#flood.applied = 0;
    this.#flood.failed = 0;
  }

  /** The batch in hand is done and the last list had more: fetch the rest soon. */
  #fetchMoreWhenIdle(): void {
    if (!this.#more || this.#running.size > 0 || this.#acksWaiting.size > 0) return;
    if (this.#stop.signal.aborted || this.#fetching !== null) return;
    const gap = this.#o.moreCommandsGapMs ?? MORE_COMMANDS_GAP_MS;
    const wait = Math.max(0, this.#lastFetchMs + gap - Date.now());
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.fetchNow();
    }, wait);
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
    // One line per command, except while a long list is worked off (counted, said at the end).
    if (this.#saidMore) this.#flood[status]++;
    else this.#o.info(`command ${id} ${status}${error ? `: ${error}` : ""}`);
    const body: FlowtriqEntryBody = {
      op: "post",
      path: "/agent/commands/ack",
      body: commandAckBody(id, status, error),
    };
    const key = `ack:${id}`;
    // Counted before it is queued: a sender may settle it before enqueue() returns.
    this.#acksWaiting.set(key, Date.now());
    try {
      const added = this.#o.outbox.enqueue({
        channel: FLOWTRIQ_CHANNEL,
        kind: "ack",
        key,
        eventUs: Date.now() * 1000,
        body,
      });
      if (!added) this.#acksWaiting.delete(key);
    } catch (err) {
      this.#acksWaiting.delete(key);
      this.#o.warn(`cannot queue the ack of command ${id}: ${(err as Error).message}`);
    }
  }
}

function short(v: unknown): string {
  const t = JSON.stringify(v) ?? String(v);
  return t.length > 80 ? `${t.slice(0, 80)}...` : t;
}
