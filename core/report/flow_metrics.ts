/**
 * What the flow collector reports about itself: one plain {@linkcode FlowSnapshot} (built by
 * the flow source, part of the agent's snapshot), the heartbeat's `flow_active`, its
 * Prometheus metric families and its lines in `ftagent status`. Pure: time is passed in.
 *
 * @module
 */

import type { MetricFamily } from "./prometheus.ts";

/**
 * A flow source counts as active while its last valid datagram is at most this old (ms): two
 * heartbeats, and longer than the 60 s active timeout routers export long flows at.
 */
export const FLOW_ACTIVE_MS = 120_000;

/** The flow collector's counters at one instant. */
export interface FlowSnapshot {
  /** `flow PROTOCOL BIND:PORT` (the socket bound now). */
  source: string;
  /** Protocol read (`auto`, `sflow`, `netflow_v5`, `netflow_v9`, `ipfix`). */
  protocol: string;
  /** UDP port bound now. */
  port: number;
  /** The collector reads its socket. */
  running: boolean;
  /** Wall time of the last datagram that decoded (ms), null before one. */
  lastValidMs: number | null;
  /** Datagrams received (from any exporter). */
  datagrams: number;
  /** Datagrams from exporters not in `flow_source_ips`, dropped unread. */
  notAllowed: number;
  /** NetFlow/IPFIX flow records decoded. */
  flows: number;
  /** sFlow packet samples decoded. */
  samples: number;
  /** sFlow interface counter records decoded. */
  counters: number;
  /** Packets the records and samples stand for (scaled by the sampling rate). */
  packets: number;
  /** Malformed datagrams, sets and records by reason (every reason, 0 included: see
   * `FLOW_DROP_NAMES` of core/flow). */
  malformed: Record<string, number>;
  /** Templates remembered now (over all exporters). */
  templates: number;
  /** Exporters remembered now. */
  exporters: number;
  /** Data sets held for their template now. */
  heldSets: number;
  /** Datagrams the kernel dropped on the collector's socket (its receive buffer was full). */
  kernelDrops: number;
  /** Sampling rate applied last: `flow_sample_rate`, else the exporter's (0 before a record). */
  sampleRate: number;
  /** Times the collector moved to a new socket or protocol (server `flow` block, reload). */
  restarts: number;
}

/** The heartbeat's `flow_active`: a running source with a valid datagram in the last 120 s. */
export function flowActive(s: FlowSnapshot | null | undefined, nowMs: number): boolean {
  return s != null && s.running && s.lastValidMs !== null &&
    nowMs - s.lastValidMs <= FLOW_ACTIVE_MS;
}

/** The Prometheus families of the flow collector (`ftagent_flow_*`). */
export function flowMetrics(s: FlowSnapshot, nowMs: number): MetricFamily[] {
  const f: MetricFamily[] = [];
  const add = (
    type: "counter" | "gauge",
    name: string,
    help: string,
    samples: { labels?: Record<string, string>; value: number }[] | number,
  ) =>
    f.push({
      name,
      help,
      type,
      samples: typeof samples === "number" ? [{ value: samples }] : samples,
    });
  add("gauge", "ftagent_flow_active", "1 while flows arrive (a valid datagram in 120 s).", [{
    value: flowActive(s, nowMs) ? 1 : 0,
  }]);
  add("counter", "ftagent_flow_datagrams_total", "Flow datagrams received.", s.datagrams);
  add(
    "counter",
    "ftagent_flow_not_allowed_datagrams_total",
    "Flow datagrams from exporters not in flow_source_ips (dropped unread).",
    s.notAllowed,
  );
  add(
    "counter",
    "ftagent_flow_kernel_dropped_datagrams_total",
    "Flow datagrams the kernel dropped (socket receive buffer full).",
    s.kernelDrops,
  );
  add("counter", "ftagent_flow_records_total", "Flow records decoded by kind.", [
    { labels: { kind: "flow" }, value: s.flows },
    { labels: { kind: "sample" }, value: s.samples },
    { labels: { kind: "counters" }, value: s.counters },
  ]);
  add(
    "counter",
    "ftagent_flow_packets_total",
    "Packets the flow records stand for (scaled by the sampling rate).",
    s.packets,
  );
  add(
    "counter",
    "ftagent_flow_malformed_total",
    "Malformed flow datagrams, sets and records by reason.",
    Object.entries(s.malformed).map(([reason, value]) => ({ labels: { reason }, value })),
  );
  add("gauge", "ftagent_flow_templates", "NetFlow v9/IPFIX templates cached.", s.templates);
  add("gauge", "ftagent_flow_exporters", "Flow exporters remembered.", s.exporters);
  add("gauge", "ftagent_flow_held_sets", "Data sets waiting for their template.", s.heldSets);
  add(
    "gauge",
    "ftagent_flow_sample_rate",
    "Sampling rate applied last (configured, else the exporter's; 0 before a record).",
    s.sampleRate,
  );
  add(
    "counter",
    "ftagent_flow_restarts_total",
    "Times the flow collector moved to a new port or protocol.",
    s.restarts,
  );
  if (s.lastValidMs !== null) {
    add(
      "gauge",
      "ftagent_flow_last_datagram_age_seconds",
      "Seconds since the last valid flow datagram.",
      Math.max(0, (nowMs - s.lastValidMs) / 1000),
    );
  }
  return f;
}

/** The flow collector's lines of `ftagent status`. */
export function flowStatusLines(s: FlowSnapshot, nowMs: number): string[] {
  const bad = Object.entries(s.malformed).filter(([, n]) => n > 0);
  const age = s.lastValidMs === null
    ? "no valid datagram yet"
    : `last valid datagram ${((nowMs - s.lastValidMs) / 1000).toFixed(1)} s ago`;
  return [
    `flows       ${flowActive(s, nowMs) ? "active" : "inactive"} on ${s.source}, ${age}`,
    `  ${s.datagrams} datagrams (${s.notAllowed} not allowed, ${s.kernelDrops} dropped by the ` +
    `kernel), ${s.flows} flows, ` +
    `${s.samples} samples, ${s.counters} counter records, ${s.packets} packets; ` +
    `${s.exporters} exporters, ${s.templates} templates, sampling 1:${s.sampleRate || "?"}`,
    `  malformed ${
      bad.length === 0 ? "none" : bad.map(([reason, n]) => `${reason} ${n}`).join(", ")
    }`,
  ];
}
