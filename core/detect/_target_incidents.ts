// What the detector does when a target's machine decides: evidence windows acquired and
// released, rows pinned, incidents opened (named by their address, prefix or "interface", with
// their network in mirror mode) and their events built and handed to the listener.
import { deterministicUuid } from "../sketch/mod.ts";
import { Vector, VECTOR_COUNT } from "../packet/mod.ts";
import type { RateTable } from "../traffic/mod.ts";
import type { Baseline } from "./baseline.ts";
import {
  Incident,
  type IncidentEvent,
  type IncidentEventKind,
  incidentTrigger,
} from "./incident.ts";
import { type IncidentMachine, MachineStep } from "./incident_machine.ts";
import type { EvidenceWindows } from "./_evidence_windows.ts";
import type { MirrorTargets } from "./_mirror_targets.ts";
import type { NormalMix } from "./_normal_mix.ts";
import type { TargetRates } from "./_target_rates.ts";
import type { TwoWay } from "./_two_way.ts";

/** The detector's parts the incidents read (shared, not copied). */
export interface TargetIncidentsParts {
  idSeed: string;
  onEvent: (event: IncidentEvent) => void;
  baseline: Baseline;
  table: RateTable;
  traffic: TargetRates;
  evidence: EvidenceWindows;
  twoWay: TwoWay;
  normal: NormalMix;
  machines: readonly IncidentMachine[];
  mirror: MirrorTargets | null;
  /** The rates and thresholds of the target just evaluated. */
  rates: Float64Array;
  thresholds: Float64Array;
  /** The ramp trigger in force, in words, or null (named in the opening rule). */
  ramp: () => string | null;
}

/**
 * The incidents of the targets (address rows, prefixes, the interface last) and the vector
 * counters of the suspected ones; carries out each machine's steps.
 */
export class TargetIncidents {
  /** Each target's open incident. */
  readonly incidents: (Incident | null)[];
  /** Vector counters of a suspected target since it went over (an incident's from open on). */
  readonly pending: Float64Array[];
  /** Events a listener threw on (the detector carried on). */
  listenerErrors = 0;
  readonly #p: TargetIncidentsParts;
  readonly #iface: number;
  readonly #rows: number;
  /** Packet time of the step being carried out. */
  #nowUs = 0;

  /** Incidents of `targets` targets (the interface last). */
  constructor(targets: number, parts: TargetIncidentsParts) {
    this.#p = parts;
    this.#iface = targets - 1;
    this.#rows = parts.table.capacity;
    this.incidents = new Array(targets).fill(null);
    this.pending = Array.from({ length: targets }, () => new Float64Array(VECTOR_COUNT));
  }

  /** Carries out what target `i`'s machine decided at `tUs` (the last slot's end). */
  act(i: number, step: number, tUs: number): void {
    this.#nowUs = tUs;
    const p = this.#p;
    switch (step) {
      case MachineStep.SUSPECT:
        // The second that crossed the threshold is the first evidence.
        this.pending[i].set(p.traffic.sumsOf(i));
        p.twoWay.follow(i);
        this.#watch(i);
        return;
      case MachineStep.RELEASE:
        this.#release(i);
        return;
      case MachineStep.OPEN:
        this.#open(i, tUs);
        return;
      case MachineStep.UPDATE:
        this.emit(this.#event(i, "update", tUs));
        return;
      case MachineStep.RESOLVE: {
        const endedUs = p.machines[i].lastOverUs;
        const event = this.#event(i, "resolve", Math.max(tUs, endedUs), endedUs);
        this.#release(i);
        this.emit(event);
      }
    }
  }

  #open(i: number, tUs: number): void {
    const p = this.#p;
    const m = p.machines[i];
    const k = m.trigger;
    const label = p.traffic.label(i);
    const thresholds = Float64Array.from(p.thresholds);
    const inc = new Incident({
      id: deterministicUuid(`${p.idSeed}|${label}|${m.overSinceUs}`),
      target: label,
      startedUs: m.overSinceUs,
      openedUs: tUs,
      trigger: incidentTrigger(k, p.rates[k], thresholds[k]),
      rule: rampRule(m.rule, k, p.ramp()),
      thresholds,
      normal: p.normal.copy(i),
      baseline: i === this.#iface && p.baseline.ready
        ? { pps: p.baseline.mean(0), bps: p.baseline.mean(1) }
        : { pps: 0, bps: 0 },
    });
    inc.vectors.set(this.pending[i]);
    inc.network = this.#networkOf(i);
    inc.second(tUs / 1e6, p.rates[0], p.rates[1]);
    this.incidents[i] = inc;
    if (i < this.#rows) p.table.pinned[i] = 1;
    this.emit(this.#event(i, "open", tUs));
  }

  /** The name of the network of target `i` (mirror mode), or null. */
  #networkOf(i: number): string | null {
    const mirror = this.#p.mirror;
    if (mirror === null || i === this.#iface) return null;
    const p = i < this.#rows ? mirror.prefixOf[i] : i - this.#rows;
    return p < 0 ? null : mirror.names[p];
  }

  /** Back to idle (or cooldown): frees the target's window, its incident, and unpins its row. */
  #release(i: number): void {
    this.#p.evidence.release(i);
    if (i < this.#rows) this.#p.table.pinned[i] = 0;
    this.incidents[i] = null;
    this.pending[i].fill(0);
  }

  /** Gives a newly suspected target an evidence window (none when all are in use). */
  #watch(i: number): void {
    if (i < this.#rows) this.#p.table.pinned[i] = 1;
    if (this.#p.evidence.acquire(i, Math.floor(this.#nowUs / 1e6)) && i < this.#iface) {
      this.chooseStatsSource(i);
    }
  }

  /** Picks where target `i`'s statistics come from for the next second. */
  chooseStatsSource(i: number): void {
    const traffic = this.#p.traffic;
    const packets = traffic.sumsOf(i)[Vector.PACKETS];
    const every = this.#p.evidence.choose(i, packets, traffic.ifaceSums[Vector.PACKETS]);
    const inc = this.incidents[i];
    if (inc && every > inc.sampleEvery) inc.sampleEvery = every;
  }

  /**
   * The `kind` event of target `i`'s incident, classified on everything seen so far. An
   * interface or prefix incident spread over several destinations (carpet bombing) says so.
   */
  #event(i: number, kind: IncidentEventKind, atUs: number, endedUs?: number): IncidentEvent {
    const stats = this.#p.evidence.stats(i);
    const inc = this.incidents[i]!;
    if (i >= this.#rows) inc.widen(this.#p.traffic.spread(i));
    inc.answered = this.#p.twoWay.answered[i];
    return inc.event(kind, stats, this.#nowUs, atUs, endedUs);
  }

  /** Hands `event` to the listener (none: nothing); a listener's exception is counted. */
  emit(event: IncidentEvent | null): void {
    if (event === null) return;
    try {
      this.#p.onEvent(event);
    } catch {
      this.listenerErrors++;
    }
  }
}

/** The opening rule, with the ramp trigger's words when it lowered the pps threshold (rate 0). */
function rampRule(rule: string, rate: number, ramp: string | null): string {
  return ramp === null || rate !== 0 ? rule : `${rule}; ${ramp}`;
}
