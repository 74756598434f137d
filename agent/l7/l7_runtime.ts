/**
 * L7 detection at work: the access logs followed (configured, or those of the web servers found
 * on the host), each parsed in its own format, one {@linkcode L7Detector} over all of them, its
 * incident events handed on like the L3/L4 ones. Windows are keyed by the log lines' own times;
 * a wall-clock tick closes them when the logs go quiet.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Config } from "../../core/config/mod.ts";
import type { Baseline, IncidentEvent } from "../../core/detect/mod.ts";
import { L7Detector, type L7WindowStats, LogParser } from "../../core/l7/mod.ts";
import { l7MetricsBody } from "../../core/report/mod.ts";
import { FLOWTRIQ_CHANNEL } from "../report/mod.ts";
import { BaselineFile, type Outbox } from "../state/mod.ts";
import { LogTailer, type TailedFileStats } from "./log_tailer.ts";
import {
  type AccessLogPath,
  detectWebServers,
  logsToFollow,
  type WebServerInfo,
} from "./web_servers.ts";

/** Wall-clock delay (ms) before a second of log time is closed without a later line. */
const QUIET_CLOSE_LAG_MS = 1500;
/** Wall-clock period (ms) of the tick that closes quiet seconds. */
const TICK_MS = 250;
/** Period of `POST /agent/l7/metrics` (the API says every 10 s while L7 is active). */
const METRICS_MS = 10_000;
/** Distinct (log, reason) pairs of skipped lines that are logged. */
const MAX_WARNED = 100;

/** Counters of one log's parser. */
export interface ParserStats {
  /** The format in use (null until decided). */
  format: string | null;
  /** Lines read. */
  lines: number;
  /** Lines parsed into requests. */
  parsed: number;
  /** Lines skipped, by reason. */
  rejected: Record<string, number>;
}

/** What an {@linkcode L7Runtime} needs. */
export interface L7Options {
  /** The (merged) config: `l7_*`, `state_dir`, `baseline_window_minutes`, the account. */
  config: Config;
  /** Says what is followed, and skipped lines (a bounded number). */
  log: Logger;
  /** Gets every L7 incident event. */
  emit: (event: IncidentEvent) => void;
  /**
   * The reporting outbox: with an account (api_key, node_uuid), `/agent/l7/detect` is queued
   * at start and `/agent/l7/metrics` every 10 s.
   */
  outbox?: Outbox;
}

/** A running L7 detection over the access logs. */
export class L7Runtime {
  /** The detector (state, threshold, baseline). */
  readonly detector: L7Detector;
  /** Web servers found at start. */
  readonly servers: WebServerInfo[];
  /** The logs followed. */
  readonly paths: string[];
  readonly #opts: L7Options;
  readonly #parsers: Map<string, LogParser>;
  readonly #tailer: LogTailer;
  readonly #baseline: BaselineFile;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #warned = new Set<string>();
  #last: L7WindowStats | null = null;

  private constructor(
    opts: L7Options,
    servers: WebServerInfo[],
    logs: AccessLogPath[],
    baseline: BaselineFile,
    detectorBaseline: Baseline | null,
    utcOffsetMinutes: number,
  ) {
    const { config } = opts;
    this.#opts = opts;
    this.servers = servers;
    this.paths = logs.map((l) => l.path);
    this.#parsers = new Map(
      logs.map((l) => [l.path, new LogParser(l.format, { utcOffsetMinutes })]),
    );
    this.detector = new L7Detector(config, {
      onEvent: opts.emit,
      onWindow: (stats) => this.#last = stats,
      idSeed: `${config.node_uuid}|${Date.now()}`,
      baseline: detectorBaseline ?? undefined,
    });
    this.#baseline = baseline;
    baseline.keep(this.detector.baseline);
    this.#tailer = new LogTailer({
      paths: this.paths,
      onLine: (line, path) => this.#line(line, path),
      onNotice: (path, message) => opts.log.info("{path}: {message}", { path, message }),
    });
  }

  /**
   * Starts L7 detection when `config.l7_enabled`; null when it is off, or when no access log
   * is configured or found (said once in the log).
   */
  static async start(opts: L7Options): Promise<L7Runtime | null> {
    const { config, log } = opts;
    if (!config.l7_enabled) return null;
    const servers = await detectWebServers();
    for (const s of servers) {
      log.info("web server {name}: {state}, access logs {logs}", {
        name: s.name,
        state: s.running ? "running" : "installed",
        logs: s.logs.map((l) => l.path).join(", ") || "none found",
      });
    }
    const logs = logsToFollow(servers, config.l7_log_paths, config.l7_log_format);
    if (logs.length === 0) {
      log.warn("l7_enabled but no access log is configured (l7_log_paths) or found: L7 is off");
      return null;
    }
    // The requests/s baseline survives restarts like the packet one.
    const utcOffsetMinutes = -new Date().getTimezoneOffset();
    const file = new BaselineFile(`${config.state_dir}/l7_baseline.json`, "L7 baseline", log);
    const baseline = await file.restore({
      windowMinutes: config.baseline_window_minutes,
      utcOffsetMinutes,
    });
    const runtime = new L7Runtime(opts, servers, logs, file, baseline, utcOffsetMinutes);
    await runtime.#tailer.start();
    runtime.#timers.push(
      setInterval(() => runtime.detector.advance(Date.now() - QUIET_CLOSE_LAG_MS), TICK_MS),
    );
    log.info("L7 detection on {paths}", { paths: runtime.paths.join(", ") });
    runtime.#report("/agent/l7/detect", runtime.detection());
    runtime.#timers.push(setInterval(() => {
      const body = runtime.metrics();
      if (body !== null) runtime.#report("/agent/l7/metrics", body);
    }, METRICS_MS));
    return runtime;
  }

  /** The last closed one-second window, null before the first. */
  lastWindow(): L7WindowStats | null {
    return this.#last;
  }

  /**
   * The `/agent/l7/metrics` body of the seconds closed since the last call (null when none):
   * call it every 10 s while L7 is active.
   */
  metrics(): Record<string, unknown> | null {
    const interval = this.detector.takeInterval();
    return interval === null ? null : l7MetricsBody(interval);
  }

  /** The `/agent/l7/detect` body: the web server found, the logs found and the ones followed. */
  detection(): Record<string, unknown> {
    const server = this.servers.find((x) => x.running) ?? this.servers[0] ?? null;
    return {
      web_server: server?.name ?? null,
      server_version: null,
      detected_paths: this.servers.flatMap((x) => x.logs.map((l) => l.path)),
      active_log_path: this.paths[0],
    };
  }

  /** Counters: tailer per file, parser per file (parsed, rejected by reason, format). */
  stats(): { files: TailedFileStats[]; parsers: Record<string, ParserStats> } {
    return {
      files: this.#tailer.stats(),
      parsers: Object.fromEntries(
        [...this.#parsers].map(([path, p]) => [path, {
          format: p.format,
          lines: p.lines,
          parsed: p.parsed,
          rejected: { ...p.rejected },
        }]),
      ),
    };
  }

  /** Applies a reloaded config. */
  configure(config: Config): void {
    this.detector.configure(config);
  }

  /** For the heartbeat's `l7_status`: "tailing <paths>", or "no_log" while no log is open. */
  status(): string {
    const open = this.#tailer.stats().filter((f) => f.following).map((f) => f.path);
    return open.length > 0 ? `tailing ${open.join(", ")}` : "no_log";
  }

  /** Stops tailing, closes the last window, resolves an open incident (events are emitted). */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#tailer.stop();
    this.detector.finish();
    await this.#baseline.close();
  }

  #line(line: string, path: string): void {
    const parser = this.#parsers.get(path)!;
    const r = parser.parse(line);
    if (r !== null) {
      this.detector.add(r);
      return;
    }
    const key = `${path}|${parser.lastError}`;
    if (!this.#warned.has(key) && this.#warned.size < MAX_WARNED) {
      this.#warned.add(key);
      this.#opts.log.warn("{path}: line skipped ({reason}): {line}", {
        path,
        reason: parser.lastError,
        line: line.slice(0, 200),
      });
    }
  }

  #report(path: string, body: Record<string, unknown>): void {
    const { config, outbox, log } = this.#opts;
    if (!outbox || config.api_key === "" || config.node_uuid === "") return;
    const nowMs = Date.now();
    try {
      outbox.enqueue({
        channel: FLOWTRIQ_CHANNEL,
        kind: "metrics",
        key: `${path}:${nowMs}`,
        eventUs: nowMs * 1000,
        body: { op: "post", path, body },
      });
    } catch (err) {
      log.error("cannot queue {path}: {error}", { path, error: String(err) });
    }
  }
}
