/**
 * The state of one target (the interface or a destination) between incidents and during one:
 * when to suspect, open, update and resolve, evaluated every 100 ms of packet time.
 *
 * @module
 */

import type { DetectionConfig } from "../config/mod.ts";
import { RATE_NAMES } from "./incident.ts";

/** Where a target's machine stands. */
export type TargetState = "idle" | "suspected" | "active" | "holddown" | "cooldown";

/** The machine's states, as numbers (indexes of {@linkcode TARGET_STATE_NAMES}). */
export const MachineState = {
  IDLE: 0,
  SUSPECTED: 1,
  ACTIVE: 2,
  HOLDDOWN: 3,
  COOLDOWN: 4,
} as const;

/** Name of each {@linkcode MachineState}. */
export const TARGET_STATE_NAMES: readonly TargetState[] = [
  "idle",
  "suspected",
  "active",
  "holddown",
  "cooldown",
];

/** What a {@linkcode IncidentMachine.step} did, for the detector to act on. */
export const MachineStep = {
  /** Nothing to do. */
  NONE: 0,
  /** Idle -> suspected: start collecting the target's evidence. */
  SUSPECT: 1,
  /** Suspected -> idle: the excess ended before it was confirmed. */
  RELEASE: 2,
  /** Suspected -> active: open an incident ({@linkcode IncidentMachine.rule} says why). */
  OPEN: 3,
  /** An update event is due. */
  UPDATE: 4,
  /** Holddown -> cooldown: resolve the incident (it ended at {@linkcode IncidentMachine.lastOverUs}). */
  RESOLVE: 5,
} as const;

/** What a machine asks about its target's traffic, only when a rule needs it. */
export interface TargetTraffic {
  /**
   * Whether other targets own the excess of rate `trigger` (the interface's machine defers to
   * the destinations that carry it; a destination's never defers).
   */
  explainedElsewhere(trigger: number): boolean;
  /**
   * When the target's last second looks like legitimate TCP sessions (handshakes completed,
   * content flowing back: a flash crowd), the numbers that say so in words; else null.
   */
  sessionShape(): string | null;
  /**
   * When the target's last second looks like legitimate flows (a bulk transfer, a few two-way
   * flows, known clients in their usual mix), the numbers that say so in words; else null.
   */
  flowShape(): string | null;
  /** Rate `trigger` over the last 300 ms, in multiples of its threshold. */
  shortRatio(trigger: number): number;
}

/** A flood at exactly the fast multiple may count a packet less in a short span's slots. */
const FAST_TOLERANCE = 0.97;
/** Once held as legitimate, attack-shaped seconds before a fast open (a shape may flicker). */
const HELD_SETTLE_SECONDS = 1;
/** Seconds between two evaluations (one slot of the rate table). */
const EVALUATION_SECONDS = 0.1;

/**
 * One target's incident machine: idle -> suspected -> active <-> holddown -> cooldown -> idle.
 * Its rules, each mirrored by a test:
 *
 * - Idle: a rate over its threshold makes the target suspected, unless the interface's excess
 *   is explained by destinations ({@linkcode TargetTraffic.explainedElsewhere}).
 * - Suspected: back to idle as soon as no rate is over, or destinations explain the excess
 *   (they carry it now that their own rates rose). Traffic shaped like legitimate TCP
 *   sessions ({@linkcode TargetTraffic.sessionShape}) never opens while it keeps that shape
 *   ({@linkcode held} says why). Traffic shaped like legitimate flows
 *   ({@linkcode TargetTraffic.flowShape}) opens only after `bulk_confirm_seconds` over, and the
 *   rule says it was opened anyway. Other traffic opens at once when its rate over the last
 *   300 ms is at least `fast_open_multiple` x the threshold (3% allowance for slot edges; once
 *   held as legitimate, only after 1 s of attack-shaped traffic, as shapes flicker); else
 *   once its excess over the threshold, summed over the evaluations, reaches
 *   `confirm_seconds / 3` threshold-seconds (1.5x opens after about 2 s of it, 2x after 1 s,
 *   with the defaults), and at the latest after `confirm_seconds` of attack-shaped traffic
 *   over (seconds held as legitimate do not count).
 * - Active: any rate over its threshold keeps it active; none over moves it to holddown, and
 *   `attack_holddown` seconds after the last second over it resolves into cooldown.
 * - Active or holddown: an update is due every `incident_update_seconds`.
 * - Cooldown: nothing opens for `attack_cooldown` seconds after a resolve, then idle.
 * - {@linkcode finish} (end of the traffic) resolves an open incident and releases a suspected
 *   target.
 */
export class IncidentMachine {
  /** The current {@linkcode MachineState}. */
  state: number = MachineState.IDLE;
  /** Packet time (µs) the target went over a threshold (the incident's start). */
  overSinceUs = 0;
  /** Index in {@linkcode RATE_NAMES} of the rate furthest over its threshold. */
  trigger = 0;
  /** Why the incident opened, in words (set by an {@linkcode MachineStep.OPEN}). */
  rule = "";
  /** Why a suspected target was not opened (its legitimate shape), or "". */
  held = "";
  /** Excess over the threshold summed over the attack-shaped evaluations (threshold-seconds). */
  excess = 0;
  /** Seconds of attack-shaped evaluations (not held) since the target was suspected. */
  attackSeconds = 0;
  /** Packet time (µs) of the last evaluation with a rate over its threshold while open. */
  lastOverUs = 0;
  /** Packet time (µs) of the last open or update event. */
  lastEventUs = 0;
  /** End of the cooldown (µs). */
  cooldownUntilUs = 0;

  /**
   * One evaluation at packet time `tUs`: `ratio` is the largest rate/threshold ratio and
   * `trigger` its rate. Returns what happened (a {@linkcode MachineStep}).
   */
  step(
    cfg: DetectionConfig,
    tUs: number,
    ratio: number,
    trigger: number,
    traffic: TargetTraffic,
  ): number {
    const over = ratio > 1;
    switch (this.state) {
      case MachineState.COOLDOWN:
        if (tUs < this.cooldownUntilUs) return MachineStep.NONE;
        this.state = MachineState.IDLE;
      // falls through
      case MachineState.IDLE:
        if (!over || traffic.explainedElsewhere(trigger)) return MachineStep.NONE;
        this.state = MachineState.SUSPECTED;
        this.overSinceUs = tUs;
        this.trigger = trigger; // (held, excess and attackSeconds are 0 in idle: see reset)
        return MachineStep.SUSPECT;
      case MachineState.SUSPECTED:
        // (Destinations may take the excess over while their own rates rise.)
        if (!over || traffic.explainedElsewhere(trigger)) {
          this.reset();
          return MachineStep.RELEASE;
        }
        this.trigger = trigger;
        return this.#confirm(cfg, tUs, ratio, traffic);
      case MachineState.ACTIVE:
      case MachineState.HOLDDOWN:
        if (over) {
          this.lastOverUs = tUs;
          this.state = MachineState.ACTIVE;
        } else {
          this.state = MachineState.HOLDDOWN;
          if (tUs - this.lastOverUs >= cfg.attack_holddown * 1e6) {
            this.#cool(cfg, tUs);
            return MachineStep.RESOLVE;
          }
        }
        if (tUs - this.lastEventUs >= cfg.incident_update_seconds * 1e6) {
          this.lastEventUs = tUs;
          return MachineStep.UPDATE;
        }
    }
    return MachineStep.NONE;
  }

  /**
   * End of the traffic at packet time `tUs`: an open incident resolves (returns
   * {@linkcode MachineStep.RESOLVE}), a suspected target is released ({@linkcode MachineStep.RELEASE}).
   */
  finish(cfg: DetectionConfig, tUs: number): number {
    if (this.state === MachineState.ACTIVE || this.state === MachineState.HOLDDOWN) {
      this.#cool(cfg, Math.max(tUs, this.lastOverUs));
      return MachineStep.RESOLVE;
    }
    if (this.state === MachineState.SUSPECTED) {
      this.reset();
      return MachineStep.RELEASE;
    }
    return MachineStep.NONE;
  }

  /** Whether an incident is open (active or holddown). */
  get open(): boolean {
    return this.state === MachineState.ACTIVE || this.state === MachineState.HOLDDOWN;
  }

  /** Whether the target is suspected or under attack (the baseline learns from neither). */
  get busy(): boolean {
    return this.state !== MachineState.IDLE && this.state !== MachineState.COOLDOWN;
  }

  /** Back to idle, forgetting everything. */
  reset(): void {
    this.state = MachineState.IDLE;
    this.overSinceUs = 0;
    this.cooldownUntilUs = 0;
    this.trigger = 0;
    this.rule = "";
    this.held = "";
    this.excess = 0;
    this.attackSeconds = 0;
  }

  /** Suspected: opens now, or keeps waiting, by the traffic's shape. */
  #confirm(cfg: DetectionConfig, tUs: number, ratio: number, traffic: TargetTraffic): number {
    const over = (tUs - this.overSinceUs) / 1e6;
    const name = RATE_NAMES[this.trigger];
    const session = traffic.sessionShape();
    if (session !== null) {
      this.held = `not opened: ${name} over threshold but shaped like legitimate sessions ` +
        `(${session})`;
      return MachineStep.NONE;
    }
    const flow = traffic.flowShape();
    if (flow !== null) {
      this.held = `not opened yet: ${name} over threshold but shaped like legitimate flows ` +
        `(${flow})`;
      if (over < cfg.bulk_confirm_seconds) return MachineStep.NONE;
      return this.#open(
        tUs,
        `sustained: ${name} over threshold for ${over.toFixed(1)} s although shaped like ` +
          `legitimate flows (${flow})`,
      );
    }
    const fast = traffic.shortRatio(this.trigger);
    const settled = this.held === "" || this.attackSeconds >= HELD_SETTLE_SECONDS - 1e-9;
    if (settled && fast >= cfg.fast_open_multiple * FAST_TOLERANCE) {
      return this.#open(tUs, `fast: ${name} at ${fast.toFixed(1)}x threshold over the last 300 ms`);
    }
    this.excess += (ratio - 1) * EVALUATION_SECONDS;
    this.attackSeconds += EVALUATION_SECONDS;
    // (Sums of tenths carry rounding: a billionth of slack.)
    if (
      this.excess >= cfg.confirm_seconds / 3 - 1e-9 ||
      this.attackSeconds >= cfg.confirm_seconds - 1e-9
    ) {
      return this.#open(
        tUs,
        `confirmed: ${name} over threshold (${ratio.toFixed(1)}x) for ${over.toFixed(1)} s, ` +
          `excess ${this.excess.toFixed(2)} threshold-seconds`,
      );
    }
    return MachineStep.NONE;
  }

  #open(tUs: number, rule: string): number {
    this.state = MachineState.ACTIVE;
    this.rule = rule;
    this.lastOverUs = tUs;
    this.lastEventUs = tUs;
    return MachineStep.OPEN;
  }

  /** Resolved at `atUs`: cooldown until `attack_cooldown` later. */
  #cool(cfg: DetectionConfig, atUs: number): void {
    this.reset();
    this.state = MachineState.COOLDOWN;
    this.cooldownUntilUs = atUs + cfg.attack_cooldown * 1e6;
  }
}
