/**
 * HTTP flood detection from access log records: one-second windows keyed by the log's own
 * timestamps, a learned baseline of requests per second, signals per second, and an incident
 * machine (idle -> suspected -> active -> resolved, then cooldown) as for L3/L4.
 *
 * Per second, the signals (see `_signals.ts`; share limits scale with `l7_sensitivity`):
 * - `rate`: requests/s over `max(baseline p99 x multiplier, l7_rps_threshold)` (multiplier 5,
 *   3 or 2 for low, medium, high sensitivity; only the floor before the baseline is ready);
 * - `source_concentration` (one client >= 50%), `path_concentration` (one path >= 60%),
 *   `error_rate` (4xx + 5xx + 499 >= `l7_error_rate_threshold`%), `tool_agents` (known tools,
 *   bots or an empty agent >= 50%) or `uniform_agent` (one agent >= 90%), `attack_patterns`
 *   (SQLi, traversal, XSS, command injection, scanner paths >= 10%), `random_queries` (query
 *   strings on >= 50%, >= 80% of them distinct), `slow_responses` (>= 5 s, >= 20%),
 *   `timeouts` (408 answers >= 10%).
 *   Shares need 20 requests in the second.
 *
 * A second is suspicious with at least two signals, at least `l7_min_client_ips` clients and
 * at least half the rate threshold (slow attacks excepted). `l7_confirm_seconds` suspicious
 * seconds in a row open an incident; it stays open while seconds are suspicious or over the
 * threshold frozen at open, and resolves after `l7_calm_seconds` calm seconds; then
 * `l7_cooldown_seconds` pass before the next one. Seconds with an incident suspected or open
 * never feed the baseline.
 *
 * Pure and deterministic: time is the log's; the same log gives the same incidents.
 *
 * @module
 */

import type { LogRecord } from "./access_log.ts";
import { Baseline, type IncidentEvent, type IncidentEventKind } from "../detect/mod.ts";
import type { L7Config } from "../config/mod.ts";
import { L7Window, type L7WindowStats } from "./window.ts";
import { AgentClassifier } from "./_patterns.ts";
import { evaluateSecond, type L7Verdict, sensitivityMultiplier } from "./_signals.ts";
import { l7Event, L7Incident } from "./_incident.ts";
import { deterministicUuid } from "../sketch/mod.ts";

export type { L7Signal, L7Verdict } from "./_signals.ts";

/** Settings the L7 detector reads: the l7 keys plus the shared baseline span and update period. */
export type L7DetectorConfig = L7Config & {
  baseline_window_minutes: number;
  incident_update_seconds: number;
};

/** Where the L7 machine stands. */
export type L7State = "idle" | "suspected" | "active" | "cooldown";

/** Options of an {@linkcode L7Detector}. */
export interface L7DetectorOptions {
  /** Receives every incident event; a throw there is counted, never breaks detection. */
  onEvent: (event: IncidentEvent) => void;
  /** Receives every closed one-second window with its verdict (replay output, metrics). */
  onWindow?: (stats: L7WindowStats, verdict: L7Verdict, threshold: number) => void;
  /** Mixed into incident ids so two agents (or runs) never share one. */
  idSeed?: string;
  /** A baseline to continue; a new one otherwise. */
  baseline?: Baseline;
}

/** Longest gap (s) of the log's time filled with empty seconds; longer gaps start afresh. */
const MAX_GAP_SECONDS = 300;

/** Detects HTTP floods in a stream of access log records and emits incident events. */
export class L7Detector {
  /** The learned baseline (metric 0: requests/s; 1: distinct clients; 2: errors/s). */
  readonly baseline: Baseline;
  /** Events a listener threw on. */
  listenerErrors = 0;
  /** Requests counted, windows closed. */
  requests = 0;
  /** Windows closed. */
  windows = 0;
  #cfg: L7DetectorConfig;
  readonly #onEvent: (event: IncidentEvent) => void;
  readonly #onWindow: L7DetectorOptions["onWindow"];
  readonly #idSeed: string;
  readonly #agents = new AgentClassifier();
  readonly #window: L7Window;
  /** Second of the window being filled (NaN before the first record). */
  #sec = NaN;
  #state: L7State = "idle";
  #suspectSince = 0;
  #cooldownUntil = 0;
  /** Every request since the first suspicious second (suspected or open), else null. */
  #evidence: L7Window | null = null;
  #suspectWindows: { stats: L7WindowStats; verdict: L7Verdict }[] = [];
  #incident: L7Incident | null = null;
  #l3l4Open = false;
  #lastLevel = 0;
  #lastThreshold: number;
  #lastRps = 0;
  readonly #sample = new Float64Array(6);
  /** Every second closed since the last {@linkcode takeInterval}. */
  readonly #interval: L7Window;
  #intervalSeconds = 0;

  /** Creates a detector with `config` (see `L7Config` for the keys). */
  constructor(config: L7DetectorConfig, options: L7DetectorOptions) {
    this.#cfg = config;
    this.#onEvent = options.onEvent;
    this.#onWindow = options.onWindow;
    this.#idSeed = options.idSeed ?? "";
    this.baseline = options.baseline ??
      new Baseline({ windowMinutes: config.baseline_window_minutes });
    this.#window = new L7Window(64, this.#agents);
    this.#interval = new L7Window(64, this.#agents);
    this.#lastThreshold = config.l7_rps_threshold;
  }

  /** Applies a new config (a reload) from the next second on. */
  configure(config: L7DetectorConfig): void {
    this.#cfg = { ...config, baseline_window_minutes: this.#cfg.baseline_window_minutes };
  }

  /** The runtime says whether an L3/L4 incident is open (marks L7 events `correlated_l3l4`). */
  setL3L4Open(open: boolean): void {
    this.#l3l4Open = open;
  }

  /** Where the machine stands. */
  get state(): L7State {
    return this.#state;
  }

  /** The rate threshold (requests/s) of the last closed second. */
  get threshold(): number {
    return this.#lastThreshold;
  }

  /** The second being filled (epoch s; NaN before the first record). */
  get second(): number {
    return this.#sec;
  }

  /**
   * The closed seconds since the last call as one window (for the periodic L7 metrics), or
   * null when none closed; starts the next interval.
   */
  takeInterval(): L7WindowStats | null {
    if (this.#intervalSeconds === 0) return null;
    this.#interval.seconds = this.#intervalSeconds;
    const stats = this.#interval.stats();
    this.#intervalSeconds = 0;
    return stats;
  }

  /** Counts one request at its own time (a record older than the current second counts in it). */
  add(r: LogRecord): void {
    const t = r.timeMs;
    if (!(t > 0)) return;
    const sec = Math.floor(t / 1000);
    if (!(sec <= this.#sec)) this.#advanceTo(sec);
    this.requests++;
    this.#window.add(r);
    this.#evidence?.add(r);
  }

  /** Moves the log's time to `nowMs` without a record (the log went quiet): closes windows. */
  advance(nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (!Number.isNaN(this.#sec) && sec > this.#sec) this.#advanceTo(sec);
  }

  /** End of the log (end of a replay, shutdown): closes the last window, resolves the incident. */
  finish(): void {
    if (Number.isNaN(this.#sec)) return;
    this.#close();
    if (this.#incident) this.#resolve(this.#sec + 1);
    this.#evidence = null;
    if (this.#state === "suspected") this.#state = "idle";
    this.#sec = NaN;
  }

  #advanceTo(sec: number): void {
    if (Number.isNaN(this.#sec)) {
      this.#sec = sec;
      this.#window.reset(sec);
      return;
    }
    this.#close();
    // Empty seconds in between are real (rates of 0); a long gap closes only what the
    // machine needs to settle, then starts afresh.
    const last = sec - this.#sec > MAX_GAP_SECONDS
      ? this.#sec + this.#cfg.l7_calm_seconds + 1
      : sec - 1;
    for (let s = this.#sec + 1; s <= last; s++) {
      this.#sec = s;
      this.#window.reset(s);
      this.#close();
    }
    this.#sec = sec;
    this.#window.reset(sec);
  }

  /** Closes the current second: signals, machine, baseline. */
  #close(): void {
    const stats = this.#window.stats();
    const sec = this.#sec;
    this.windows++;
    if (this.#intervalSeconds === 0) this.#interval.reset(sec);
    this.#interval.merge(this.#window);
    this.#intervalSeconds++;
    this.#lastRps = stats.rps;
    const threshold = this.#thresholdAt(sec);
    this.#lastThreshold = threshold;
    const verdict = evaluateSecond(stats, threshold, this.#cfg);
    this.#onWindow?.(stats, verdict, threshold);
    this.#step(sec, stats, verdict);
    if (this.#state === "idle" || this.#state === "cooldown") {
      this.#sample[0] = stats.rps;
      this.#sample[1] = stats.unique_ips;
      this.#sample[2] = this.#window.errors;
      this.baseline.add(sec, this.#sample);
    }
  }

  #thresholdAt(sec: number): number {
    // Attack seconds never feed the baseline: the level learned before a long attack stays.
    if (this.baseline.ready) this.#lastLevel = this.baseline.level(0, sec);
    return Math.max(this.#cfg.l7_rps_threshold, this.#lastLevel * sensitivityMultiplier(this.#cfg));
  }

  #step(sec: number, stats: L7WindowStats, verdict: L7Verdict): void {
    const cfg = this.#cfg;
    switch (this.#state) {
      case "cooldown":
        if (sec < this.#cooldownUntil) return;
        this.#state = "idle";
      // falls through
      case "idle":
        if (!verdict.suspicious) return;
        this.#state = "suspected";
        this.#suspectSince = sec;
        this.#suspectWindows = [];
        // The second that crossed is the first evidence.
        this.#evidence = new L7Window(64, this.#agents);
        this.#evidence.reset(sec);
        this.#evidence.merge(this.#window);
      // falls through
      case "suspected":
        if (!verdict.suspicious) {
          this.#state = "idle";
          this.#evidence = null;
          return;
        }
        this.#suspectWindows.push({ stats, verdict });
        if (this.#suspectWindows.length >= cfg.l7_confirm_seconds) this.#open(sec, verdict);
        return;
      case "active": {
        const inc = this.#incident!;
        inc.second(stats, verdict.signals);
        const calm = !verdict.suspicious && stats.rps <= inc.threshold;
        inc.calm = calm ? inc.calm + 1 : 0;
        if (inc.calm >= cfg.l7_calm_seconds) {
          this.#resolve(sec - inc.calm + 1);
          return;
        }
        if (sec + 1 - inc.lastEventSec >= cfg.incident_update_seconds) {
          inc.lastEventSec = sec + 1;
          this.#emit(this.#event("update", sec + 1));
        }
      }
    }
  }

  #open(sec: number, verdict: L7Verdict): void {
    const names = verdict.signals.map((g) => `${g.name} ${g.value} > ${g.limit}`).join(", ");
    const seconds = this.#suspectWindows.length;
    const inc = new L7Incident(
      deterministicUuid(`${this.#idSeed}|http|${this.#suspectSince}`),
      this.#suspectSince,
      sec + 1,
      this.#lastThreshold,
      this.baseline.ready ? this.baseline.mean(0) : 0,
      `confirmed: ${verdict.signals.length} signals for ${seconds} s (${names})`,
      this.#evidence!,
    );
    for (const { stats, verdict } of this.#suspectWindows) inc.second(stats, verdict.signals);
    this.#suspectWindows = [];
    this.#incident = inc;
    this.#state = "active";
    this.#emit(this.#event("open", sec + 1));
  }

  #resolve(endSec: number): void {
    const inc = this.#incident!;
    const event = this.#event("resolve", Math.max(this.#sec + 1, inc.openedSec), endSec);
    this.#incident = null;
    this.#evidence = null;
    this.#state = "cooldown";
    this.#cooldownUntil = endSec + this.#cfg.l7_cooldown_seconds;
    this.#emit(event);
  }

  #event(kind: IncidentEventKind, atSec: number, endSec?: number): IncidentEvent {
    return l7Event(this.#incident!, kind, atSec, endSec, this.#lastRps, this.#cfg, this.#l3l4Open);
  }

  #emit(event: IncidentEvent): void {
    try {
      this.#onEvent(event);
    } catch {
      this.listenerErrors++;
    }
  }
}
