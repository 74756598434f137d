// The traffic of each target as the detector and the incident machines read it: one-second
// rates from the rate table (destination rows; the interface is every row summed), the last
// 300 ms, the shapes of legitimate traffic, and whether destinations own the interface's excess.
import { type RateTable, SLOTS } from "../traffic/mod.ts";
import { canonicalCidr, formatAddressWords, Vector, VECTOR_COUNT } from "../packet/mod.ts";
import type { EvidenceWindows } from "./_evidence_windows.ts";
import {
  type IncidentMachine,
  MachineState,
  TARGET_STATE_NAMES,
  type TargetTraffic,
} from "./incident_machine.ts";
import { type Incident, RATE_NAMES, type Spread } from "./incident.ts";
import type { Thresholds } from "./thresholds.ts";
import type { TargetStatus } from "./detector_types.ts";
import type { NormalMix } from "./_normal_mix.ts";
import type { TwoWay } from "./_two_way.ts";
import type { MirrorTargets } from "./_mirror_targets.ts";

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
/** Flow shapes: at most this many sources, or the top 3 sending this share. */
const FEW_SOURCES = 16;
const TOP3_SHARE = 0.8;
/** Two-way: the host sends back at least this share of the inbound packets of the protocol. */
const TWO_WAY_SHARE = 0.1;
/** Known clients: at least this share of the packets, in a mix this similar to the normal one. */
const KNOWN_SHARE = 0.9;
const SAME_MIX = 0.9;
/** ... and at most this many times their usual rate (a map change, not a flood from them). */
const KNOWN_MOST_RISE = 5;
/** DNS queries read before their names can look random or hammered. */
const RANDOM_NAMES_MIN = 20;
/** Sessions: completion segments per SYN, most RSTs per SYN, content bytes back per inbound byte. */
const SEGMENTS_PER_SYN = 3;
const RST_PER_SYN = 0.25;
const CONTENT_BACK = 1;
/** Served traffic: sessions at least this share of the rise, with answered requests this share. */
const SESSION_SHARE = 1 / 3;
const SERVED_SHARE = 0.8;
/** Requests answered: the host sends at least this many answers per request. */
const ANSWERED = 0.9;
/**
 * Answers to the host's own traffic: at least this share of the rise (the rest is ordinary
 * variation), at most this many per packet the host sent (slot edges may count a few more).
 */
const ANSWERS_SHARE = 0.5;
const ANSWER_SLACK = 1.1;
/** Usual DNS names: no one name asked in this share of the queries or more. */
const ONE_NAME_SHARE = 0.5;
/** Vectors whose shares make a traffic mix (exclusive categories). */
const MIX_VECTORS = [
  Vector.SYN,
  Vector.SYN_ACK,
  Vector.ACK,
  Vector.RST,
  Vector.FIN,
  Vector.PSH_ACK,
  Vector.XMAS,
  Vector.NULL,
  Vector.TCP_ANOMALOUS,
  Vector.UDP_AMP,
  Vector.DNS_QUERY,
  Vector.UDP_PLAIN,
  Vector.UDP_QUIC,
  Vector.ICMP_ECHO,
  Vector.ICMP_OTHER,
  Vector.ICMP_OVERSIZED,
  Vector.GRE,
  Vector.OTHER,
  Vector.FRAGMENTS,
];

/** A destination counts in a spread with at least this share of the interface's packets. */
const SPREAD_SHARE = 0.005;

/**
 * Rates of the targets: rows `0..capacity-1` of the table are destinations, then in mirror mode
 * the prefix targets (rows of the mirror's table), and last the interface. As a {@linkcode TargetTraffic}, it answers for target {@linkcode row}
 * against the thresholds in `thresholds`.
 */
export class TargetRates implements TargetTraffic {
  /** The target the machine being evaluated belongs to. */
  row = 0;
  /** Sliding one-second sums of the interface (refreshed by {@linkcode update}). */
  readonly ifaceSums: Float64Array = new Float64Array(VECTOR_COUNT);
  readonly #table: RateTable;
  /** Sliding one-second sums of what the protected addresses sent out. */
  readonly #out: Float64Array;
  readonly #evidence: EvidenceWindows;
  readonly #machines: readonly IncidentMachine[];
  readonly #thresholds: Float64Array;
  readonly #normal: NormalMix;
  /** The normal second of the outbound traffic (its one target). */
  readonly #outNormal: NormalMix;
  readonly #iface: number;
  /** Address rows; targets from here to the interface are the mirror's prefixes. */
  readonly #rows: number;
  readonly #mirror: MirrorTargets | null;
  /** The target's last second minus its normal second (see {@linkcode rise}). */
  readonly #rise = new Float64Array(VECTOR_COUNT);

  constructor(
    table: RateTable,
    twoWay: TwoWay,
    evidence: EvidenceWindows,
    machines: readonly IncidentMachine[],
    thresholds: Float64Array,
    normal: NormalMix,
    mirror: MirrorTargets | null,
  ) {
    this.#table = table;
    this.#mirror = mirror;
    this.#rows = table.capacity;
    this.#out = twoWay.out.sums;
    this.#evidence = evidence;
    this.#machines = machines;
    this.#thresholds = thresholds;
    this.#normal = normal;
    this.#outNormal = twoWay.outNormal;
    this.#iface = table.capacity + (mirror?.count ?? 0);
  }

  /** The table rotated: sums the interface's one-second rates again. */
  update(): void {
    this.#table.totals(this.ifaceSums);
  }

  /** The one-second vector sums of target `i`. */
  sumsOf(i: number): Float64Array {
    if (i === this.#iface) return this.ifaceSums;
    const sums = i < this.#rows ? this.#table.sums : this.#mirror!.table.sums;
    const row = i < this.#rows ? i : i - this.#rows;
    return sums.subarray(row * VECTOR_COUNT, (row + 1) * VECTOR_COUNT);
  }

  /** Writes the one-second rates of target `i` ({@linkcode RATE_NAMES} order) to `out`. */
  load(i: number, out: Float64Array): void {
    const own = i < this.#rows;
    const table = own || this.#mirror === null ? this.#table : this.#mirror.table;
    const s = i === this.#iface ? this.ifaceSums : table.sums;
    const base = i === this.#iface ? 0 : (own ? i : i - this.#rows) * VECTOR_COUNT;
    for (let k = 0; k < RATES; k++) out[k] = s[base + RATE_VECTORS[k]];
    out[1] *= 8;
  }

  /** `"interface"`, the address of destination `i`, or the prefix of prefix target `i`. */
  label(i: number): string {
    if (i === this.#iface) return "interface";
    if (i >= this.#rows) return this.#mirror!.labels[i - this.#rows];
    const k = this.#table.keys;
    return formatAddressWords(k[i * 4], k[i * 4 + 1], k[i * 4 + 2], k[i * 4 + 3]);
  }

  /**
   * True when destinations own the interface's excess: one tracked destination carries most of
   * the trigger rate (its own machine names the target), or the destinations already suspected
   * or under attack do together (several targets, each with its own incident).
   */
  explainedElsewhere(trigger: number): boolean {
    if (this.row < this.#rows) return false;
    const v = RATE_VECTORS[trigger];
    const half = 0.5 * this.#rateOf(this.row, v);
    // Parts over this target's threshold are over their own (never higher) even before their
    // machines suspect them. A prefix defers to its addresses; the interface to all targets.
    const over = this.#thresholds[trigger] / (trigger === 1 ? 8 : 1);
    const prefix = this.row === this.#iface ? -1 : this.row - this.#rows;
    const prefixOf = this.#mirror?.prefixOf;
    let watched = 0;
    const table = this.#table;
    for (let row = 0; row < this.#rows; row++) {
      if (!table.used[row] || (prefix >= 0 && prefixOf![row] !== prefix)) continue;
      const rate = Math.max(table.sums[row * VECTOR_COUNT + v], this.#shortRate(row, v));
      if (rate >= half) return true;
      if (this.#machines[row].busy || rate >= over) watched += rate;
    }
    for (let i = this.#rows; prefix < 0 && i < this.#iface; i++) {
      const rate = this.#rateOf(i, v);
      if (rate >= half) return true;
      if (this.#machines[i].busy || rate >= over) watched += rate;
    }
    return watched >= half;
  }

  /**
   * Legitimate TCP sessions of the last second (a flash crowd), perhaps beside other requests
   * the host serves: handshakes completed (at least 3 ACK or data segments per SYN), few
   * aborted (RSTs at most a quarter of the SYNs), the host sending content back (outbound bytes
   * at least the inbound ones), and the sessions at least a third of the rise, with the
   * requests answered in kind making up most of the rest (together 80%): DNS queries for names
   * that repeat, each answered, and pings, each answered. Or answers to the host's own
   * traffic (see `#answersShape`). The numbers in words, else null.
   * Needs the outbound traffic (the protected addresses known).
   */
  sessionShape(): string | null {
    const s = this.#riseOf(this.row);
    const all = this.sumsOf(this.row);
    const out = this.#out;
    const packets = s[Vector.PACKETS];
    const answers = this.#answersShape(s, out);
    if (answers !== null) return answers;
    const tcp = s[Vector.TCP];
    const syn = s[Vector.SYN];
    const segments = s[Vector.ACK] + s[Vector.PSH_ACK] + s[Vector.FIN];
    if (
      !(packets > 0 && syn > 0 && tcp >= SESSION_SHARE * packets &&
        segments >= SEGMENTS_PER_SYN * syn && s[Vector.RST] <= RST_PER_SYN * syn &&
        out[Vector.BYTES] >= CONTENT_BACK * s[Vector.BYTES])
    ) return null;
    const queries = s[Vector.DNS_QUERY] > 0 && this.#usualNames() &&
        out[Vector.AMP_FIRST] >= ANSWERED * all[Vector.DNS_QUERY]
      ? s[Vector.DNS_QUERY]
      : 0;
    const pings = s[Vector.ICMP_ECHO] > 0 && out[Vector.ICMP] >= ANSWERED * all[Vector.ICMP_ECHO]
      ? s[Vector.ICMP_ECHO]
      : 0;
    if (tcp + queries + pings < SERVED_SHARE * packets) return null;
    const beside = queries + pings > 0
      ? `, beside answered ${queries > 0 ? `DNS queries (${pct(queries, packets)}%)` : ""}${
        queries > 0 && pings > 0 ? " and " : ""
      }${pings > 0 ? `pings (${pct(pings, packets)}%)` : ""}`
      : "";
    return `completed TCP sessions: ${round1(segments / syn)} segments and ` +
      `${round1(s[Vector.RST] / syn)} RSTs per SYN, ${
        round1(out[Vector.BYTES] / s[Vector.BYTES])
      } bytes sent back per byte received${beside}`;
  }

  /**
   * Answers to the host's own traffic: a rise at least half made of RSTs and SYN-ACKs, no more than the SYNs
   * the host sent, and ICMP (errors, echo replies) no more than the UDP packets and pings it
   * sent (its connection attempts refused or accepted, its datagrams bounced or answered: a
   * scan or a flood it sends, or a crawler).
   */
  #answersShape(s: Float64Array, out: Float64Array): string | null {
    const tcp = s[Vector.RST] + s[Vector.SYN_ACK];
    const icmp = s[Vector.ICMP_OTHER];
    if (!(tcp + icmp >= ANSWERS_SHARE * s[Vector.PACKETS] && s[Vector.PACKETS] > 0)) return null;
    const datagrams = out[Vector.UDP] + out[Vector.ICMP_ECHO];
    if (tcp > ANSWER_SLACK * out[Vector.SYN] || icmp > ANSWER_SLACK * datagrams) return null;
    return `answers to this host's own traffic: ${round1(tcp)} RSTs and SYN-ACKs for ${
      round1(out[Vector.SYN])
    } SYNs sent, ${round1(icmp)} ICMP for ${round1(datagrams)} UDP packets and pings sent`;
  }

  /**
   * Legitimate flows of the last second: a bulk transfer (large TCP data segments from few
   * sources), a few two-way flows (one protocol from few sources, what the host sends in the
   * same protocol rising with it), or the host's known clients in their usual mix at up to 5x
   * their usual rate. Shapes are
   * read on the rise over the normal second. The numbers in words, else null.
   */
  flowShape(): string | null {
    const all = this.sumsOf(this.row);
    const known = all[Vector.KNOWN];
    const usual = KNOWN_MOST_RISE * this.#normal.perSecond(this.row);
    if (
      known >= KNOWN_SHARE * all[Vector.PACKETS] && all[Vector.PACKETS] <= usual &&
      !this.#randomNames()
    ) {
      const similarity = this.#normal.similarity(this.row, all, MIX_VECTORS);
      if (similarity >= SAME_MIX) {
        return `${pct(known, all[Vector.PACKETS])}% from known clients, mix ${
          pct(similarity, 1)
        }% like their usual one`;
      }
    }
    const s = this.#riseOf(this.row);
    const packets = s[Vector.PACKETS];
    if (!(packets > 0)) return null;
    const tcp = s[Vector.TCP];
    const udp = s[Vector.UDP];
    const plain = s[Vector.ACK] + s[Vector.PSH_ACK] + s[Vector.FIN];
    // (Connections ending may reset: a quarter of other segments is allowed.)
    const tcpFlow = tcp >= 0.9 * packets && plain >= 0.75 * tcp;
    const udpFlow = udp >= 0.9 * packets && s[Vector.FRAGMENTS] < 0.1 * packets;
    if (!tcpFlow && !udpFlow) return null;
    const few = this.#fewSources();
    if (few === null) return null;
    const shape = tcpFlow
      ? `${pct(tcp, packets)}% TCP, ${pct(plain, tcp)}% plain ACK/PSH segments`
      : `${pct(udp, packets)}% UDP`;
    if (tcpFlow && s[Vector.LARGE] >= 0.5 * packets) {
      return `bulk transfer: ${shape}, ${pct(s[Vector.LARGE], packets)}% large, ${few}`;
    }
    // What the host sends back rose too (its usual answers to others do not count).
    const v = tcpFlow ? Vector.TCP : Vector.UDP;
    const back = this.#out[v] - this.#outNormal.perSecond(0, v);
    const inbound = tcpFlow ? tcp : udp;
    if (back < TWO_WAY_SHARE * inbound) return null;
    return `two-way flows: ${shape}, ${few}, the host sending back ${pct(back, inbound)}% as many ${
      tcpFlow ? "TCP" : "UDP"
    } packets`;
  }

  /**
   * Every target not idle, and the interface, with their thresholds from `thresholds` at
   * `tUs` and their open `incidents` (the detector's status). Uses the shared threshold array.
   */
  status(
    thresholds: Thresholds,
    incidents: readonly (Incident | null)[],
    tUs: number,
  ): TargetStatus[] {
    const out: TargetStatus[] = [];
    const rates = new Float64Array(RATES);
    const th = this.#thresholds;
    for (let i = 0; i <= this.#iface; i++) {
      const m = this.#machines[i];
      if (i !== this.#iface && m.state === MachineState.IDLE) continue;
      this.load(i, rates);
      thresholds.load(i, tUs, th);
      out.push({
        target: this.label(i),
        state: TARGET_STATE_NAMES[m.state],
        pps: rates[0],
        bps: rates[1],
        thresholds: Object.fromEntries(
          RATE_NAMES.map((n, k) => [n, Number.isFinite(th[k]) ? th[k] : null]),
        ),
        incident: incidents[i]?.id ?? null,
        held: m.state === MachineState.SUSPECTED && m.held !== "" ? m.held : null,
      });
    }
    return out;
  }

  /**
   * How the last second of target `i` (the interface, or a prefix) is spread over the tracked
   * destinations (in that prefix); null: none.
   */
  spread(i: number): Spread | null {
    const table = this.#table;
    const total = this.sumsOf(i)[Vector.PACKETS];
    const prefix = i === this.#iface ? -1 : i - this.#rows;
    if (!(total > 0)) return null;
    const first = new Uint32Array(4);
    const differ = new Uint32Array(4);
    let count = 0, top = 0;
    for (let row = 0; row < this.#rows; row++) {
      const n = table.sums[row * VECTOR_COUNT + Vector.PACKETS];
      if (!table.used[row] || n < SPREAD_SHARE * total) continue;
      if (prefix >= 0 && this.#mirror!.prefixOf[row] !== prefix) continue;
      for (let w = 0; w < 4; w++) {
        const word = table.keys[row * 4 + w] >>> 0;
        if (count === 0) first[w] = word;
        else differ[w] |= first[w] ^ word;
      }
      count++;
      if (n > top) top = n;
    }
    if (count === 0) return null;
    const v6 = !(first[0] === 0 && first[1] === 0 && first[2] === 0xffff && differ[2] === 0);
    let bits = 0;
    for (let w = 0; w < 4 && bits === 32 * w; w++) bits += Math.clz32(differ[w]);
    const address = formatAddressWords(first[0], first[1], first[2], first[3]);
    return {
      destinations: count,
      prefix: canonicalCidr(`${address}/${Math.max(0, v6 ? bits : bits - 96)}`)!,
      top_pct: pct(top, total),
    };
  }

  /** Rate `k` over the last {@linkcode FAST_SLOTS} slots, in multiples of its threshold. */
  shortRatio(k: number): number {
    return this.#shortRate(this.row, RATE_VECTORS[k]) * (k === 1 ? 8 : 1) / this.#thresholds[k];
  }

  /** Vector `v` of target `i` per second over the last {@linkcode FAST_SLOTS} slots. */
  #shortRate(i: number, v: number): number {
    const sum = i === this.#iface
      ? this.#table.recentTotal(v, FAST_SLOTS)
      : i < this.#rows
      ? this.#table.recent(i, v, FAST_SLOTS)
      : this.#mirror!.table.recent(i - this.#rows, v, FAST_SLOTS);
    return (sum * SLOTS) / FAST_SLOTS;
  }

  /** Vector `v` of target `i` per second: over the last second, or the last 300 ms if more. */
  #rateOf(i: number, v: number): number {
    return Math.max(this.sumsOf(i)[v], this.#shortRate(i, v));
  }

  /**
   * Whether the target's DNS queries (as far as read) ask for names that repeat, none of them
   * in half the queries: neither random names nor one name hammered (too few to tell: usual).
   */
  #usualNames(): boolean {
    const dns = this.#evidence.stats(this.row)?.dns;
    if (dns === undefined) return false;
    return dns.total < RANDOM_NAMES_MIN ||
      (dns.unique < 0.5 * dns.total && (dns.top[0]?.[1] ?? 0) < ONE_NAME_SHARE * dns.total);
  }

  /** Whether the target's DNS queries look random (most names distinct): never usual. */
  #randomNames(): boolean {
    const dns = this.#evidence.stats(this.row)?.dns;
    return dns !== undefined && dns.total >= RANDOM_NAMES_MIN && dns.unique >= 0.5 * dns.total;
  }

  /**
   * The last second of target `i` minus its normal second: what rose. The last second itself
   * while the normal one is not learned.
   */
  #riseOf(i: number): Float64Array {
    const rise = this.#rise;
    rise.set(this.sumsOf(i));
    this.#normal.subtractFrom(i, rise);
    return rise;
  }

  /**
   * "N sources, top 3 send P%" when the target's rise comes from few sources: at most
   * {@linkcode FEW_SOURCES}, or the top 3 sending most of the packets above normal; else null.
   */
  #fewSources(): string | null {
    const st = this.#evidence.stats(this.row);
    if (st === null) return null;
    const top3 = st.top_src_ips.slice(0, 3).reduce((n, e) => n + e.count, 0);
    // The top 3 send most of the packets, or most of the rise when it is most of them.
    const rise = st.packets - this.#normal.perSecond(this.row) * st.seconds;
    const base = rise >= 0.5 * st.packets ? rise : st.packets;
    if (!(st.src_count <= FEW_SOURCES || top3 >= TOP3_SHARE * base)) return null;
    return `${st.src_count} sources, top 3 send ${pct(top3, st.packets)}%`;
  }
}

function pct(n: number, of: number): number {
  return of > 0 ? Math.round((1000 * n) / of) / 10 : 0;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
