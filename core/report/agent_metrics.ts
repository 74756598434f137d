/**
 * What the running agent reports about itself: one plain {@linkcode AgentSnapshot} (built by
 * the agent, served as JSON by the metrics endpoint and read by `ftagent status`), its
 * Prometheus metric families, and the health verdict. Pure: time is in the snapshot.
 *
 * @module
 */

import type { MirrorSnapshot } from "../detect/mod.ts";
import { flowMetrics, type FlowSnapshot } from "./flow_metrics.ts";
import { mirrorMetrics } from "./mirror_metrics.ts";
import type { OpenIncident } from "./incident_tally.ts";
import type { SecondRates } from "./last_second.ts";
import type { MetricFamily, Sample } from "./prometheus.ts";

/** Longest gap (ms) between capture-loop ticks before the agent counts as stalled. */
export const STALL_MS = 5000;

/** The reporting layer's counters (outbox and senders), when it runs. */
export interface ReportingSnapshot {
  /** Entries waiting, and entries dropped by kind. */
  outbox: { depth: number; dropped: Record<string, number> };
  /** Each channel's sender: deliveries, failures, dead letters, breaker, last error. */
  senders: {
    channel: string;
    sent: number;
    failed: number;
    dead: number;
    breaker: string;
    lastError: string | null;
  }[];
  /** Failed control-plane API calls. */
  apiErrors: number;
  /** When the server suspended this node (ISO-8601; reporting and mitigation paused), or null. */
  suspendedSince?: string | null;
}

/** The state database's write queue (see agent/state/state_writer.ts). */
export interface StateSnapshot {
  /** Writes waiting (a fault: locked, full, failing disk). */
  pending: number;
  /** Writes done since start. */
  written: number;
  /** Writes refused since start (the queue was full). */
  refused: number;
  /** Writes failed for good since start (a bad statement, not a fault of the database). */
  failed: number;
  /** The fault the writes wait on, or null. */
  fault: string | null;
}

/** Everything the metrics endpoint serves, at one instant. */
export interface AgentSnapshot {
  /** The agent's version. */
  version: string;
  /** Wall time of the snapshot (ms). */
  nowMs: number;
  /** Wall time the process started (ms). */
  startMs: number;
  /** Wall time of the last capture-loop tick, or of packets flowing (ms); null before. */
  lastTickMs: number | null;
  /** The capture source and its counters. */
  capture: {
    running: boolean;
    source: string;
    packets: number;
    bytes: number;
    malformed: number;
    /** Kernel drops: capture buffer full, and the interface or driver. */
    dropped: number;
    ifDropped: number;
    /** Kernel sampling: 1 in this many packets is read, counts scaled by it (1: all; absent: 1). */
    sampleRate?: number;
  };
  /** The interface's last closed second. */
  rates: SecondRates;
  /** The interface's thresholds now, by rate name (null: off). */
  thresholds: Record<string, number | null>;
  /** The learned baseline: ready or learning, seconds learned, levels by rate name. */
  baseline: { ready: boolean; samples: number; levels: Record<string, number> };
  /** Targets not idle, and the interface. */
  targets: { target: string; state: string; pps: number; bps: number; incident: string | null }[];
  /** Incidents open now, and opened since start by family. */
  incidents: { open: OpenIncident[]; totalByFamily: Record<string, number> };
  /** Each listener's queue: waiting, handled, dropped, failed. */
  listeners: { name: string; queued: number; handled: number; dropped: number; failed: number }[];
  /** PCAP evidence counters (null: PCAP off). */
  pcap: { files: number; droppedFrames: number; stoppedReason: string | null } | null;
  /** The reporting layer's counters (null: not running). */
  reporting: ReportingSnapshot | null;
  /** The state database's write queue (null: no database). */
  state: StateSnapshot | null;
  /** The flow collector's counters (null or absent: capturing, not collecting flows). */
  flow?: FlowSnapshot | null;
  /** Mirror mode's targets (null or absent: not mirror mode). */
  mirror?: MirrorSnapshot | null;
  /** The process: resident memory, heap in use, CPU seconds. */
  process: { rssBytes: number; heapBytes: number; cpuSeconds: number };
}

/** What is wrong with the agent (empty: healthy). */
export function healthProblems(s: AgentSnapshot): string[] {
  const problems: string[] = [];
  if (!s.capture.running) problems.push(`capture on ${s.capture.source} is not running`);
  if (s.lastTickMs === null) {
    if (s.nowMs - s.startMs > STALL_MS) problems.push("the capture loop has not started");
  } else if (s.nowMs - s.lastTickMs > STALL_MS) {
    problems.push(
      `the capture loop is stalled: last tick ${
        ((s.nowMs - s.lastTickMs) / 1000).toFixed(1)
      } s ago`,
    );
  }
  return problems;
}

/** The Prometheus metric families of a snapshot. */
export function agentMetrics(s: AgentSnapshot): MetricFamily[] {
  const f: MetricFamily[] = [];
  const gauge = (name: string, help: string, samples: Sample[] | number) =>
    f.push({ name, help, type: "gauge", samples: toSamples(samples) });
  const counter = (name: string, help: string, samples: Sample[] | number) =>
    f.push({ name, help, type: "counter", samples: toSamples(samples) });
  const by = (label: string, values: Record<string, number>): Sample[] =>
    Object.entries(values).map(([k, value]) => ({ labels: { [label]: k }, value }));

  gauge("ftagent_build_info", "Version of the running agent.", [{
    labels: { version: s.version },
    value: 1,
  }]);
  gauge("ftagent_healthy", "1 when capture runs and the loop is alive (as /health).", [{
    value: healthProblems(s).length === 0 ? 1 : 0,
  }]);
  gauge("ftagent_packets_per_second", "Interface packet rate over the last second.", s.rates.pps);
  gauge(
    "ftagent_bytes_per_second",
    "Interface rate in bytes/s over the last second (bits/s divided by 8).",
    s.rates.bps / 8,
  );
  gauge(
    "ftagent_protocol_packets_per_second",
    "Interface packet rate over the last second by protocol class.",
    by("protocol", s.rates.protocols),
  );
  gauge(
    "ftagent_threshold",
    "Interface detection threshold by rate (pps in packets/s, bps in bits/s).",
    by("rate", finiteOnly(s.thresholds)),
  );
  gauge(
    "ftagent_baseline_ready",
    "1 once the learned baseline is ready.",
    s.baseline.ready ? 1 : 0,
  );
  gauge("ftagent_baseline_samples", "Seconds in the rolling baseline.", s.baseline.samples);
  gauge(
    "ftagent_baseline",
    "Learned baseline level by rate (the level thresholds multiply).",
    by("rate", s.baseline.levels),
  );
  const states: Record<string, number> = {};
  for (const t of s.targets) states[t.state] = (states[t.state] ?? 0) + 1;
  gauge(
    "ftagent_targets",
    "Tracked targets (the interface and destinations) by state.",
    by("state", states),
  );
  const open: Record<string, number> = {};
  for (const i of s.incidents.open) open[i.family] = (open[i.family] ?? 0) + 1;
  gauge("ftagent_incidents_open", "Incidents open now.", s.incidents.open.length);
  gauge(
    "ftagent_incidents_open_by_family",
    "Incidents open now by attack family.",
    by("family", open),
  );
  counter(
    "ftagent_incidents_total",
    "Incidents opened since the agent started by attack family.",
    by("family", s.incidents.totalByFamily),
  );
  gauge("ftagent_capture_running", "1 while capture runs.", s.capture.running ? 1 : 0);
  counter(
    "ftagent_capture_packets_total",
    "Packets counted (sampled frames times the rate).",
    s.capture.packets,
  );
  counter("ftagent_capture_bytes_total", "Wire bytes captured.", s.capture.bytes);
  counter(
    "ftagent_capture_malformed_packets_total",
    "Frames the decoder rejected.",
    s.capture.malformed,
  );
  counter("ftagent_capture_dropped_packets_total", "Frames the kernel dropped.", [
    { labels: { reason: "buffer" }, value: s.capture.dropped },
    { labels: { reason: "interface" }, value: s.capture.ifDropped },
  ]);
  gauge(
    "ftagent_capture_sample_rate",
    "Kernel sampling in use: 1 in this many packets is read, counts are scaled by it (1: all).",
    s.capture.sampleRate ?? 1,
  );
  if (s.lastTickMs !== null) {
    gauge(
      "ftagent_loop_last_tick_age_seconds",
      "Seconds since the capture loop's last tick.",
      Math.max(0, (s.nowMs - s.lastTickMs) / 1000),
    );
  }
  const lane = (key: "queued" | "dropped" | "failed") =>
    s.listeners.map((l) => ({ labels: { listener: l.name }, value: l[key] }));
  gauge("ftagent_listener_queued_events", "Incident events waiting per listener.", lane("queued"));
  counter(
    "ftagent_listener_dropped_events_total",
    "Incident events dropped per listener (queue full).",
    lane("dropped"),
  );
  counter(
    "ftagent_listener_failed_events_total",
    "Incident events a listener failed on.",
    lane("failed"),
  );
  if (s.pcap !== null) {
    counter("ftagent_pcap_files_total", "Incident captures opened.", s.pcap.files);
    counter(
      "ftagent_pcap_dropped_frames_total",
      "Frames dropped from incident captures.",
      s.pcap.droppedFrames,
    );
    gauge(
      "ftagent_pcap_writing",
      "0 when PCAP writing stopped (disk limits).",
      s.pcap.stoppedReason === null ? 1 : 0,
    );
  }
  if (s.reporting !== null) reportingMetrics(s.reporting, gauge, counter);
  if (s.flow) f.push(...flowMetrics(s.flow, s.nowMs));
  f.push(...mirrorMetrics(s.mirror ?? null));
  if (s.state !== null) {
    gauge("ftagent_state_writes_pending", "State database writes waiting.", s.state.pending);
    counter("ftagent_state_writes_total", "State database writes by result.", [
      { labels: { result: "written" }, value: s.state.written },
      { labels: { result: "refused" }, value: s.state.refused },
      { labels: { result: "failed" }, value: s.state.failed },
    ]);
    gauge(
      "ftagent_state_fault",
      "1 while the state database is locked, full or failing (writes wait in memory).",
      s.state.fault === null ? 0 : 1,
    );
  }
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", s.process.rssBytes);
  gauge("ftagent_heap_bytes", "JavaScript heap in use in bytes.", s.process.heapBytes);
  counter(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    s.process.cpuSeconds,
  );
  gauge(
    "process_start_time_seconds",
    "Start time of the process since the epoch in seconds.",
    s.startMs / 1000,
  );
  gauge(
    "ftagent_uptime_seconds",
    "Seconds since the agent started.",
    Math.max(0, (s.nowMs - s.startMs) / 1000),
  );
  return f;
}

type Add = (name: string, help: string, samples: Sample[] | number) => void;

function reportingMetrics(r: ReportingSnapshot, gauge: Add, counter: Add): void {
  gauge("ftagent_outbox_depth", "Events waiting in the outbox.", r.outbox.depth);
  counter(
    "ftagent_outbox_dropped_total",
    "Events dropped from the full outbox by kind.",
    Object.entries(r.outbox.dropped).map(([kind, value]) => ({ labels: { kind }, value })),
  );
  const lane = (key: "sent" | "failed" | "dead") =>
    r.senders.map((x) => ({ labels: { channel: x.channel }, value: x[key] }));
  counter("ftagent_sender_sent_total", "Events delivered per channel.", lane("sent"));
  counter("ftagent_sender_failed_total", "Failed delivery attempts per channel.", lane("failed"));
  counter(
    "ftagent_sender_dead_total",
    "Events given up on per channel (permanent errors).",
    lane("dead"),
  );
  gauge(
    "ftagent_sender_circuit_open",
    "1 while a channel's circuit breaker is open or half-open.",
    r.senders.map((x) => ({
      labels: { channel: x.channel },
      value: x.breaker === "closed" ? 0 : 1,
    })),
  );
  counter("ftagent_api_errors_total", "Failed Flowtriq API calls.", r.apiErrors);
  gauge(
    "ftagent_suspended",
    "1 while the server suspends this node (no incidents, metrics or mitigation).",
    r.suspendedSince ? 1 : 0,
  );
}

function toSamples(samples: Sample[] | number): Sample[] {
  return typeof samples === "number" ? [{ value: samples }] : samples;
}

function finiteOnly(values: Record<string, number | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (v !== null && Number.isFinite(v)) out[k] = v;
  return out;
}
