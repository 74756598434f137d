/**
 * The thresholds in force for each target: static, or from the learned baseline and the floors,
 * and for each tracked destination from its own decaying high-water marks.
 *
 * @module
 */

import type { DetectionConfig } from "../config/mod.ts";
import { type Baseline, BaselineMetric } from "./baseline.ts";
import { RATE_NAMES } from "./incident.ts";

/** Half-life (s) of a destination's decaying high-water mark (its own baseline). */
export const DEST_HALF_LIFE_SECONDS = 600;
/** Seconds a destination must be tracked before its own marks count. */
export const DEST_READY_SECONDS = 120;

/** The ramp trigger: a rise over one second above this multiple of the baseline mean... */
export const RAMP_RISE_MULTIPLE = 5;
/** ...to a rate above this multiple of the mean: the pps threshold drops to it. */
export const RAMP_LEVEL_MULTIPLE = 2;
/** Least pps threshold a ramp sets (an idle host's 10 -> 60 pps is no attack). */
export const RAMP_MIN_PPS = 1000;

const RATES = RATE_NAMES.length;
const DECAY = Math.pow(0.5, 1 / DEST_HALF_LIFE_SECONDS);

/**
 * Thresholds of the rates in {@linkcode RATE_NAMES} order (pps, bps, syn, udp, icmp, fragment
 * packets/s), for the interface (row `capacity`) and each tracked destination row. Infinity
 * means off. The rules:
 *
 * - With `dynamic_threshold` false, the static `*_threshold` keys apply to every target; 0 is off.
 * - With `dynamic_threshold`, a threshold is `level x threshold_multiplier`, never below the
 *   rate's floor (`min_*_threshold`); a threshold of 0 (no level, floor 0) is off.
 * - The interface's level is the baseline's for the hour; before the baseline is ready only
 *   the floors apply.
 * - Attack seconds never enter the baseline, so a long attack may empty its window: the levels
 *   last read from a ready baseline stay in force until it is ready again.
 * - A destination's level is its own decaying high-water mark (half-life
 *   {@linkcode DEST_HALF_LIFE_SECONDS}, fed by {@linkcode learn} each second it is idle) once it
 *   has been tracked {@linkcode DEST_READY_SECONDS}, never above the interface's level (one
 *   address cannot need more than all of them); until then the interface's level.
 * - {@linkcode forget} clears a row whose destination is no longer tracked.
 * - With `velocity_detection` (the ramp trigger), every target's pps threshold drops to
 *   {@linkcode RAMP_LEVEL_MULTIPLE} x the baseline mean (even below the floor) while the newest
 *   second the baseline learned rose more than {@linkcode RAMP_RISE_MULTIPLE} x the mean over
 *   the second before it and is above that level (never below {@linkcode RAMP_MIN_PPS}); the
 *   baseline stops learning once the target is suspected, so the ramp second stays the newest
 *   until the incident opens (its thresholds are then frozen) or the target is released.
 *   {@linkcode ramp} says why in words.
 */
export class Thresholds {
  readonly #baseline: Baseline;
  readonly #capacity: number;
  #cfg: DetectionConfig;
  /** The interface levels last read from a ready baseline. */
  readonly #lastLevels = new Float64Array(RATES);
  #hadLevels = false;
  /** Per row: decaying high-water marks of each rate, and seconds learned. */
  readonly #high: Float64Array;
  readonly #seconds: Uint32Array;
  /** The ramp in force (seen on the interface, applied to every target), in words, or null. */
  ramp: string | null = null;

  /** Thresholds for `capacity` destination rows and the interface, levels from `baseline`. */
  constructor(config: DetectionConfig, baseline: Baseline, capacity: number) {
    this.#cfg = config;
    this.#baseline = baseline;
    this.#capacity = capacity;
    this.#high = new Float64Array(capacity * RATES);
    this.#seconds = new Uint32Array(capacity);
  }

  /** Applies a new config from the next {@linkcode load} on. */
  configure(config: DetectionConfig): void {
    this.#cfg = config;
  }

  /** Writes the thresholds of `row` (`capacity`: the interface) at packet time `tUs` to `out`. */
  load(row: number, tUs: number, out: Float64Array): void {
    const c = this.#cfg;
    if (!c.dynamic_threshold) {
      out[0] = off(c.pps_threshold);
      out[1] = off(c.bps_threshold);
      out[2] = off(c.syn_pps_threshold);
      out[3] = off(c.udp_pps_threshold);
      out[4] = off(c.icmp_pps_threshold);
      out[5] = off(c.fragment_pps_threshold);
      this.#ramp(out);
      return;
    }
    const baseline = this.#baseline;
    if (baseline.ready) {
      const tSec = Math.floor(tUs / 1e6);
      for (let k = 0; k < RATES; k++) this.#lastLevels[k] = baseline.level(k, tSec);
      this.#hadLevels = true;
    }
    const ready = this.#hadLevels;
    const own = row !== this.#capacity && this.#seconds[row] >= DEST_READY_SECONDS;
    for (let k = 0; k < RATES; k++) {
      let level = ready ? this.#lastLevels[k] : 0;
      if (own) {
        const mark = this.#high[row * RATES + k];
        level = ready ? Math.min(mark, level) : mark;
      }
      out[k] = off(Math.max(floor(c, k), level * c.threshold_multiplier));
    }
    this.#ramp(out);
  }

  /** The ramp trigger (see the class): lowers `out[0]`, the pps threshold. */
  #ramp(out: Float64Array): void {
    this.ramp = null;
    const b = this.#baseline;
    if (!this.#cfg.velocity_detection || !b.ready) return;
    const t = b.newest!;
    const pps = b.sample(BaselineMetric.PPS, t) ?? 0;
    const before = b.sample(BaselineMetric.PPS, t - 1) ?? 0;
    const mean = b.mean(BaselineMetric.PPS);
    const level = Math.max(RAMP_LEVEL_MULTIPLE * mean, RAMP_MIN_PPS);
    if (!(pps - before > RAMP_RISE_MULTIPLE * mean && pps > level && level < out[0])) return;
    out[0] = level;
    this.ramp = `ramp: pps rose ${Math.round(before)} -> ${Math.round(pps)} in one second ` +
      `(over ${RAMP_RISE_MULTIPLE}x the baseline mean ${Math.round(mean)}): pps threshold ` +
      `${Math.round(out[0])}`;
  }

  /** One more second of destination `row` while idle, at `rates`: its marks decay or rise. */
  learn(row: number, rates: Float64Array): void {
    const high = this.#high;
    for (let k = 0; k < RATES; k++) {
      const j = row * RATES + k;
      high[j] = Math.max(rates[k], high[j] * DECAY);
    }
    this.#seconds[row]++;
  }

  /** Destination `row` is free again: its marks and seconds start over. */
  forget(row: number): void {
    this.#seconds[row] = 0;
    this.#high.fill(0, row * RATES, (row + 1) * RATES);
  }
}

function off(threshold: number): number {
  return threshold > 0 ? threshold : Infinity;
}

function floor(c: DetectionConfig, k: number): number {
  switch (k) {
    case 0:
      return c.min_pps_threshold;
    case 1:
      return c.min_bps_threshold;
    case 2:
      return c.min_syn_pps_threshold;
    case 3:
      return c.min_udp_pps_threshold;
    case 4:
      return c.min_icmp_pps_threshold;
    default:
      return c.min_fragment_pps_threshold;
  }
}
