// The agent's metrics endpoint: builds one AgentSnapshot from the pipeline, detector, source,
// listeners, PCAP recorder and reporting, and serves it on 127.0.0.1:metrics_port. Also keeps
// the capture loop's liveness (ticks, or packets flowing) for /health.
import process from "node:process";
import type { Logger } from "@logtape/logtape";
import {
  type AgentSnapshot,
  IncidentTally,
  type LastSecond,
  type ReportingSnapshot,
} from "../core/report/mod.ts";
import type { Config } from "../core/config/mod.ts";
import { type Detector, RATE_NAMES } from "../core/detect/mod.ts";
import type { Pipeline } from "../core/traffic/mod.ts";
import type { Listeners } from "../agent/listeners.ts";
import { startMetricsServer } from "../agent/observe/mod.ts";
import type { PcapRecorder } from "../agent/evidence/mod.ts";
import type { CaptureSource } from "../agent/capture/mod.ts";
import { VERSION } from "./version.ts";

const PROGRESS_MS = 1000;

/** The running endpoint and the hooks the run loop calls. */
export interface Observability {
  /** The capture loop is alive (call from the source's `onTick`). */
  tick(): void;
  /** Marks capture stopped and closes the endpoint. */
  stop(): Promise<void>;
}

/** What the snapshot is built from. */
export interface ObservedParts {
  config: Config;
  log: Logger;
  detector: Detector;
  pipeline: Pipeline;
  lastSecond: LastSecond;
  source: CaptureSource;
  listeners: Listeners;
  recorder: PcapRecorder | null;
  /** The reporting layer's counters, when it runs. */
  reporting?: { stats(): ReportingSnapshot } | null;
}

/** Starts the endpoint (unless `metrics_port` is 0) and the incident tally. */
export function startObservability(parts: ObservedParts): Observability {
  const { config, log, detector, pipeline, source } = parts;
  const startMs = performance.timeOrigin;
  const tally = new IncidentTally();
  parts.listeners.add({ name: "metrics", handle: (event) => tally.event(event) });
  let running = true;
  let lastTickMs: number | null = null;
  let lastPackets = 0;
  // Files have no ticks: packets flowing count as the loop being alive.
  const progress = setInterval(() => {
    if (pipeline.packets !== lastPackets) lastTickMs = Date.now();
    lastPackets = pipeline.packets;
  }, PROGRESS_MS);

  const snapshot = (): AgentSnapshot => {
    const stats = source.stats();
    const iface = detector.status().find((t) => t.target === "interface");
    const nowSec = detector.baseline.newest ?? Date.now() / 1000;
    const cpu = process.cpuUsage();
    const memory = Deno.memoryUsage();
    const pcap = parts.recorder?.stats() ?? null;
    return {
      version: VERSION,
      nowMs: Date.now(),
      startMs,
      lastTickMs,
      capture: {
        running,
        source: source.name,
        packets: pipeline.packets,
        bytes: pipeline.bytes,
        malformed: pipeline.malformed,
        dropped: stats.dropped,
        ifDropped: stats.ifDropped,
      },
      rates: parts.lastSecond.rates(),
      thresholds: iface?.thresholds ?? {},
      baseline: {
        ready: detector.baseline.ready,
        samples: detector.baseline.samples,
        levels: Object.fromEntries(
          RATE_NAMES.map((name, i) => [name, detector.baseline.level(i, nowSec)]),
        ),
      },
      targets: detector.status().map((t) => ({
        target: t.target,
        state: t.state,
        pps: t.pps,
        bps: t.bps,
        incident: t.incident,
      })),
      incidents: { open: tally.open(), totalByFamily: tally.totals() },
      listeners: parts.listeners.stats(),
      pcap: pcap && {
        files: pcap.files,
        droppedFrames: pcap.droppedFrames,
        stoppedReason: pcap.stoppedReason,
      },
      reporting: parts.reporting?.stats() ?? null,
      process: {
        rssBytes: memory.rss,
        heapBytes: memory.heapUsed,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      },
    };
  };

  const server = config.metrics_port === 0 ? null : startMetricsServer({
    port: config.metrics_port,
    snapshot,
    onError: (message) => log.error("{message}", { message }),
  });
  if (server !== null) {
    log.info("metrics on http://127.0.0.1:{port}/metrics", { port: server.port });
  }
  return {
    tick: () => {
      lastTickMs = Date.now();
    },
    stop: async () => {
      running = false;
      clearInterval(progress);
      await server?.close();
    },
  };
}
