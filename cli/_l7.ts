/**
 * The agent's L7 part: when `l7_enabled`, follows the access logs (configured, or those of the web
 * servers found on the host), parses each with its own format, runs one L7 detector over all of
 * them and hands its incident events to the same listeners as L3/L4. Windows are keyed by the log
 * lines' own times; a wall-clock tick closes them when the logs go quiet. `L7Part` keeps it
 * running, or not, as the merged config (the server's `l7` over the file) says.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { L7Detector, type L7WindowStats, LogParser } from "../core/l7/mod.ts";
import type { IncidentEvent } from "../core/detect/mod.ts";
import { l7MetricsBody } from "../core/report/mod.ts";
import { loadBaseline, type Outbox, saveBaseline } from "../agent/state/mod.ts";
import {
  detectWebServers,
  logsToFollow,
  LogTailer,
  type TailedFileStats,
  type WebServerInfo,
} from "../agent/l7/mod.ts";
import { FLOWTRIQ_CHANNEL } from "../agent/report/mod.ts";

/** Wall-clock delay (ms) before a second of log time is closed without a later line. */
const QUIET_CLOSE_LAG_MS = 1500;
const TICK_MS = 250;
const BASELINE_SAVE_MS = 60_000;
/** Period of `POST /agent/l7/metrics` (the API says every 10 s while L7 is active). */
const METRICS_MS = 10_000;

/** What a running L7 part offers the agent. */
export interface L7Runtime {
  /** The detector (state, threshold, baseline). */
  readonly detector: L7Detector;
  /** Web servers found at start, and the logs followed. */
  readonly servers: WebServerInfo[];
  readonly paths: string[];
  /** The last closed one-second window, null before the first. */
  lastWindow(): L7WindowStats | null;
  /**
   * The `/agent/l7/metrics` body of the seconds closed since the last call (null when none):
   * call it every 10 s while L7 is active.
   */
  metrics(): Record<string, unknown> | null;
  /** The `/agent/l7/detect` body: the web server found, the logs found and the ones followed. */
  detection(): Record<string, unknown>;
  /** Counters: tailer per file, parser per file (parsed, rejected by reason, format). */
  stats(): { files: TailedFileStats[]; parsers: Record<string, ParserStats> };
  /** A listener for every incident event: an L3/L4 incident open marks L7 events correlated. */
  observe(event: IncidentEvent): void;
  /** Applies a reloaded config. */
  configure(config: Config): void;
  /** For the heartbeat's `l7_status`: "tailing <paths>", or "no_log" while no log is open. */
  status(): string;
  /** Stops tailing, closes the last window, resolves an open incident (events are emitted). */
  stop(): Promise<void>;
}

/** Counters of one log's parser. */
export interface ParserStats {
  format: string | null;
  lines: number;
  parsed: number;
  rejected: Record<string, number>;
}

/** What {@linkcode startL7} needs. */
export interface L7Options {
  config: Config;
  log: Logger;
  /** Gets every L7 incident event. */
  emit: (event: IncidentEvent) => void;
  /**
   * The reporting outbox: with an account (api_key, node_uuid), `/agent/l7/detect` is queued
   * at start and `/agent/l7/metrics` every 10 s.
   */
  outbox?: Outbox;
}

/**
 * Starts the L7 part when `config.l7_enabled` (null otherwise, or when no access log is
 * configured or found). `emit` gets every L7 incident event.
 */
export async function startL7(opts: L7Options): Promise<L7Runtime | null> {
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
  const utcOffsetMinutes = -new Date().getTimezoneOffset();
  const parsers = new Map<string, LogParser>();
  for (const l of logs) parsers.set(l.path, new LogParser(l.format, { utcOffsetMinutes }));
  let last: L7WindowStats | null = null;
  let l3l4Open = new Set<string>();
  // The requests/s baseline survives restarts like the packet one (state_dir/l7_baseline.json).
  const baselinePath = `${config.state_dir}/l7_baseline.json`;
  const restored = await loadBaseline(
    baselinePath,
    { windowMinutes: config.baseline_window_minutes, utcOffsetMinutes },
    Date.now() / 1000,
  );
  const detector = new L7Detector(config, {
    onEvent: opts.emit,
    onWindow: (stats) => last = stats,
    idSeed: `${config.node_uuid}|${Date.now()}`,
    baseline: restored.baseline ?? undefined,
  });
  const save = async () => {
    try {
      await saveBaseline(baselinePath, detector.baseline, Date.now() / 1000);
    } catch (err) {
      log.error("cannot save the L7 baseline to {path}: {error}", {
        path: baselinePath,
        error: String(err),
      });
    }
  };
  const saver = setInterval(save, BASELINE_SAVE_MS);
  const warned = new Set<string>();
  const tailer = new LogTailer({
    paths: logs.map((l) => l.path),
    onLine: (line, path) => {
      const parser = parsers.get(path)!;
      const r = parser.parse(line);
      if (r !== null) {
        detector.add(r);
        return;
      }
      const key = `${path}|${parser.lastError}`;
      if (!warned.has(key) && warned.size < 100) {
        warned.add(key);
        log.warn("{path}: line skipped ({reason}): {line}", {
          path,
          reason: parser.lastError,
          line: line.slice(0, 200),
        });
      }
    },
    onNotice: (path, message) => log.info("{path}: {message}", { path, message }),
  });
  await tailer.start();
  const report = (path: string, body: Record<string, unknown>) => {
    if (!opts.outbox || config.api_key === "" || config.node_uuid === "") return;
    const nowMs = Date.now();
    try {
      opts.outbox.enqueue({
        channel: FLOWTRIQ_CHANNEL,
        kind: "metrics",
        key: `${path}:${nowMs}`,
        eventUs: nowMs * 1000,
        body: { op: "post", path, body },
      });
    } catch (err) {
      log.error("cannot queue {path}: {error}", { path, error: String(err) });
    }
  };
  const tick = setInterval(() => detector.advance(Date.now() - QUIET_CLOSE_LAG_MS), TICK_MS);
  log.info("L7 detection on {paths}", { paths: logs.map((l) => l.path).join(", ") });
  const runtime: L7Runtime = {
    detector,
    servers,
    paths: logs.map((l) => l.path),
    lastWindow: () => last,
    metrics: () => {
      const interval = detector.takeInterval();
      return interval === null ? null : l7MetricsBody(interval);
    },
    detection: () => {
      const server = servers.find((x) => x.running) ?? servers[0] ?? null;
      return {
        web_server: server?.name ?? null,
        server_version: null,
        detected_paths: servers.flatMap((x) => x.logs.map((l) => l.path)),
        active_log_path: logs[0].path,
      };
    },
    stats: () => ({
      files: tailer.stats(),
      parsers: Object.fromEntries(
        [...parsers].map(([path, p]) => [path, {
          format: p.format,
          lines: p.lines,
          parsed: p.parsed,
          rejected: { ...p.rejected },
        }]),
      ),
    }),
    observe(event) {
      if (event.attack_family === "http_flood") return;
      const next = new Set(l3l4Open);
      if (event.event === "resolve") next.delete(event.id);
      else next.add(event.id);
      l3l4Open = next;
      detector.setL3L4Open(l3l4Open.size > 0);
    },
    configure(next) {
      detector.configure(next);
    },
    status() {
      const open = tailer.stats().filter((f) => f.following).map((f) => f.path);
      return open.length > 0 ? `tailing ${open.join(", ")}` : "no_log";
    },
    async stop() {
      clearInterval(tick);
      clearInterval(saver);
      clearInterval(reporter);
      await tailer.stop();
      detector.finish();
      await save();
    },
  };
  report("/agent/l7/detect", runtime.detection());
  const reporter = setInterval(() => {
    const body = runtime.metrics();
    if (body !== null) report("/agent/l7/metrics", body);
  }, METRICS_MS);
  return runtime;
}

/** What the reporting layer needs of the L7 part (see `Reporting.attachL7`). */
export interface L7Link {
  /** Gets every merged config (the server's overrides over the local config). */
  configure(merged: Config): void;
  /** The heartbeat's `l7_enabled` (L7 is running) and `l7_status`. */
  status(): { enabled: boolean; status: string };
}

/**
 * The L7 part as the agent runs it: running while the merged config (the server's `l7` over
 * the config file) says `l7_enabled`, started, stopped or restarted when that or
 * `l7_log_paths` changes (a stop resolves an open L7 incident); thresholds and sensitivity
 * apply in place. Starts and stops run one after the other, off the caller's path.
 */
export class L7Part implements L7Link {
  readonly #opts: L7Options;
  #runtime: L7Runtime | null = null;
  #latest: Config;
  /** What the running (or last tried) runtime was started for: "off" or its log paths. */
  #key = "";
  #status = "off";
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  #l3l4Open = new Set<string>();

  private constructor(opts: L7Options) {
    this.#opts = opts;
    this.#latest = opts.config;
  }

  /** Starts the part (and L7 itself when `config.l7_enabled`). */
  static async start(opts: L7Options): Promise<L7Part> {
    const part = new L7Part(opts);
    part.configure(opts.config);
    await part.#chain;
    return part;
  }

  /** The running L7 runtime, null while L7 is off or has no log. */
  get runtime(): L7Runtime | null {
    return this.#runtime;
  }

  /** Applies a merged config: in place, or by starting, restarting or stopping L7. */
  configure(merged: Config): void {
    this.#latest = merged;
    this.#runtime?.configure(merged);
    const key = merged.l7_enabled ? JSON.stringify(merged.l7_log_paths) : "off";
    if (key === this.#key || this.#stopped) return;
    this.#key = key;
    this.#chain = this.#chain.then(() => this.#switch(key)).catch((err) => {
      this.#status = `error: ${(err as Error).message}`;
      this.#opts.log.error("L7 could not start: {error}", { error: String(err) });
    });
  }

  /** Running or not, and "tailing <paths>", "no_log", "off" or the start error. */
  status(): { enabled: boolean; status: string } {
    if (this.#runtime !== null) return { enabled: true, status: this.#runtime.status() };
    return { enabled: false, status: this.#status };
  }

  /** A listener for every incident event: an L3/L4 incident open marks L7 events correlated. */
  observe(event: IncidentEvent): void {
    if (event.attack_family !== "http_flood") {
      if (event.event === "resolve") this.#l3l4Open.delete(event.id);
      else this.#l3l4Open.add(event.id);
    }
    this.#runtime?.observe(event);
  }

  /** Stops L7 (resolving an open L7 incident) and any later start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain;
    await this.#stopRuntime();
  }

  async #switch(key: string): Promise<void> {
    // A later change or stop supersedes this one.
    if (this.#stopped || key !== this.#key) return;
    const { log } = this.#opts;
    const config = this.#latest;
    if (this.#runtime !== null) {
      log.info("L7 detection stops: {why}", {
        why: config.l7_enabled ? "l7_log_paths changed, restarting" : "l7_enabled is off",
      });
      await this.#stopRuntime();
    }
    this.#status = "off";
    if (!config.l7_enabled) return;
    this.#runtime = await startL7({ ...this.#opts, config });
    if (this.#runtime === null) this.#status = "no_log";
    else this.#runtime.detector.setL3L4Open(this.#l3l4Open.size > 0);
  }

  async #stopRuntime(): Promise<void> {
    const runtime = this.#runtime;
    this.#runtime = null;
    await runtime?.stop();
  }
}
