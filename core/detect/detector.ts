/**
 * Flood detection: sliding one-second rates every 100 ms of packet time, per destination and
 * for the whole interface, against thresholds from the baseline and floors; an incident
 * machine per target (idle -> suspected -> active -> holddown -> resolved, then cooldown).
 *
 * Confirmation depends on how attack-like the excess is:
 * - attack-shaped traffic (anything that is not a bulk transfer) opens at once when its rate
 *   over the last 300 ms is at least `fast_open_multiple` x the threshold (3% allowance for
 *   slot edges), else after `confirm_seconds` over the threshold;
 * - traffic shaped like a legitimate bulk transfer (>= 90% TCP, >= 90% of it plain ACK /
 *   PSH+ACK / FIN segments, >= 50% of packets 1000 bytes or more, and few sources: at most 16,
 *   or the top 3 sending >= 80%) must stay over for `bulk_confirm_seconds`, and the incident
 *   says it was opened anyway.
 * An incident stays active while any of its target's rates is over its threshold (frozen at
 * open), so one opened by bps ends by bps and a vector shift does not split it; it resolves
 * after `attack_holddown` seconds under every threshold.
 *
 * A flood on one address of a busy node shows in that address's own rates: up to
 * `max_tracked_destinations` addresses are tracked; the interface-wide machine only opens when
 * no tracked destination carries most of the excess (carpet bombing, untracked targets).
 *
 * Pure and deterministic: time is the packets' own; the same capture gives the same incidents.
 *
 * @module
 */

import { Baseline, BASELINE_METRICS } from "./baseline.ts";
import { classify } from "../classify/mod.ts";
import type { DetectionConfig } from "../config/mod.ts";
import { formatAddressWords, type PacketMeta, Vector, VECTOR_COUNT } from "../packet/mod.ts";
import {
  Incident,
  type IncidentEvent,
  incidentEvent,
  type IncidentEventKind,
  RATE_NAMES,
} from "./incident.ts";
import { deterministicUuid } from "../sketch/mod.ts";
import { RateTable, SLOT_US, SLOTS, type Window } from "../traffic/mod.ts";
import { EvidenceWindows } from "./_evidence_windows.ts";

/** Where a target's machine stands. */
export type TargetState = "idle" | "suspected" | "active" | "holddown" | "cooldown";

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
}

/** What one target's rates look like now (for status and metrics). */
export interface TargetStatus {
  target: string;
  state: TargetState;
  pps: number;
  bps: number;
  thresholds: Record<string, number | null>;
  incident: string | null;
}

const STATE_IDLE = 0;
const STATE_SUSPECTED = 1;
const STATE_ACTIVE = 2;
const STATE_HOLDDOWN = 3;
const STATE_COOLDOWN = 4;
const STATE_NAMES: TargetState[] = ["idle", "suspected", "active", "holddown", "cooldown"];

/** Vector counter behind each thresholded rate (bps is BYTES x 8). */
const RATE_VECTORS = [
  Vector.PACKETS,
  Vector.BYTES,
  Vector.SYN,
  Vector.UDP,
  Vector.ICMP,
  Vector.FRAGMENTS,
];
const RATES = RATE_NAMES.length;
/** Short span (slots) whose rate decides a fast open. */
const FAST_SLOTS = 3;
/** A flood at exactly the fast multiple may count a packet less in a short span's slots. */
const FAST_TOLERANCE = 0.97;
/** Longest packet-time gap (s) filled with idle seconds for the baseline. */
const MAX_IDLE_FILL_SECONDS = 300;
/** Half-life (s) of a destination's decaying high-water mark (its baseline). */
const DEST_HALF_LIFE_SECONDS = 600;
/** Seconds a destination must be tracked before its own baseline counts. */
const DEST_READY_SECONDS = 300;

class Target {
  state = STATE_IDLE;
  overSinceUs = 0;
  cooldownUntilUs = 0;
  trigger = 0;
  bulkNote = "";
  readonly vectors = new Float64Array(VECTOR_COUNT);
  incident: Incident | null = null;

  reset(): void {
    this.state = STATE_IDLE;
    this.overSinceUs = 0;
    this.cooldownUntilUs = 0;
    this.trigger = 0;
    this.bulkNote = "";
    this.vectors.fill(0);
    this.incident = null;
  }
}

/** Detects floods in a stream of decoded packets and emits incident events. */
export class Detector {
  /** The learned interface baseline (save it periodically; restore it at start). */
  readonly baseline: Baseline;
  /** Events a listener threw on (the detector carried on). */
  listenerErrors = 0;

  #cfg: DetectionConfig;
  readonly #onEvent: (event: IncidentEvent) => void;
  readonly #idSeed: string;
  readonly #table: RateTable;
  /** Machines: one per tracked row, the interface last. */
  readonly #targets: Target[];
  readonly #iface: number;
  readonly #evidence: EvidenceWindows;
  /** The evidence windows' per-row sampling countdown (see `EvidenceWindows.countdown`). */
  readonly #countdown: Int32Array;
  /** Interface-wide sliding sums and the completed slot's counts, summed over rows per tick. */
  readonly #ifaceSums = new Float64Array(VECTOR_COUNT);
  readonly #ifaceSlotCounts = new Float64Array(VECTOR_COUNT);
  readonly #rates = new Float64Array(RATES);
  readonly #thresholds = new Float64Array(RATES);
  readonly #sample = new Float64Array(BASELINE_METRICS);
  /** The interface levels last read from a ready baseline (kept while an attack empties it). */
  readonly #lastLevels = new Float64Array(RATES);
  #hadLevels = false;
  /** Per-row decaying high-water marks of each rate, and seconds tracked. */
  readonly #destHigh: Float64Array;
  readonly #destSeconds: Uint32Array;
  #slotNo = NaN;
  /** End of the current slot (µs): a packet at or after it moves time on. */
  #slotEndUs = -Infinity;
  #lastTickUs = 0;

  /** Creates a detector with `config` (see core/config.ts for every key and its meaning). */
  constructor(config: DetectionConfig, options: DetectorOptions) {
    this.#cfg = config;
    this.#onEvent = options.onEvent;
    this.#idSeed = options.idSeed ?? "";
    this.baseline = options.baseline ??
      new Baseline({
        windowMinutes: config.baseline_window_minutes,
        utcOffsetMinutes: options.utcOffsetMinutes ?? 0,
      });
    const capacity = config.max_tracked_destinations;
    this.#table = new RateTable(capacity);
    this.#targets = Array.from({ length: capacity + 1 }, () => new Target());
    this.#iface = capacity;
    this.#evidence = new EvidenceWindows(capacity + 1);
    this.#countdown = this.#evidence.countdown;
    this.#destHigh = new Float64Array(capacity * RATES);
    this.#destSeconds = new Uint32Array(capacity);
  }

  /**
   * Applies a new config (a reload): thresholds, floors and timings from the next 100 ms on.
   * `max_tracked_destinations` and `baseline_window_minutes` size memory and take effect at the
   * next start; returns those of them that changed.
   */
  configure(config: DetectionConfig): string[] {
    const fixed = ["max_tracked_destinations", "baseline_window_minutes"] as const;
    const later = fixed.filter((k) => config[k] !== this.#cfg[k]);
    this.#cfg = {
      ...config,
      max_tracked_destinations: this.#cfg.max_tracked_destinations,
      baseline_window_minutes: this.#cfg.baseline_window_minutes,
    };
    return later;
  }

  /** Counts one decoded packet (per packet: allocation-free outside state changes). */
  add(meta: PacketMeta): void {
    // Small on purpose, so the pipeline inlines it.
    if (meta.tsUs >= this.#slotEndUs) this.advance(meta.tsUs);
    const row = this.#table.add(meta);
    const countdown = this.#countdown;
    if (countdown[row] !== 0 && --countdown[row] === 0) this.#evidence.add(row, meta);
  }

  /**
   * The pipeline's per-second window, watched so incident statistics can include the second
   * in progress (the pipeline calls this once).
   */
  watchWindow(window: Window): void {
    this.#evidence.watch(window);
  }

  /**
   * A per-second window of all traffic closed. Targets carrying most of the interface's
   * packets take their statistics from it rather than counting every packet a second time.
   */
  window(window: Window): void {
    const evidence = this.#evidence;
    evidence.closed(window);
    for (let i = 0; i < this.#targets.length; i++) {
      const inc = this.#targets[i].incident;
      if (!inc || !evidence.has(i)) continue;
      if (evidence.isOwn(i)) inc.ownSeconds++;
      else inc.interfaceSeconds++;
    }
  }

  /** Moves packet time to `tsUs` without a packet (live capture on an idle link). */
  advance(tsUs: number): void {
    const slot = Math.floor(tsUs / SLOT_US);
    if (Number.isNaN(this.#slotNo) || slot > this.#slotNo) {
      this.#advanceTo(slot);
      this.#slotEndUs = (this.#slotNo + 1) * SLOT_US;
    }
  }

  /** End of the traffic (end of a capture, shutdown): resolves every open incident now. */
  finish(): void {
    if (Number.isNaN(this.#slotNo)) return;
    this.#tick(); // the last, partial slot
    for (let i = 0; i < this.#targets.length; i++) {
      const target = this.#targets[i];
      if (target.incident) this.#resolve(i, target.incident.lastOverUs);
      else if (target.state === STATE_SUSPECTED) this.#release(i);
    }
  }

  /** Every target not idle, and the interface (for status output and metrics). */
  status(): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (let i = 0; i < this.#targets.length; i++) {
      const t = this.#targets[i];
      if (i !== this.#iface && t.state === STATE_IDLE) continue;
      this.#loadRates(i);
      this.#loadThresholds(i, this.#lastTickUs);
      out.push({
        target: this.#label(i),
        state: STATE_NAMES[t.state],
        pps: this.#rates[0],
        bps: this.#rates[1],
        thresholds: Object.fromEntries(
          RATE_NAMES.map((
            n,
            k,
          ) => [n, Number.isFinite(this.#thresholds[k]) ? this.#thresholds[k] : null]),
        ),
        incident: t.incident?.id ?? null,
      });
    }
    return out;
  }

  // ---- time ---------------------------------------------------------------------------

  #advanceTo(slot: number): void {
    if (Number.isNaN(this.#slotNo)) {
      this.#slotNo = slot;
      this.#table.setSlot(slot);
      this.#lastTickUs = slot * SLOT_US;
      return;
    }
    if (slot <= this.#slotNo) return; // out of order: counted in the current slot
    const steps = slot - this.#slotNo;
    if (steps <= 2 * SLOTS) {
      for (let i = 0; i < steps; i++) this.#tick();
      return;
    }
    // A long gap: drain the sliding sums with real ticks, then jump.
    for (let i = 0; i <= SLOTS; i++) this.#tick();
    const fromSec = Math.floor((this.#slotNo * SLOT_US) / 1e6);
    const toSec = Math.floor((slot * SLOT_US) / 1e6);
    if (toSec - fromSec <= MAX_IDLE_FILL_SECONDS && this.#baselineOpen()) {
      this.#sample.fill(0);
      for (let s = fromSec + 1; s < toSec; s++) this.baseline.add(s, this.#sample);
    }
    this.#slotNo = slot - 1;
    this.#table.setSlot(slot - 1);
    this.#tick();
  }

  /** One slot boundary: rotate the rates, do the per-second work, evaluate every target. */
  #tick(): void {
    const table = this.#table;
    table.finishSlot();
    this.#slotNo++;
    const tUs = this.#slotNo * SLOT_US;
    this.#lastTickUs = tUs;
    // Incidents accumulate the completed slot's counts before the slot is reused.
    for (let i = 0; i < this.#targets.length; i++) {
      const t = this.#targets[i];
      if (t.state === STATE_IDLE || t.state === STATE_COOLDOWN) continue;
      const counts = i === this.#iface ? this.#sumCurrent() : table.current(i);
      const into = t.incident?.vectors ?? t.vectors; // suspected: the target's; open: the incident's
      for (let v = 0; v < VECTOR_COUNT; v++) into[v] += counts[v];
    }
    table.rotate();
    this.#sumInterface();
    if (this.#slotNo % SLOTS === 0) this.#second(tUs);
    // Destinations first: the interface machine defers to a destination carrying the excess.
    for (let i = 0; i < this.#iface; i++) {
      if (table.used[i] || this.#targets[i].state !== STATE_IDLE) this.#evaluate(i, tUs);
    }
    this.#evaluate(this.#iface, tUs);
  }

  /** Per second of packet time: baselines, velocity curves, destination eviction. */
  #second(tUs: number): void {
    const tSec = tUs / 1e6 - 1; // the second that just ended
    if (this.#baselineOpen()) {
      this.#loadRates(this.#iface);
      this.#sample.set(this.#rates);
      this.baseline.add(tSec, this.#sample);
    }
    const decay = Math.pow(0.5, 1 / DEST_HALF_LIFE_SECONDS);
    for (let row = 0; row < this.#iface; row++) {
      if (!this.#table.used[row]) continue;
      const t = this.#targets[row];
      if (t.state !== STATE_IDLE) continue;
      this.#loadRates(row);
      for (let k = 0; k < RATES; k++) {
        const j = row * RATES + k;
        this.#destHigh[j] = Math.max(this.#rates[k], this.#destHigh[j] * decay);
      }
      this.#destSeconds[row]++;
    }
    for (let i = 0; i < this.#targets.length; i++) {
      const inc = this.#targets[i].incident;
      if (inc) {
        this.#loadRates(i);
        inc.second(tSec, this.#rates[0], this.#rates[1]);
      }
      if (i < this.#iface) this.#chooseStatsSource(i);
    }
    // Room for new destinations when untracked ones carried traffic.
    const shared = this.#table.capacity * VECTOR_COUNT;
    if (this.#table.sums[shared + Vector.PACKETS] > 0) {
      const quiet = Math.max(10, this.#cfg.min_pps_threshold / 100);
      const freed = this.#table.evictQuiet(4, quiet);
      if (freed > 0) {
        for (let row = 0; row < this.#iface; row++) {
          if (!this.#table.used[row]) {
            this.#destSeconds[row] = 0;
            this.#destHigh.fill(0, row * RATES, (row + 1) * RATES);
          }
        }
      }
    }
  }

  /** The interface baseline learns only from seconds without any suspected or open incident. */
  #baselineOpen(): boolean {
    for (const t of this.#targets) {
      if (t.state !== STATE_IDLE && t.state !== STATE_COOLDOWN) return false;
    }
    return true;
  }

  // ---- evaluation ---------------------------------------------------------------------

  #evaluate(i: number, tUs: number): void {
    const t = this.#targets[i];
    this.#loadRates(i);
    if (t.incident) this.#thresholds.set(t.incident.thresholds);
    else this.#loadThresholds(i, tUs);
    let ratio = 0;
    let trigger = 0;
    for (let k = 0; k < RATES; k++) {
      const r = this.#rates[k] / this.#thresholds[k];
      if (r > ratio) {
        ratio = r;
        trigger = k;
      }
    }
    const over = ratio > 1;
    switch (t.state) {
      case STATE_COOLDOWN:
        if (tUs < t.cooldownUntilUs) return;
        t.state = STATE_IDLE;
      // falls through
      case STATE_IDLE:
        if (!over || (i === this.#iface && this.#destinationExplains(trigger))) return;
        t.state = STATE_SUSPECTED;
        t.overSinceUs = tUs;
        t.trigger = trigger;
        // The second that crossed the threshold is the first evidence.
        t.vectors.set(this.#sumsOf(i));
        this.#watch(i);
        return;
      case STATE_SUSPECTED:
        if (!over) {
          this.#release(i);
          return;
        }
        t.trigger = trigger;
        this.#confirm(i, tUs, ratio);
        return;
      case STATE_ACTIVE:
      case STATE_HOLDDOWN: {
        const inc = t.incident!;
        if (over) {
          inc.lastOverUs = tUs;
          t.state = STATE_ACTIVE;
        } else {
          t.state = STATE_HOLDDOWN;
          if (tUs - inc.lastOverUs >= this.#cfg.attack_holddown * 1e6) {
            this.#resolve(i, inc.lastOverUs);
            return;
          }
        }
        if (tUs - inc.lastEventUs >= this.#cfg.incident_update_seconds * 1e6) {
          inc.lastEventUs = tUs;
          this.#report(i, "update", tUs);
        }
      }
    }
  }

  /** Suspected: open now, or keep waiting, according to the traffic's shape. */
  #confirm(i: number, tUs: number, ratio: number): void {
    const t = this.#targets[i];
    const cfg = this.#cfg;
    const over = (tUs - t.overSinceUs) / 1e6;
    const bulk = this.#bulkShaped(i);
    const name = RATE_NAMES[t.trigger];
    if (bulk) {
      if (over >= cfg.bulk_confirm_seconds) {
        this.#open(
          i,
          tUs,
          `sustained: ${name} over threshold for ${
            over.toFixed(1)
          } s although shaped like a bulk transfer (${t.bulkNote})`,
        );
      }
      return;
    }
    const fast = this.#shortRate(i, t.trigger) / this.#thresholds[t.trigger];
    if (fast >= cfg.fast_open_multiple * FAST_TOLERANCE) {
      this.#open(i, tUs, `fast: ${name} at ${fast.toFixed(1)}x threshold over the last 300 ms`);
    } else if (over >= cfg.confirm_seconds) {
      this.#open(
        i,
        tUs,
        `confirmed: ${name} over threshold (${ratio.toFixed(1)}x) for ${over.toFixed(1)} s`,
      );
    }
  }

  /**
   * Whether the target's last second looks like a legitimate bulk transfer (see the module
   * doc); sets the target's `bulkNote` with the numbers.
   */
  #bulkShaped(i: number): boolean {
    const s = this.#sumsOf(i);
    const packets = s[Vector.PACKETS];
    const tcp = s[Vector.TCP];
    const plain = s[Vector.ACK] + s[Vector.PSH_ACK] + s[Vector.FIN];
    if (
      !(packets > 0 && tcp >= 0.9 * packets && plain >= 0.9 * tcp &&
        s[Vector.LARGE] >= 0.5 * packets)
    ) {
      return false;
    }
    const t = this.#targets[i];
    const st = this.#evidence.stats(i);
    if (st === null) {
      t.bulkNote = `${pct(tcp, packets)}% TCP, ${pct(plain, tcp)}% plain ACK/PSH segments`;
      return true;
    }
    const top3 = st.top_src_ips.reduce((n, e) => n + e.count, 0);
    const few = st.src_count <= 16 || top3 >= 0.8 * st.packets;
    t.bulkNote = `${pct(tcp, packets)}% TCP, ${pct(plain, tcp)}% plain ACK/PSH segments, ` +
      `${pct(s[Vector.LARGE], packets)}% large, ${st.src_count} sources, top 3 send ${
        pct(top3, st.packets)
      }%`;
    return few;
  }

  /**
   * True when destinations own the interface's excess: one tracked destination carries most of
   * the trigger rate (its own machine names the target), or the destinations already suspected
   * or under attack do together (several targets, each with its own incident).
   */
  #destinationExplains(trigger: number): boolean {
    const v = RATE_VECTORS[trigger];
    const half = 0.5 * this.#ifaceSums[v];
    let watched = 0;
    for (let row = 0; row < this.#iface; row++) {
      if (!this.#table.used[row]) continue;
      const rate = this.#table.sums[row * VECTOR_COUNT + v];
      if (rate >= half) return true;
      const state = this.#targets[row].state;
      if (state !== STATE_IDLE && state !== STATE_COOLDOWN) watched += rate;
    }
    return watched >= half;
  }

  // ---- transitions --------------------------------------------------------------------

  #open(i: number, tUs: number, rule: string): void {
    const t = this.#targets[i];
    const k = t.trigger;
    const label = this.#label(i);
    const thresholds = Float64Array.from(this.#thresholds);
    const inc = new Incident({
      id: deterministicUuid(`${this.#idSeed}|${label}|${t.overSinceUs}`),
      target: label,
      startedUs: t.overSinceUs,
      openedUs: tUs,
      trigger: {
        metric: RATE_NAMES[k],
        rate: Math.round(this.#rates[k]),
        threshold: Math.round(thresholds[k]),
        ratio: Math.round((this.#rates[k] / thresholds[k]) * 100) / 100,
      },
      rule,
      thresholds,
      baseline: i === this.#iface && this.baseline.ready
        ? { pps: this.baseline.mean(0), bps: this.baseline.mean(1) }
        : { pps: 0, bps: 0 },
    });
    inc.vectors.set(t.vectors);
    inc.second(tUs / 1e6, this.#rates[0], this.#rates[1]);
    t.incident = inc;
    t.state = STATE_ACTIVE;
    if (i < this.#iface) this.#table.pinned[i] = 1;
    this.#report(i, "open", tUs);
  }

  #resolve(i: number, endedUs: number): void {
    const t = this.#targets[i];
    const atUs = Math.max(this.#lastTickUs, endedUs);
    const event = this.#event(i, "resolve", atUs, endedUs);
    this.#release(i);
    t.state = STATE_COOLDOWN;
    t.cooldownUntilUs = atUs + this.#cfg.attack_cooldown * 1e6;
    this.#emit(event);
  }

  /** Back to idle: frees the target's window and unpins its row. */
  #release(i: number): void {
    const t = this.#targets[i];
    this.#evidence.release(i);
    if (i < this.#iface) this.#table.pinned[i] = 0;
    t.reset();
  }

  /** Gives a newly suspected target an evidence window (none when all are in use). */
  #watch(i: number): void {
    if (i < this.#iface) this.#table.pinned[i] = 1;
    if (this.#evidence.acquire(i, Math.floor(this.#lastTickUs / 1e6)) && i < this.#iface) {
      this.#chooseStatsSource(i);
    }
  }

  /** Picks where destination `row`'s statistics come from for the next second. */
  #chooseStatsSource(row: number): void {
    const evidence = this.#evidence;
    evidence.choose(
      row,
      this.#table.sums[row * VECTOR_COUNT + Vector.PACKETS],
      this.#ifaceSums[Vector.PACKETS],
    );
    const inc = this.#targets[row].incident;
    if (inc && evidence.isOwn(row) && evidence.every(row) > inc.sampleEvery) {
      inc.sampleEvery = evidence.every(row);
    }
  }

  /** Classifies target `i`'s incident on everything seen so far and builds its event. */
  #event(i: number, kind: IncidentEventKind, atUs: number, endedUs?: number): IncidentEvent {
    const inc = this.#targets[i].incident!;
    const stats = this.#evidence.stats(i);
    inc.classification = classify({
      vectors: inc.vectors,
      seconds: Math.max((this.#lastTickUs - inc.startedUs) / 1e6, 0.1),
      stats: stats ?? undefined,
    });
    return incidentEvent(inc, kind, stats, atUs, endedUs);
  }

  #report(i: number, kind: IncidentEventKind, atUs: number): void {
    this.#emit(this.#event(i, kind, atUs));
  }

  #emit(event: IncidentEvent): void {
    try {
      this.#onEvent(event);
    } catch {
      this.listenerErrors++;
    }
  }

  // ---- rates and thresholds -----------------------------------------------------------

  /** The one-second vector sums of target `i`. */
  #sumsOf(i: number): Float64Array {
    return i === this.#iface
      ? this.#ifaceSums
      : this.#table.sums.subarray(i * VECTOR_COUNT, (i + 1) * VECTOR_COUNT);
  }

  /** Loads the one-second rates of target `i` into `#rates`. */
  #loadRates(i: number): void {
    const s = i === this.#iface ? this.#ifaceSums : this.#table.sums;
    const base = i === this.#iface ? 0 : i * VECTOR_COUNT;
    for (let k = 0; k < RATES; k++) this.#rates[k] = s[base + RATE_VECTORS[k]];
    this.#rates[1] *= 8;
  }

  /** Loads the thresholds in force for target `i` at `tUs` into `#thresholds` (Infinity = off). */
  #loadThresholds(i: number, tUs: number): void {
    const c = this.#cfg;
    const th = this.#thresholds;
    if (!c.dynamic_threshold) {
      const statics = [
        c.pps_threshold,
        c.bps_threshold,
        c.syn_pps_threshold,
        c.udp_pps_threshold,
        c.icmp_pps_threshold,
        c.fragment_pps_threshold,
      ];
      for (let k = 0; k < RATES; k++) th[k] = statics[k] > 0 ? statics[k] : Infinity;
      return;
    }
    const floors = [
      c.min_pps_threshold,
      c.min_bps_threshold,
      c.min_syn_pps_threshold,
      c.min_udp_pps_threshold,
      c.min_icmp_pps_threshold,
      c.min_fragment_pps_threshold,
    ];
    const tSec = Math.floor(tUs / 1e6);
    // Attack seconds never enter the baseline, so a long attack can empty its rolling window:
    // the levels learned before it stay in force until it is ready again.
    if (this.baseline.ready) {
      for (let k = 0; k < RATES; k++) this.#lastLevels[k] = this.baseline.level(k, tSec);
      this.#hadLevels = true;
    }
    const ifaceReady = this.#hadLevels;
    for (let k = 0; k < RATES; k++) {
      // A destination's level is its own decaying high-water mark once it has been tracked
      // long enough, never above the interface's (one address cannot need more than all of
      // them), and the interface's until then (a newly tracked address is not a cold start).
      let level = ifaceReady ? this.#lastLevels[k] : 0;
      if (i !== this.#iface && this.#destSeconds[i] >= DEST_READY_SECONDS) {
        const own = this.#destHigh[i * RATES + k];
        level = ifaceReady ? Math.min(own, level) : own;
      }
      const t = Math.max(floors[k], level * c.threshold_multiplier);
      th[k] = t > 0 ? t : Infinity;
    }
  }

  /** Rate of threshold `k` of target `i` over the last {@linkcode FAST_SLOTS} slots, per second. */
  #shortRate(i: number, k: number): number {
    const v = RATE_VECTORS[k];
    let sum = 0;
    if (i === this.#iface) {
      for (let row = 0; row <= this.#table.capacity; row++) {
        sum += this.#table.recent(row, v, FAST_SLOTS);
      }
    } else {
      sum = this.#table.recent(i, v, FAST_SLOTS);
    }
    return (sum * SLOTS) / FAST_SLOTS * (k === 1 ? 8 : 1);
  }

  #sumInterface(): void {
    const s = this.#ifaceSums;
    s.fill(0);
    const sums = this.#table.sums;
    for (let row = 0; row <= this.#table.capacity; row++) {
      if (row < this.#table.capacity && !this.#table.used[row]) continue;
      const b = row * VECTOR_COUNT;
      for (let v = 0; v < VECTOR_COUNT; v++) s[v] += sums[b + v];
    }
  }

  /** The slot being closed, summed over every row. */
  #sumCurrent(): Float64Array {
    const out = this.#ifaceSlotCounts;
    out.fill(0);
    for (let row = 0; row <= this.#table.capacity; row++) {
      const c = this.#table.current(row);
      for (let v = 0; v < VECTOR_COUNT; v++) out[v] += c[v];
    }
    return out;
  }

  #label(i: number): string {
    if (i === this.#iface) return "interface";
    const k = this.#table.keys;
    return formatAddressWords(k[i * 4], k[i * 4 + 1], k[i * 4 + 2], k[i * 4 + 3]);
  }
}

function pct(n: number, of: number): number {
  return of > 0 ? Math.round((1000 * n) / of) / 10 : 0;
}
