/**
 * The agent's view of itself: one {@linkcode AgentSnapshot} built from the pipeline, detector,
 * source, listeners, PCAP recorder and reporting, served on 127.0.0.1:`metrics_port`, and the
 * capture loop's liveness (ticks, or packets flowing) for `/health`.
 *
 * @module
 */

import process from "node:process";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../../core/config/mod.ts";
import { type Detector, type IncidentEvent, RATE_NAMES } from "../../core/detect/mod.ts";
import {
  type AgentSnapshot,
  type DashboardData,
  DashboardFeed,
  type DashboardPastIncident,
  type FlowSnapshot,
  healthProblems,
  IncidentTally,
  type LastSecond,
  RateHistory,
  type ReportingSnapshot,
  type StateSnapshot,
} from "../../core/report/mod.ts";
import type { Pipeline } from "../../core/traffic/mod.ts";
import type { CaptureSource } from "../capture/mod.ts";
import type { PcapRecorder } from "../evidence/mod.ts";
import { type IncidentReports, withReportRoute } from "../report/mod.ts";
import { dashboardRoutes } from "./dashboard_routes.ts";
import { type MetricsServer, startMetricsServer } from "./metrics_server.ts";

/** Wall-clock period (ms) of the check that packets flow (files have no ticks). */
const PROGRESS_MS = 1000;

/** What the snapshot is built from. */
export interface ObservedParts {
  /** The config (`metrics_port`). */
  config: Config;
  /** Says where the endpoint listens, or why it does not. */
  log: Logger;
  /** The agent's version. */
  version: string;
  /** Targets, thresholds and the baseline. */
  detector: Detector;
  /** Packet counters. */
  pipeline: Pipeline;
  /** The interface's last closed second. */
  lastSecond: LastSecond;
  /** Kernel drops and the source's name. */
  source: CaptureSource;
  /** The listeners' queues. */
  listeners: { stats(): AgentSnapshot["listeners"] };
  /** PCAP counters, when PCAP evidence is on. */
  recorder: PcapRecorder | null;
  /** The reporting layer's counters, when it runs. */
  reporting?: { stats(): ReportingSnapshot } | null;
  /** The state database's write queue, when there is a database. */
  state?: { stats(): StateSnapshot } | null;
  /** The flow collector, when the agent collects flows. */
  flow?: { flowSnapshot(): FlowSnapshot } | null;
  /** The last 15 minutes of rates (the dashboard's charts), fed per window by the caller. */
  history?: RateHistory;
  /** Recent incidents (the dashboard's history), when there is a store. */
  past?: { list(limit: number): DashboardPastIncident[]; has(id: string): boolean } | null;
  /** Mitigation action states by incident (the recent actions), when mitigation runs. */
  mitigation?: (() => Map<string, string[]>) | null;
  /** Incident reports (`/incidents/<id>/report`), when there is a store. */
  reports?: IncidentReports | null;
}

/** Incidents the dashboard's history lists. */
const PAST_INCIDENTS = 25;

/** The running endpoint and the incident tally. */
export class Observability {
  readonly #parts: ObservedParts;
  readonly #tally = new IncidentTally();
  readonly #feed = new DashboardFeed();
  readonly #history: RateHistory;
  readonly #startMs = performance.timeOrigin;
  readonly #progress: ReturnType<typeof setInterval>;
  readonly #server: MetricsServer | null;
  #running = true;
  #lastTickMs: number | null = null;
  #lastPackets = 0;

  /** Starts the endpoint (unless `metrics_port` is 0) and the liveness check. */
  constructor(parts: ObservedParts) {
    this.#parts = parts;
    this.#history = parts.history ?? new RateHistory();
    this.#progress = setInterval(() => {
      const packets = parts.pipeline.packets;
      if (packets !== this.#lastPackets) this.#lastTickMs = Date.now();
      this.#lastPackets = packets;
    }, PROGRESS_MS);
    const port = parts.config.metrics_port;
    const pcapDir = parts.config.pcap_enabled ? parts.config.pcap_dir : null;
    this.#server = port === 0 ? null : startMetricsServer({
      port,
      hostname: parts.config.metrics_address,
      token: parts.config.dashboard_token,
      snapshot: () => this.snapshot(),
      onError: (message) => parts.log.error("{message}", { message }),
      routes: withReportRoute(
        parts.reports,
        dashboardRoutes({
          data: (sinceT) => this.dashboard(sinceT),
          pcapDir,
          known: (id) => {
            try {
              return this.#parts.past?.has(id) ?? false;
            } catch {
              return false;
            }
          },
        }),
      ),
    });
    if (this.#server !== null) {
      const host = this.#server.hostname.includes(":")
        ? `[${this.#server.hostname}]`
        : this.#server.hostname;
      parts.log.info(
        "metrics on http://{host}:{port}/metrics, dashboard on http://{host}:{port}/",
        { host, port: this.#server.port },
      );
    }
  }

  /** An incident event (a listener): counts open incidents and totals by family. */
  handle(event: IncidentEvent): void {
    this.#tally.event(event);
    this.#feed.event(event, Date.now());
  }

  /** The dashboard's document, with history samples after packet time `sinceT`. */
  dashboard(sinceT = -Infinity): DashboardData {
    const snapshot = this.snapshot();
    let actions = new Map<string, string[]>();
    try {
      actions = this.#parts.mitigation?.() ?? actions;
    } catch { /* the database is locked or gone: no mitigation status this time */ }
    return this.#feed.data({
      snapshot,
      problems: healthProblems(snapshot),
      history: this.#history.series(sinceT),
      targets: this.#parts.detector.status(),
      past: this.#past(),
      mitigation: (id) => actions.get(id) ?? [],
      mitigationMode: this.#parts.config.mitigation.mode,
    });
  }

  #past(): DashboardPastIncident[] {
    try {
      return this.#parts.past?.list(PAST_INCIDENTS) ?? [];
    } catch {
      return []; // the database is locked or gone: the page goes on without its history
    }
  }

  /** The capture loop is alive (called at each of the source's ticks). */
  tick(): void {
    this.#lastTickMs = Date.now();
  }

  /** Everything the endpoint serves, now. */
  snapshot(): AgentSnapshot {
    const { detector, pipeline, source } = this.#parts;
    const stats = source.stats();
    const targets = detector.status();
    const iface = targets.find((t) => t.target === "interface");
    const nowSec = detector.baseline.newest ?? Date.now() / 1000;
    const cpu = process.cpuUsage();
    const memory = Deno.memoryUsage();
    const pcap = this.#parts.recorder?.stats() ?? null;
    return {
      version: this.#parts.version,
      nowMs: Date.now(),
      startMs: this.#startMs,
      lastTickMs: this.#lastTickMs,
      capture: {
        running: this.#running,
        source: source.name,
        packets: pipeline.packets,
        bytes: pipeline.bytes,
        malformed: pipeline.malformed,
        dropped: stats.dropped,
        ifDropped: stats.ifDropped,
        sampleRate: stats.sampleRate ?? 1,
      },
      rates: this.#parts.lastSecond.rates(),
      thresholds: iface?.thresholds ?? {},
      baseline: {
        ready: detector.baseline.ready,
        samples: detector.baseline.samples,
        levels: Object.fromEntries(
          RATE_NAMES.map((name, i) => [name, detector.baseline.level(i, nowSec)]),
        ),
      },
      targets: targets.map((t) => ({
        target: t.target,
        state: t.state,
        pps: t.pps,
        bps: t.bps,
        incident: t.incident,
      })),
      incidents: { open: this.#tally.open(), totalByFamily: this.#tally.totals() },
      listeners: this.#parts.listeners.stats(),
      pcap: pcap && {
        files: pcap.files,
        droppedFrames: pcap.droppedFrames,
        stoppedReason: pcap.stoppedReason,
      },
      reporting: this.#parts.reporting?.stats() ?? null,
      state: this.#parts.state?.stats() ?? null,
      flow: this.#parts.flow?.flowSnapshot() ?? null,
      mirror: detector.mirrorSnapshot(),
      process: {
        rssBytes: memory.rss,
        heapBytes: memory.heapUsed,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      },
    };
  }

  /** Marks capture stopped and closes the endpoint. */
  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#progress);
    await this.#server?.close();
  }
}
