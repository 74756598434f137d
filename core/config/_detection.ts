/**
 * Config keys of detection: thresholds, floors, confirmation, hold-down and cooldown; their
 * zod shape (validation and defaults) and their type. `config.ts` merges them into the whole
 * config.
 *
 * @module
 */

import { z } from "zod";
import { canonicalCidr, MAX_LOCAL_NETWORKS } from "../packet/mod.ts";

const nonNegative = z.number().finite().nonnegative();
const seconds = z.number().finite().min(0.1).max(86400);
/** Most `ip_blocklist` indicators (the server's bound too). */
const MAX_BLOCKLIST = 50_000;
const indicator = z.string().refine(
  (s) => canonicalCidr(s) !== null,
  "expected an address or CIDR",
);

/** Validation and defaults of the detection keys. */
export const DetectionShape = {
  dynamic_threshold: z.boolean().default(true),
  baseline_window_minutes: z.number().int().min(1).max(1440).default(60),
  threshold_multiplier: z.number().finite().min(1).max(1000).default(3.0),
  pps_threshold: nonNegative.default(0),
  bps_threshold: nonNegative.default(0),
  syn_pps_threshold: nonNegative.default(0),
  udp_pps_threshold: nonNegative.default(0),
  icmp_pps_threshold: nonNegative.default(0),
  fragment_pps_threshold: nonNegative.default(0),
  min_pps_threshold: nonNegative.default(20000),
  min_bps_threshold: nonNegative.default(200_000_000),
  min_syn_pps_threshold: nonNegative.default(5000),
  min_udp_pps_threshold: nonNegative.default(20000),
  min_icmp_pps_threshold: nonNegative.default(2000),
  min_fragment_pps_threshold: nonNegative.default(2000),
  fast_open_multiple: z.number().finite().min(1).max(100).default(3),
  confirm_seconds: seconds.default(3),
  bulk_confirm_seconds: seconds.default(15),
  attack_holddown: seconds.default(10),
  attack_cooldown: seconds.default(30),
  incident_update_seconds: z.number().finite().min(5).max(3600).default(5),
  max_tracked_destinations: z.number().int().min(1).max(1024).default(64),
  protected_networks: z.array(
    z.string().refine((s) => canonicalCidr(s) !== null, "expected an address or CIDR"),
  ).max(MAX_LOCAL_NETWORKS).default([]),
  detect_outbound: z.boolean().default(false),
  velocity_detection: z.boolean().default(false),
  ip_blocklist: z.array(z.union([indicator, z.object({ indicator }).transform((o) => o.indicator)]))
    .max(MAX_BLOCKLIST).default([]),
} satisfies z.ZodRawShape;

/** Detection settings, every key present (the defaults in parentheses). */
export interface DetectionConfig {
  /** Thresholds follow the learned baseline (true) or the static `*_threshold` keys (false). */
  dynamic_threshold: boolean;
  /** Span of the rolling baseline, minutes (60). */
  baseline_window_minutes: number;
  /** Threshold = baseline level x this, never below the floors (3). */
  threshold_multiplier: number;
  /** Static packets/s threshold when `dynamic_threshold` is false (0 = off). */
  pps_threshold: number;
  /** Static bits/s threshold when `dynamic_threshold` is false (0 = off). */
  bps_threshold: number;
  /** Static SYN/s threshold when `dynamic_threshold` is false (0 = off). */
  syn_pps_threshold: number;
  /** Static UDP packets/s threshold when `dynamic_threshold` is false (0 = off). */
  udp_pps_threshold: number;
  /** Static ICMP packets/s threshold when `dynamic_threshold` is false (0 = off). */
  icmp_pps_threshold: number;
  /** Static fragments/s threshold when `dynamic_threshold` is false (0 = off). */
  fragment_pps_threshold: number;
  /**
   * Floor under the dynamic packets/s threshold, and the threshold before the baseline is
   * ready (20000; 0 = none).
   */
  min_pps_threshold: number;
  /** Floor under the dynamic bits/s threshold (200 Mbit/s; 0 = none). */
  min_bps_threshold: number;
  /** Floor under the dynamic SYN/s threshold (5000; 0 = none). */
  min_syn_pps_threshold: number;
  /** Floor under the dynamic UDP packets/s threshold (20000; 0 = none). */
  min_udp_pps_threshold: number;
  /** Floor under the dynamic ICMP packets/s threshold (2000; 0 = none). */
  min_icmp_pps_threshold: number;
  /** Floor under the dynamic fragments/s threshold (2000; 0 = none). */
  min_fragment_pps_threshold: number;
  /** Attack-shaped traffic at or above this multiple of a threshold opens at once (3). */
  fast_open_multiple: number;
  /** Seconds attack-shaped traffic must stay over a threshold below the fast multiple (3). */
  confirm_seconds: number;
  /** Seconds traffic shaped like a legitimate bulk transfer must stay over a threshold (15). */
  bulk_confirm_seconds: number;
  /** Seconds under every threshold before an incident resolves (10). */
  attack_holddown: number;
  /** Seconds after a resolve before a new incident on the same target may open (30). */
  attack_cooldown: number;
  /** Seconds between incident updates (5). */
  incident_update_seconds: number;
  /** Destinations tracked one by one, each with its own rates and machine (64). */
  max_tracked_destinations: number;
  /**
   * The addresses this agent protects (CIDRs or addresses): traffic to them is inbound, traffic
   * they send elsewhere is outbound and never opens an incident (`[]`: the capture interface's
   * own addresses, refreshed every minute; in a replay, every packet counts as inbound).
   */
  protected_networks: string[];
  /**
   * Also watch for floods the protected addresses send themselves (a compromised host): SYNs,
   * UDP or pings nobody answers, over the `min_*` floors of their kinds; reported as incidents
   * with target "outbound" and direction "outbound", never mitigated (false).
   */
  detect_outbound: boolean;
  /**
   * The ramp trigger (false): an incident also opens when packets/s rise more than 5x the
   * baseline mean within one second and exceed 2x that mean, even below the floor-based
   * thresholds. The server's `velocity_detection` overrides it.
   */
  velocity_detection: boolean;
  /**
   * Known-bad sources (addresses or CIDRs, at most 50,000; `{indicator}` objects too): flagged
   * in incidents (`threat_intel`) and blocked first by auto-mitigation. The server's
   * `ip_blocklist` is added to them.
   */
  ip_blocklist: string[];
}
