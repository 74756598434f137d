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
import type { DetectionConfig, MirrorConfig } from "../config/mod.ts";
import { type PacketMeta, Vector, VECTOR_COUNT } from "../packet/mod.ts";
import { type Incident, isoTime, RATE_NAMES } from "./incident.ts";
import { IncidentMachine, MachineState } from "./incident_machine.ts";
import { Thresholds } from "./thresholds.ts";
import { type PacketAnalyzer, RateTable, SLOT_US, SLOTS, type Window } from "../traffic/mod.ts";
import { EvidenceWindows } from "./_evidence_windows.ts";
import { TargetRates } from "./_target_rates.ts";
import type { DetectorOptions, HeldNotice, TargetStatus } from "./detector_types.ts";
import type { MirrorSnapshot } from "./detector_types.ts";
import { TwoWay } from "./_two_way.ts";
import { NormalMix } from "./_normal_mix.ts";
import { MirrorTargets } from "./_mirror_targets.ts";
import { TargetIncidents } from "./_target_incidents.ts";

const RATES = RATE_NAMES.length;
/** Keys that shape mirror mode's targets (fixed until the next start). */
const MIRROR_KEYS = [
  "mirror_mode",
  "mirror_subnets",
  "mirror_tracked_destinations",
  "networks",
] as const;
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

  #cfg: DetectionConfig & Partial<MirrorConfig>;
  readonly #onHeld: ((notice: HeldNotice) => void) | null;
  readonly #idSeed: string;
  readonly #table: RateTable;
  /** What the protected addresses send out, and the clients they answer. */
  readonly #twoWay: TwoWay;
  readonly #normal: NormalMix;
  readonly #thresholdsOf: Thresholds;
  /** One machine per target (address rows, prefixes, the interface last); their incidents. */
  readonly #machines: IncidentMachine[];
  readonly #book: TargetIncidents;
  readonly #incidents: (Incident | null)[];
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
  /** Mirror mode's prefix targets (targets `#rows` up to the interface); null: a host. */
  readonly #mirror: MirrorTargets | null;
  /** Address rows of the table: targets `0..#rows-1`. */
  readonly #rows: number;
  #slotNo = NaN;
  /** End of the current slot (µs): a packet at or after it moves time on. */
  #slotEndUs = -Infinity;
  #lastTickUs = 0;

  /**
   * Creates a detector with `config` (every key and its meaning: `DetectionConfig`); with
   * `mirror_mode`, for the addresses and prefixes of `mirror_subnets` and `networks`.
   */
  constructor(config: DetectionConfig & Partial<MirrorConfig>, options: DetectorOptions) {
    this.#cfg = config;
    this.#onHeld = options.onHeld ?? null;
    this.#idSeed = options.idSeed ?? "";
    this.baseline = options.baseline ??
      new Baseline({
        windowMinutes: config.baseline_window_minutes,
        utcOffsetMinutes: options.utcOffsetMinutes ?? 0,
      });
    const mirrored = config.mirror_mode === true;
    const rows = mirrored
      ? config.mirror_tracked_destinations ?? 4096
      : config.max_tracked_destinations;
    this.#rows = rows;
    this.#table = new RateTable(rows);
    this.#mirror = mirrored
      ? new MirrorTargets({ subnets: config.mirror_subnets!, networks: config.networks! }, rows)
      : null;
    const capacity = rows + (this.#mirror?.count ?? 0); // the targets before the interface
    this.#thresholdsOf = new Thresholds(config, this.baseline, capacity);
    this.#machines = Array.from({ length: capacity + 1 }, () => new IncidentMachine());
    this.#twoWay = new TwoWay(capacity + 1, this.#idSeed);
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
      this.#mirror,
    );
    this.#book = new TargetIncidents(capacity + 1, {
      onEvent: options.onEvent,
      idSeed: this.#idSeed,
      baseline: this.baseline,
      table: this.#table,
      traffic: this.#traffic,
      evidence: this.#evidence,
      twoWay: this.#twoWay,
      normal: this.#normal,
      machines: this.#machines,
      mirror: this.#mirror,
      rates: this.#rates,
      thresholds: this.#thresholds,
      ramp: () => this.#thresholdsOf.ramp,
    });
    this.#incidents = this.#book.incidents;
    if (mirrored) {
      // Mirror mode counts on its own path: the host's `add` stays small enough to inline.
      this.add = (meta) => this.#addMirrored(meta, 1, meta.wireLen, false);
      this.addWeighted = (meta, packets, bytes) => this.#addMirrored(meta, packets, bytes, true);
    }
  }

  /** Events a listener threw on (the detector carried on). */
  get listenerErrors(): number {
    return this.#book.listenerErrors;
  }

  /**
   * Applies a new config (a reload): thresholds, floors and timings from the next 100 ms on.
   * `max_tracked_destinations`, `baseline_window_minutes` and the mirror keys size memory and
   * take effect at the next start; returns those of them that changed.
   */
  configure(config: DetectionConfig & Partial<MirrorConfig>): string[] {
    const fixed = ["max_tracked_destinations", "baseline_window_minutes"] as const;
    const later: string[] = fixed.filter((k) => config[k] !== this.#cfg[k]);
    for (const k of MIRROR_KEYS) {
      if (JSON.stringify(config[k]) !== JSON.stringify(this.#cfg[k])) later.push(k);
    }
    this.#cfg = {
      ...config,
      ...Object.fromEntries(MIRROR_KEYS.map((k) => [k, this.#cfg[k]])),
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
   * Mirror mode's `add` and `addWeighted`: a packet (or a flow record's share) to a protected
   * address counts in its row and its prefix; one to no protected address is not detected on.
   */
  #addMirrored(meta: PacketMeta, packets: number, bytes: number, weighted: boolean): void {
    if (meta.tsUs >= this.#slotEndUs) this.advance(meta.tsUs);
    if (meta.outbound) {
      if (weighted) this.#twoWay.addWeighted(meta, packets, bytes);
      else this.#twoWay.add(meta);
      return;
    }
    const mirror = this.#mirror!;
    const p = meta.ipVersion === 0 || meta.malformed !== 0 ? -1 : mirror.find(meta.dst);
    if (p < 0) return;
    const table = this.#table;
    const row = weighted ? table.addWeighted(meta, packets, bytes) : table.add(meta);
    if (row === this.#rows) mirror.untracked(meta.dst, packets);
    else if (mirror.prefixOf[row] !== p) mirror.adopt(row, p);
    mirror.table.addAt(p, meta, packets, bytes);
    if (this.#twoWay.isKnown(meta.src)) {
      table.countKnownWeighted(row, packets);
      mirror.table.countKnownWeighted(p, packets);
    }
    if (row !== this.#rows) this.#sampleOwn(row, meta, packets, bytes, weighted);
    this.#sampleOwn(this.#rows + p, meta, packets, bytes, weighted);
  }

  /** Target `i`'s own statistics take the packet when their sample is due. */
  #sampleOwn(i: number, meta: PacketMeta, packets: number, bytes: number, weighted: boolean): void {
    const countdown = this.#countdown;
    if (weighted) {
      if (countdown[i] !== 0) this.#evidence.addWeighted(i, meta, packets, bytes);
    } else if (countdown[i] !== 0 && --countdown[i] === 0) this.#evidence.add(i, meta);
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
      this.#book.act(i, this.#machines[i].finish(this.#cfg, this.#lastTickUs), this.#lastTickUs);
    }
    this.#book.emit(this.#twoWay.finish(this.#cfg, this.#lastTickUs));
  }

  /** Every target not idle, and the interface (for status output and metrics). */
  status(): TargetStatus[] {
    return this.#traffic.status(this.#thresholdsOf, this.#incidents, this.#lastTickUs);
  }

  /** Mirror mode's rows, promotions, evictions and prefix rates now; null: not mirror mode. */
  mirrorSnapshot(): MirrorSnapshot | null {
    return this.#mirror?.snapshot(this.#table) ?? null;
  }

  // ---- time ---------------------------------------------------------------------------

  #advanceTo(slot: number): void {
    if (Number.isNaN(this.#slotNo)) {
      this.#slotNo = slot;
      this.#table.setSlot(slot);
      this.#mirror?.table.setSlot(slot);
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
    this.#mirror?.table.setSlot(slot - 1);
    this.#tick();
  }

  /** One slot of packet time: rotate the rates, do the per-second work, evaluate every target. */
  #tick(): void {
    const table = this.#table;
    table.finishSlot();
    this.#mirror?.table.finishSlot();
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
      } else if (i < this.#rows) counts = table.current(i);
      else counts = this.#mirror!.table.current(i - this.#rows);
      const into = this.#incidents[i]?.vectors ?? this.#book.pending[i];
      for (let v = 0; v < VECTOR_COUNT; v++) into[v] += counts[v];
      this.#twoWay.count(i);
    }
    table.rotate();
    this.#mirror?.table.rotate();
    this.#twoWay.out.rotate();
    this.#traffic.update();
    this.#book.emit(this.#twoWay.watch(this.#cfg, tUs, this.#traffic.ifaceSums));
    if (this.#slotNo % SLOTS === 0) this.#second(tUs);
    // Destinations first: a prefix and the interface defer to destinations carrying the excess.
    for (let i = 0; i < this.#rows; i++) {
      if (table.used[i] || this.#machines[i].state !== MachineState.IDLE) this.#evaluate(i, tUs);
    }
    for (let i = this.#rows; i <= this.#iface; i++) this.#evaluate(i, tUs);
    if (this.#mirror?.pending) this.#mirror.promote(table, this.#forgetRow);
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
      const used = row >= this.#rows || this.#table.used[row];
      if (!used || this.#machines[row].state !== MachineState.IDLE) continue;
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
      if (i < this.#iface) this.#book.chooseStatsSource(i);
    }
    // Room for new destinations when untracked ones carried traffic (in mirror mode, the
    // busiest untracked ones take the rows of the quietest: see MirrorTargets.promote).
    const shared = this.#table.capacity * VECTOR_COUNT;
    if (this.#mirror === null && this.#table.sums[shared + Vector.PACKETS] > 0) {
      const quiet = Math.max(10, this.#cfg.min_pps_threshold / 100);
      if (this.#table.evictQuiet(4, quiet) > 0) {
        for (let row = 0; row < this.#rows; row++) if (!this.#table.used[row]) this.#forgetRow(row);
      }
    }
    this.#mirror?.second(this.#table);
  }

  /** A row freed or given to a new destination: its marks, normal mix and prefix start over. */
  readonly #forgetRow = (row: number): void => {
    this.#thresholdsOf.forget(row);
    this.#normal.forget(row);
    if (this.#mirror !== null) this.#mirror.prefixOf[row] = -1;
  };

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
    else {
      this.#thresholdsOf.load(i, tUs, this.#thresholds);
      if (i < this.#rows) this.#mirror?.override(this.#mirror.prefixOf[i], this.#thresholds);
    }
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
    this.#book.act(i, m.step(this.#cfg, tUs, ratio, trigger, this.#traffic), tUs);
    if (wasHeld === "" && m.held !== "" && m.state === MachineState.SUSPECTED) {
      this.#onHeld?.({
        type: "held",
        target: this.#traffic.label(i),
        at: isoTime(tUs),
        reason: m.held,
      });
    }
  }
}
