// The compromised-host finding (config `detect_outbound`, off by default): floods the protected
// addresses send to others. Outbound traffic never opens an inbound incident; this watch opens
// an incident of its own, target "outbound", direction "outbound", when the host sends what
// nobody answers: SYNs without SYN-ACKs back, UDP with next to nothing back, pings without
// replies, over the floors of their kinds (and over twice the host's normal outbound second).
import type { DetectionConfig } from "../config/mod.ts";
import { Vector, VECTOR_COUNT } from "../packet/mod.ts";
import { SLOTS } from "../traffic/mod.ts";
import { deterministicUuid } from "../sketch/mod.ts";
import { Incident, type IncidentEvent, incidentTrigger, RATE_NAMES } from "./incident.ts";
import { IncidentMachine, MachineStep, type TargetTraffic } from "./incident_machine.ts";
import type { TwoWay } from "./_two_way.ts";

/** A rate watched: what is sent, what answers it, and how many answers per packet are enough. */
interface Watched {
  /** Index in {@linkcode RATE_NAMES}. */
  rate: number;
  floor: "min_syn_pps_threshold" | "min_udp_pps_threshold" | "min_icmp_pps_threshold";
  sent: number;
  answer: number;
  answers: number;
}
const WATCHED: readonly Watched[] = [
  // SYNs: at least one SYN-ACK back per two.
  {
    rate: 2,
    floor: "min_syn_pps_threshold",
    sent: Vector.SYN,
    answer: Vector.SYN_ACK,
    answers: 0.5,
  },
  // UDP: two-way exchanges (games, QUIC, DNS) get one back per ten or more.
  { rate: 3, floor: "min_udp_pps_threshold", sent: Vector.UDP, answer: Vector.UDP, answers: 0.1 },
  // Pings: replies back.
  {
    rate: 4,
    floor: "min_icmp_pps_threshold",
    sent: Vector.ICMP_ECHO,
    answer: Vector.ICMP,
    answers: 0.5,
  },
];
/** Short span (slots) of a fast open, as for inbound targets. */
const FAST_SLOTS = 3;
/** The threshold is at least this multiple of the host's normal outbound rate of the kind. */
const NORMAL_MULTIPLE = 2;
/** What the finding is called in the event and its evidence. */
export const OUTBOUND_TARGET = "outbound";

/**
 * Watches what the protected addresses send (the {@linkcode TwoWay} accounting) for floods they
 * send themselves, with an {@linkcode IncidentMachine} of its own: the same confirmation rules
 * as inbound targets, without the legitimate-shape holds (what nobody answers is not a session).
 */
export class OutboundWatch implements TargetTraffic {
  readonly #twoWay: TwoWay;
  readonly #machine = new IncidentMachine();
  readonly #thresholds = new Float64Array(RATE_NAMES.length).fill(Infinity);
  readonly #rates = new Float64Array(RATE_NAMES.length);
  readonly #pending = new Float64Array(VECTOR_COUNT);
  readonly #idSeed: string;
  #incident: Incident | null = null;

  /** Watches `twoWay`'s outbound traffic; ids derive from `idSeed`. */
  constructor(twoWay: TwoWay, idSeed: string) {
    this.#twoWay = twoWay;
    this.#idSeed = idSeed;
  }

  /**
   * One evaluation at `tUs`, after the slot rotated, with the interface's inbound one-second
   * sums `inbound`. Returns the event due, or null.
   */
  step(cfg: DetectionConfig, tUs: number, inbound: Float64Array): IncidentEvent | null {
    const out = this.#twoWay.out;
    const m = this.#machine;
    if (m.busy) {
      const into = this.#incident?.vectors ?? this.#pending;
      for (let v = 0; v < VECTOR_COUNT; v++) into[v] += out.recent(0, v, 1);
    }
    let ratio = 0, trigger = 0;
    for (const w of WATCHED) {
      const rate = out.sums[w.sent];
      const floor = cfg.detect_outbound ? cfg[w.floor] : 0;
      const normal = this.#twoWay.outNormal.perSecond(0, w.sent) * NORMAL_MULTIPLE;
      const answered = inbound[w.answer] >= w.answers * rate;
      const th = floor > 0 && !answered ? Math.max(floor, normal) : Infinity;
      this.#thresholds[w.rate] = th;
      this.#rates[w.rate] = rate;
      if (rate / th > ratio) {
        ratio = rate / th;
        trigger = w.rate;
      }
    }
    const step = m.step(cfg, tUs, ratio, trigger, this);
    if (step === MachineStep.SUSPECT) this.#pending.set(out.sums);
    else if (step === MachineStep.RELEASE) this.#pending.fill(0);
    else if (step === MachineStep.OPEN) return this.#open(tUs);
    else if (step === MachineStep.UPDATE) return this.#event("update", tUs);
    else if (step === MachineStep.RESOLVE) {
      const event = this.#event("resolve", Math.max(tUs, m.lastOverUs), m.lastOverUs);
      this.#incident = null;
      this.#pending.fill(0);
      return event;
    }
    return null;
  }

  /** Once a second: the incident's peaks and velocity curve. */
  second(tSec: number): void {
    const s = this.#twoWay.out.sums;
    this.#incident?.second(tSec, s[Vector.PACKETS], s[Vector.BYTES] * 8);
  }

  /** End of the traffic: resolves an open finding (returns its event) or forgets a suspicion. */
  finish(cfg: DetectionConfig, tUs: number): IncidentEvent | null {
    const m = this.#machine;
    const step = m.finish(cfg, tUs);
    if (step !== MachineStep.RESOLVE || this.#incident === null) return null;
    const event = this.#event("resolve", Math.max(tUs, m.lastOverUs), m.lastOverUs);
    this.#incident = null;
    return event;
  }

  /** Never: the outbound watch is its own target. */
  explainedElsewhere(): boolean {
    return false;
  }

  /** Never: what nobody answers is not a session. */
  sessionShape(): null {
    return null;
  }

  /** Never: what nobody answers is not a legitimate flow. */
  flowShape(): null {
    return null;
  }

  /** Rate `k` sent over the last 300 ms, in multiples of its threshold. */
  shortRatio(k: number): number {
    const v = WATCHED.find((w) => w.rate === k)?.sent ?? Vector.PACKETS;
    const sum = this.#twoWay.out.recent(0, v, FAST_SLOTS);
    return (sum * SLOTS) / FAST_SLOTS / this.#thresholds[k];
  }

  #open(tUs: number): IncidentEvent {
    const m = this.#machine;
    const k = m.trigger;
    const inc = new Incident({
      id: deterministicUuid(`${this.#idSeed}|${OUTBOUND_TARGET}|${m.overSinceUs}`),
      target: OUTBOUND_TARGET,
      startedUs: m.overSinceUs,
      openedUs: tUs,
      trigger: incidentTrigger(k, this.#rates[k], this.#thresholds[k]),
      rule: m.rule,
      thresholds: Float64Array.from(this.#thresholds),
      normal: this.#twoWay.outNormal.copy(0),
      baseline: { pps: 0, bps: 0 },
    });
    inc.vectors.set(this.#pending);
    this.#pending.fill(0);
    this.#incident = inc;
    return this.#event("open", tUs);
  }

  #event(kind: "open" | "update" | "resolve", atUs: number, endedUs?: number): IncidentEvent {
    const inc = this.#incident!;
    const event = inc.event(kind, null, atUs, atUs, endedUs);
    const c = inc.classification!;
    c.evidence.summary = `sent by this host (compromised?): ${c.evidence.summary}`;
    event.direction = "outbound";
    event.inner_ip = null;
    return event;
  }
}
