/**
 * What mirror mode reports about its targets (the detector's {@linkcode MirrorSnapshot}, part
 * of the agent's snapshot): its Prometheus metric families and its lines in `ftagent status`.
 * The heartbeat carries none of it. Pure.
 *
 * @module
 */

import type { MirrorSnapshot } from "../detect/mod.ts";
import { formatPps } from "./human_units.ts";
import type { MetricFamily, Sample } from "./prometheus.ts";

/**
 * The Prometheus families of mirror mode (`ftagent_mirror_*`): `ftagent_mirror_mode` always
 * (0: off), the rest in mirror mode only. Per-prefix rates are labelled by the configured
 * prefixes alone (at most 256), with their network name (empty: none).
 */
export function mirrorMetrics(s: MirrorSnapshot | null): MetricFamily[] {
  const f: MetricFamily[] = [];
  const add = (type: "counter" | "gauge", name: string, help: string, v: Sample[] | number) =>
    f.push({ name, help, type, samples: typeof v === "number" ? [{ value: v }] : v });
  add("gauge", "ftagent_mirror_mode", "1 in mirror mode (mirror_mode: watching networks).", [{
    value: s === null ? 0 : 1,
  }]);
  if (s === null) return f;
  add(
    "gauge",
    "ftagent_mirror_tracked_destinations",
    "Destination addresses tracked one by one now.",
    s.tracked,
  );
  add(
    "gauge",
    "ftagent_mirror_tracked_destinations_capacity",
    "Destination addresses that can be tracked (mirror_tracked_destinations).",
    s.capacity,
  );
  add(
    "counter",
    "ftagent_mirror_promotions_total",
    "Untracked addresses given a row for being busier than a tracked one (table full).",
    s.promotions,
  );
  add(
    "counter",
    "ftagent_mirror_evictions_total",
    "Tracked addresses that lost their row to a promoted one.",
    s.evictions,
  );
  add("gauge", "ftagent_mirror_prefixes", "Protected prefixes watched.", s.prefixes.length);
  add(
    "gauge",
    "ftagent_mirror_prefix_packets_per_second",
    "Packet rate to each protected prefix over the last second.",
    s.prefixes.map((p) => ({
      labels: { prefix: p.prefix, network: p.network ?? "" },
      value: p.pps,
    })),
  );
  return f;
}

/** Prefixes `ftagent status` lists one a line (`--json` has them all). */
const STATUS_PREFIXES = 20;

/** Mirror mode's lines of `ftagent status`. */
export function mirrorStatusLines(s: MirrorSnapshot): string[] {
  const lines = [
    `mirror      on: ${s.tracked}/${s.capacity} addresses tracked, ${s.promotions} promoted, ` +
    `${s.evictions} evicted; ${s.prefixes.length} prefixes`,
  ];
  for (const p of s.prefixes.slice(0, STATUS_PREFIXES)) {
    lines.push(`  ${p.prefix}${p.network === null ? "" : ` (${p.network})`} ${formatPps(p.pps)}`);
  }
  const more = s.prefixes.length - STATUS_PREFIXES;
  if (more > 0) lines.push(`  and ${more} more (ftagent status --json lists them all)`);
  return lines;
}
