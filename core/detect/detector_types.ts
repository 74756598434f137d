/**
 * What a {@linkcode Detector} is given and what it reports besides incident events: its
 * options, the notices of targets held back, and the status of each target.
 *
 * @module
 */

import type { Baseline } from "./baseline.ts";
import type { IncidentEvent } from "./incident.ts";
import type { TargetState } from "./incident_machine.ts";

/** Options of a {@linkcode Detector}. */
export interface DetectorOptions {
  /** Receives every incident event; an exception there is counted, never breaks detection. */
  onEvent: (event: IncidentEvent) => void;
  /** A baseline to continue (restored state); a new one otherwise. */
  baseline?: Baseline;
  /** Mixed into incident ids so two agents (or runs) never share one. */
  idSeed?: string;
  /** Hour-of-day profile offset (local time = UTC + this). */
  utcOffsetMinutes?: number;
  /** Hears when a suspected target is held back because its traffic looks legitimate. */
  onHeld?: (notice: HeldNotice) => void;
}

/** A suspected target not opened (yet) because its traffic looks legitimate. */
export interface HeldNotice {
  /** Always `"held"`. */
  type: "held";
  /** `"interface"` or the destination address. */
  target: string;
  /** Packet time of the decision, ISO-8601 UTC. */
  at: string;
  /** Why, with the numbers. */
  reason: string;
}

/** What one target's rates look like now (for status and metrics). */
export interface TargetStatus {
  /** `"interface"` or the destination address. */
  target: string;
  /** Where its machine stands. */
  state: TargetState;
  /** Packets per second over the last second. */
  pps: number;
  /** Bits per second over the last second. */
  bps: number;
  /** Thresholds in force by rate name (null: off). */
  thresholds: Record<string, number | null>;
  /** The open incident's id, or null. */
  incident: string | null;
  /** Why a suspected target is held back (legitimate-looking traffic), or null. */
  held: string | null;
}

/** Mirror mode's targets at one instant (for status and metrics). */
export interface MirrorSnapshot {
  /** Address rows in use (`mirror_tracked_destinations` is the capacity). */
  tracked: number;
  /** Address rows in all. */
  capacity: number;
  /** Untracked addresses given a row since start, for being busier than a tracked one. */
  promotions: number;
  /** Tracked addresses that lost their row to a promoted one since start. */
  evictions: number;
  /** Each protected prefix (a `mirror_subnets` entry or a named network, most specific first). */
  prefixes: {
    /** The CIDR. */
    prefix: string;
    /** Its name in `networks`, or null. */
    network: string | null;
    /** Packets per second to it over the last second. */
    pps: number;
  }[];
}
