// The traffic of each target as the detector and the incident machines read it: one-second
// rates from the rate table (destination rows; the interface is every row summed), the last
// 300 ms, the bulk-transfer shape, and whether destinations own the interface's excess.
import { type RateTable, SLOTS } from "../traffic/mod.ts";
import { formatAddressWords, Vector, VECTOR_COUNT } from "../packet/mod.ts";
import type { EvidenceWindows } from "./_evidence_windows.ts";
import type { IncidentMachine, TargetTraffic } from "./incident_machine.ts";
import { RATE_NAMES } from "./incident.ts";

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

/**
 * Rates of the targets: rows `0..capacity-1` of the table are destinations, target `capacity`
 * is the interface. As a {@linkcode TargetTraffic}, it answers for target {@linkcode row}
 * against the thresholds in `thresholds`.
 */
export class TargetRates implements TargetTraffic {
  /** The target the machine being evaluated belongs to. */
  row = 0;
  /** Sliding one-second sums of the interface (refreshed by {@linkcode update}). */
  readonly ifaceSums: Float64Array = new Float64Array(VECTOR_COUNT);
  readonly #table: RateTable;
  readonly #evidence: EvidenceWindows;
  readonly #machines: readonly IncidentMachine[];
  readonly #thresholds: Float64Array;
  readonly #iface: number;

  constructor(
    table: RateTable,
    evidence: EvidenceWindows,
    machines: readonly IncidentMachine[],
    thresholds: Float64Array,
  ) {
    this.#table = table;
    this.#evidence = evidence;
    this.#machines = machines;
    this.#thresholds = thresholds;
    this.#iface = table.capacity;
  }

  /** The table rotated: sums the interface's one-second rates again. */
  update(): void {
    this.#table.totals(this.ifaceSums);
  }

  /** The one-second vector sums of target `i`. */
  sumsOf(i: number): Float64Array {
    return i === this.#iface
      ? this.ifaceSums
      : this.#table.sums.subarray(i * VECTOR_COUNT, (i + 1) * VECTOR_COUNT);
  }

  /** Writes the one-second rates of target `i` ({@linkcode RATE_NAMES} order) to `out`. */
  load(i: number, out: Float64Array): void {
    const s = i === this.#iface ? this.ifaceSums : this.#table.sums;
    const base = i === this.#iface ? 0 : i * VECTOR_COUNT;
    for (let k = 0; k < RATES; k++) out[k] = s[base + RATE_VECTORS[k]];
    out[1] *= 8;
  }

  /** `"interface"` or the address of destination `i`. */
  label(i: number): string {
    if (i === this.#iface) return "interface";
    const k = this.#table.keys;
    return formatAddressWords(k[i * 4], k[i * 4 + 1], k[i * 4 + 2], k[i * 4 + 3]);
  }

  /**
   * True when destinations own the interface's excess: one tracked destination carries most of
   * the trigger rate (its own machine names the target), or the destinations already suspected
   * or under attack do together (several targets, each with its own incident).
   */
  explainedElsewhere(trigger: number): boolean {
    if (this.row !== this.#iface) return false;
    const v = RATE_VECTORS[trigger];
    const half = 0.5 * this.ifaceSums[v];
    let watched = 0;
    const table = this.#table;
    for (let row = 0; row < this.#iface; row++) {
      if (!table.used[row]) continue;
      const rate = table.sums[row * VECTOR_COUNT + v];
      if (rate >= half) return true;
      if (this.#machines[row].busy) watched += rate;
    }
    return watched >= half;
  }

  /**
   * Legitimate bulk transfer shape (>= 90% TCP, >= 90% of it plain ACK / PSH+ACK / FIN
   * segments, >= 50% of packets 1000 bytes or more, and few sources: at most 16, or the top 3
   * sending >= 80%) of the last second: the numbers in words, else null.
   */
  bulkShape(): string | null {
    const s = this.sumsOf(this.row);
    const packets = s[Vector.PACKETS];
    const tcp = s[Vector.TCP];
    const plain = s[Vector.ACK] + s[Vector.PSH_ACK] + s[Vector.FIN];
    if (
      !(packets > 0 && tcp >= 0.9 * packets && plain >= 0.9 * tcp &&
        s[Vector.LARGE] >= 0.5 * packets)
    ) {
      return null;
    }
    const shape = `${pct(tcp, packets)}% TCP, ${pct(plain, tcp)}% plain ACK/PSH segments`;
    const st = this.#evidence.stats(this.row);
    if (st === null) return shape;
    const top3 = st.top_src_ips.reduce((n, e) => n + e.count, 0);
    if (!(st.src_count <= 16 || top3 >= 0.8 * st.packets)) return null;
    return `${shape}, ${pct(s[Vector.LARGE], packets)}% large, ${st.src_count} sources, ` +
      `top 3 send ${pct(top3, st.packets)}%`;
  }

  /** Rate `k` over the last {@linkcode FAST_SLOTS} slots, in multiples of its threshold. */
  shortRatio(k: number): number {
    const v = RATE_VECTORS[k];
    const sum = this.row === this.#iface
      ? this.#table.recentTotal(v, FAST_SLOTS)
      : this.#table.recent(this.row, v, FAST_SLOTS);
    return (sum * SLOTS) / FAST_SLOTS * (k === 1 ? 8 : 1) / this.#thresholds[k];
  }
}

function pct(n: number, of: number): number {
  return of > 0 ? Math.round((1000 * n) / of) / 10 : 0;
}
