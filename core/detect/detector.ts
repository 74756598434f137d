/**
 * Flood detection: sliding one-second rates every 100 ms of packet time, per destination and
 * for the whole interface, against {@linkcode Thresholds}; an {@linkcode IncidentMachine} per
 * target decides when to suspect, open, update and resolve, and the {@linkcode Detector}
 * builds the events with their evidence and classification.
 *
 * A flood on one address of a busy node shows in that address's own rates: up to
 * `max_tracked_destinations` addresses are tracked; the interface-wide machine only opens when
 * no tracked destination carries most of the excess (carpet bombing, untracked targets).
 * Pure and deterministic: time is the packets' own; the same capture gives the same incidents.
 *
 * @module
 */

import { Baseline, BASELINE_METRICS } from "./baseline.ts";
import type { DetectionConfig } from "../config/mod.ts";
import { type PacketMeta, Vector, VECTOR_COUNT } from "../packet/mod.ts";
import {
  Incident,
  type IncidentEvent,
  type IncidentEventKind,
  incidentTrigger,
  isoTime,
  RATE_NAMES,
} from "./incident.ts";
import { IncidentMachine, MachineState, MachineStep } from "./incident_machine.ts";
import { deterministicUuid } from "../sketch/mod.ts";
import { Thresholds } from "./thresholds.ts";
import { type PacketAnalyzer, RateTable, SLOT_US, SLOTS, type Window } from "../traffic/mod.ts";
import { EvidenceWindows } from "./_evidence_windows.ts";
import { TargetRates } from "./_target_rates.ts";
import type { DetectorOptions, HeldNotice, TargetStatus } from "./detector_types.ts";
import { TwoWay } from "./_two_way.ts";
import { NormalMix } from "./_normal_mix.ts";

const RATES = RATE_NAMES.length;
/** Longest packet-time gap (s) filled with idle seconds for the baseline. */
const MAX_IDLE_FILL_SECONDS = 300;

/**
 * Detects floods in a stream of decoded packets and emits incident events. Every 100 ms of
 * packet time it rotates the rate slots, and once a second it feeds the interface's baseline
 * (with seconds when no target is suspected or under attack), the destinations' own marks,
 * the incidents' velocity curves, and frees quiet destination rows for new ones. Then each
 * target's machine evaluates its rates against its thresholds (destinations first, so the
 * interface defers to a destination carrying the excess). Events carry the classification of
 * everything the incident has seen so far.
 *
 * @example Incidents of a stream of decoded packets
 * ```ts
 * import { defaultConfig, Detector, Pipeline } from "../../mod.ts";
 *
 * const detector = new Detector(defaultConfig(), {
 *   onEvent: (event) => console.log(event.event, event.id, event.attack_family),
 * });
 * const pipeline = new Pipeline(() => {}, { detector });
 * // ... pipeline.packet(...) for every frame, then:
 * pipeline.flush(); // resolves what is still open
 * ```
 */
export class Detector implements PacketAnalyzer {
  /** The learned interface baseline (save it periodically; restore it at start). */
  readonly baseline: Baseline;
  /** Events a listener threw on (the detector carried on). */
  listenerErrors = 0;

  #cfg: DetectionConfig;
  readonly #onEvent: (event: IncidentEvent) => void;
  readonly #onHeld: ((notice: HeldNotice) => void) | null;
  readonly #idSeed: string;
  readonly #table: RateTable;
  /** What the protected addresses send out, and the clients they answer. */
  readonly #twoWay: TwoWay;
  readonly #normal: NormalMix;
  readonly #thresholdsOf: Thresholds;
  /** One machine per tracked row, the interface's last; their incidents and pending counts. */
  readonly #machines: IncidentMachine[];
  readonly #incidents: (Incident | null)[];
  /** Vector counters of a suspected target since it went over (an incident's from open on). */
  readonly #pending: Float64Array[];
  readonly #iface: number;
  readonly #evidence: EvidenceWindows;
  /** The evidence windows' per-row sampling countdown (see `EvidenceWindows.countdown`). */
  readonly #countdown: Int32Array;
  /** The completed slot's counts, summed over every row (for the interface). */
  readonly #ifaceSlotCounts = new Float64Array(VECTOR_COUNT);
  readonly #rates = new Float64Array(RATES);
  readonly #thresholds = new Float64Array(RATES);
  readonly #sample = new Float64Array(BASELINE_METRICS);
  /** Each target's rates; what the machine being evaluated asks of its target's traffic. */
  readonly #traffic: TargetRates;
  #slotNo = NaN;
  /** End of the current slot (µs): a packet at or after it moves time on. */
  #slotEndUs = -Infinity;
  #lastTickUs = 0;

  /** Creates a detector with `config` (every key and its meaning: `DetectionConfig`). */
  constructor(config: DetectionConfig, options: DetectorOptions) {
    this.#cfg = config;
    this.#onEvent = options.onEvent;
    this.#onHeld = options.onHeld ?? null;
    this.#idSeed = options.idSeed ?? "";
    this.baseline = options.baseline ??
      new Baseline({
        windowMinutes: config.baseline_window_minutes,
        utcOffsetMinutes: options.utcOffsetMinutes ?? 0,
      });
    const capacity = config.max_tracked_destinations;
    this.#table = new RateTable(capacity);
    this.#thresholdsOf = new Thresholds(config, this.baseline, capacity);
    this.#machines = Array.from({ length: capacity + 1 }, () => new IncidentMachine());
    this.#incidents = new Array(capacity + 1).fill(null);
    this.#twoWay = new TwoWay(capacity + 1, this.#idSeed);
    this.#pending = Array.from({ length: capacity + 1 }, () => new Float64Array(VECTOR_COUNT));
    this.#iface = capacity;
    this.#evidence = new EvidenceWindows(capacity + 1);
    this.#countdown = this.#evidence.countdown;
    this.#normal = new NormalMix(capacity + 1);
    this.#traffic = new TargetRates(
      this.#table,
      this.#twoWay,
      this.#evidence,
      this.#machines,
      this.#thresholds,
      this.#normal,
    );
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
    this.#thresholdsOf.configure(this.#cfg);
    return later;
  }

  /**
   * Counts one decoded packet (per packet: allocation-free outside state changes). Outbound
   * packets (`meta.outbound`) only feed the two-way accounting and the known clients.
   */
  add(meta: PacketMeta): void {
    // Small on purpose, so the pipeline inlines it.
    if (meta.tsUs >= this.#slotEndUs) this.advance(meta.tsUs);
    if (meta.outbound) {
      this.#twoWay.add(meta);
      return;
    }
    const row = this.#table.add(meta);
    if (this.#twoWay.isKnown(meta.src)) this.#table.countKnown(row);
    const countdown = this.#countdown;
    if (countdown[row] !== 0 && --countdown[row] === 0) this.#evidence.add(row, meta);
  }

  /** Counts `meta` as `packets` packets of `bytes` bytes (a flow record's share): as `add`. */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void {
    if (meta.tsUs >= this.#slotEndUs) this.advance(meta.tsUs);
    if (meta.outbound) return this.#twoWay.addWeighted(meta, packets, bytes);
    const row = this.#table.addWeighted(meta, packets, bytes);
    if (this.#twoWay.isKnown(meta.src)) this.#table.countKnownWeighted(row, packets);
    if (this.#countdown[row] !== 0) this.#evidence.addWeighted(row, meta, packets, bytes);
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
    for (let i = 0; i <= this.#iface; i++) {
      const inc = this.#incidents[i];
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
    for (let i = 0; i <= this.#iface; i++) {
      this.#act(i, this.#machines[i].finish(this.#cfg, this.#lastTickUs), this.#lastTickUs);
    }
    this.#emit(this.#twoWay.finish(this.#cfg, this.#lastTickUs));
  }

  /** Every target not idle, and the interface (for status output and metrics). */
  status(): TargetStatus[] {
    return this.#traffic.status(this.#thresholdsOf, this.#incidents, this.#lastTickUs);
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

  /** One slot of packet time: rotate the rates, do the per-second work, evaluate every target. */
  #tick(): void {
    const table = this.#table;
    table.finishSlot();
    this.#twoWay.out.finishSlot();
    this.#slotNo++;
    const tUs = this.#slotNo * SLOT_US;
    this.#lastTickUs = tUs;
    // Busy targets accumulate the completed slot's counts before the slot is reused.
    for (let i = 0; i <= this.#iface; i++) {
      if (!this.#machines[i].busy) continue;
      let counts: Float64Array;
      if (i === this.#iface) {
        counts = this.#ifaceSlotCounts;
        table.currentTotals(counts);
      } else counts = table.current(i);
      const into = this.#incidents[i]?.vectors ?? this.#pending[i];
      for (let v = 0; v < VECTOR_COUNT; v++) into[v] += counts[v];
      this.#twoWay.count(i);
    }
    table.rotate();
    this.#twoWay.out.rotate();
    this.#traffic.update();
    this.#emit(this.#twoWay.watch(this.#cfg, tUs, this.#traffic.ifaceSums));
    if (this.#slotNo % SLOTS === 0) this.#second(tUs);
    // Destinations first: the interface machine defers to a destination carrying the excess.
    for (let i = 0; i < this.#iface; i++) {
      if (table.used[i] || this.#machines[i].state !== MachineState.IDLE) this.#evaluate(i, tUs);
    }
    this.#evaluate(this.#iface, tUs);
    this.#twoWay.calm = this.#baselineOpen();
  }

  /** Per second of packet time: baselines, velocity curves, destination eviction. */
  #second(tUs: number): void {
    const tSec = tUs / 1e6 - 1; // the second that just ended
    if (this.#baselineOpen()) {
      this.#traffic.load(this.#iface, this.#rates);
      this.#sample.set(this.#rates);
      this.baseline.add(tSec, this.#sample);
    }
    for (let row = 0; row < this.#iface; row++) {
      if (!this.#table.used[row] || this.#machines[row].state !== MachineState.IDLE) continue;
      this.#traffic.load(row, this.#rates);
      this.#thresholdsOf.learn(row, this.#rates);
      this.#normal.learn(row, this.#traffic.sumsOf(row));
    }
    if (this.#twoWay.calm) this.#normal.learn(this.#iface, this.#traffic.ifaceSums);
    this.#twoWay.second(tSec);
    for (let i = 0; i <= this.#iface; i++) {
      const inc = this.#incidents[i];
      if (inc) {
        this.#traffic.load(i, this.#rates);
        inc.second(tSec, this.#rates[0], this.#rates[1]);
      }
      if (i < this.#iface) this.#chooseStatsSource(i);
    }
    // Room for new destinations when untracked ones carried traffic.
    const shared = this.#table.capacity * VECTOR_COUNT;
    if (this.#table.sums[shared + Vector.PACKETS] > 0) {
      const quiet = Math.max(10, this.#cfg.min_pps_threshold / 100);
      if (this.#table.evictQuiet(4, quiet) > 0) {
        for (let row = 0; row < this.#iface; row++) {
          if (this.#table.used[row]) continue;
          this.#thresholdsOf.forget(row);
          this.#normal.forget(row);
        }
      }
    }
  }

  /** The interface baseline learns only from seconds without any suspected or open incident. */
  #baselineOpen(): boolean {
    for (const m of this.#machines) if (m.busy) return false;
    return true;
  }

  // ---- evaluation and transitions -----------------------------------------------------

  #evaluate(i: number, tUs: number): void {
    this.#traffic.load(i, this.#rates);
    const inc = this.#incidents[i];
    if (inc) this.#thresholds.set(inc.thresholds);
    else this.#thresholdsOf.load(i, tUs, this.#thresholds);
    let ratio = 0, trigger = 0;
    for (let k = 0; k < RATES; k++) {
      const r = this.#rates[k] / this.#thresholds[k];
      if (r > ratio) {
        ratio = r;
        trigger = k;
      }
    }
    this.#traffic.row = i;
    const m = this.#machines[i];
    const wasHeld = m.held;
    this.#act(i, m.step(this.#cfg, tUs, ratio, trigger, this.#traffic), tUs);
    if (wasHeld === "" && m.held !== "" && m.state === MachineState.SUSPECTED) {
      this.#onHeld?.({
        type: "held",
        target: this.#traffic.label(i),
        at: isoTime(tUs),
        reason: m.held,
      });
    }
  }

  /** Carries out what target `i`'s machine decided at `tUs`. */
  #act(i: number, step: number, tUs: number): void {
    switch (step) {
      case MachineStep.SUSPECT:
        // The second that crossed the threshold is the first evidence.
        this.#pending[i].set(this.#traffic.sumsOf(i));
        this.#twoWay.follow(i);
        this.#watch(i);
        return;
      case MachineStep.RELEASE:
        this.#release(i);
        return;
      case MachineStep.OPEN:
        this.#open(i, tUs);
        return;
      case MachineStep.UPDATE:
        this.#emit(this.#event(i, "update", tUs));
        return;
      case MachineStep.RESOLVE: {
        const endedUs = this.#machines[i].lastOverUs;
        const event = this.#event(i, "resolve", Math.max(tUs, endedUs), endedUs);
        this.#release(i);
        this.#emit(event);
      }
    }
  }

  #open(i: number, tUs: number): void {
    const m = this.#machines[i];
    const k = m.trigger;
    const label = this.#traffic.label(i);
    const thresholds = Float64Array.from(this.#thresholds);
    const inc = new Incident({
      id: deterministicUuid(`${this.#idSeed}|${label}|${m.overSinceUs}`),
      target: label,
      startedUs: m.overSinceUs,
      openedUs: tUs,
      trigger: incidentTrigger(k, this.#rates[k], thresholds[k]),
      rule: m.rule,
      thresholds,
      normal: this.#normal.copy(i),
      baseline: i === this.#iface && this.baseline.ready
        ? { pps: this.baseline.mean(0), bps: this.baseline.mean(1) }
        : { pps: 0, bps: 0 },
    });
    inc.vectors.set(this.#pending[i]);
    inc.second(tUs / 1e6, this.#rates[0], this.#rates[1]);
    this.#incidents[i] = inc;
    if (i < this.#iface) this.#table.pinned[i] = 1;
    this.#emit(this.#event(i, "open", tUs));
  }

  /** Back to idle (or cooldown): frees the target's window, its incident, and unpins its row. */
  #release(i: number): void {
    this.#evidence.release(i);
    if (i < this.#iface) this.#table.pinned[i] = 0;
    this.#incidents[i] = null;
    this.#pending[i].fill(0);
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
    const packets = this.#table.sums[row * VECTOR_COUNT + Vector.PACKETS];
    const every = this.#evidence.choose(row, packets, this.#traffic.ifaceSums[Vector.PACKETS]);
    const inc = this.#incidents[row];
    if (inc && every > inc.sampleEvery) inc.sampleEvery = every;
  }

  /**
   * The `kind` event of target `i`'s incident, classified on everything seen so far. An
   * interface incident spread over several destinations (carpet bombing) says so.
   */
  #event(i: number, kind: IncidentEventKind, atUs: number, endedUs?: number): IncidentEvent {
    const stats = this.#evidence.stats(i);
    const inc = this.#incidents[i]!;
    if (i === this.#iface) inc.widen(this.#traffic.spread());
    inc.answered = this.#twoWay.answered[i];
    return inc.event(kind, stats, this.#lastTickUs, atUs, endedUs);
  }

  #emit(event: IncidentEvent | null): void {
    if (event === null) return;
    try {
      this.#onEvent(event);
    } catch {
      this.listenerErrors++;
    }
  }
}
