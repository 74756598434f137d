// Mirror mode's targets besides the addresses: one per protected prefix (each `mirror_subnets`
// entry and each named network), so a flood spread thin over many addresses of one prefix
// (carpet bombing) opens one incident naming the prefix; and a heavy-hitter sketch of the
// addresses not tracked (the table full), so a flooded address always gets a row.
import { RateTable } from "../traffic/mod.ts";
import { hashWords } from "../sketch/mod.ts";
import { formatCidr, type PacketMeta, parseCidr, Vector, VECTOR_COUNT } from "../packet/mod.ts";
import type { NetworkConfig } from "../config/mod.ts";
import { RATE_NAMES } from "./incident.ts";
import type { MirrorSnapshot } from "./detector_types.ts";

const RATES = RATE_NAMES.length;
/** Count-min sketch of untracked addresses, packets this second: rows x columns. */
const SKETCH_ROWS = 4;
const SKETCH_COLUMNS = 8192;
/** Candidates held between two promotions (every 100 ms), and the least packets a second. */
const MAX_CANDIDATES = 16;
const MIN_PROMOTE_PACKETS = 16;

/** What mirror mode watches: the protected prefixes and the named networks. */
export interface MirrorPlan {
  /** The `mirror_subnets` (validated CIDRs). */
  subnets: readonly string[];
  /** The named networks (validated, inside the subnets). */
  networks: readonly NetworkConfig[];
}

/**
 * The prefix targets (rows of {@linkcode table}, most specific first: an address counts in the
 * most specific prefix holding it, so a named network's traffic is its own, not its subnet's),
 * the prefix of each tracked address row, and the promotion of heavy untracked addresses.
 */
export class MirrorTargets {
  /** Prefix targets. */
  readonly count: number;
  /** One row per prefix target (row `p` is target `p`), slots in step with the address table. */
  readonly table: RateTable;
  /** Each prefix target's CIDR. */
  readonly labels: readonly string[];
  /** Each prefix target's network name (null: a subnet that is no named network). */
  readonly names: readonly (string | null)[];
  /** Prefix target of each address row of the address table (-1: none yet). */
  readonly prefixOf: Int16Array;
  /** Per prefix target and rate: a network's own threshold (NaN: the usual one; off: Infinity). */
  readonly #override: Float64Array;
  readonly #words: Int32Array;
  readonly #masks: Int32Array;
  // The last address looked up and its prefix target.
  #c0 = 0;
  #c1 = 0;
  #c2 = 0;
  #c3 = 0;
  #cP = -1;
  readonly #sketch = new Int32Array(SKETCH_ROWS * SKETCH_COLUMNS);
  /** Untracked addresses over the bar this second (address words), and their estimates. */
  readonly #candidates = new Int32Array(MAX_CANDIDATES * 4);
  readonly #estimates = new Float64Array(MAX_CANDIDATES);
  #candidateCount = 0;
  /** Packets a second an untracked address needs to be promoted (see {@linkcode second}). */
  #bar = MIN_PROMOTE_PACKETS;
  /** Seconds counted by {@linkcode second}, and the second each address row was given. */
  #now = 2;
  readonly #born: Uint32Array;
  /** Addresses given a row by {@linkcode promote}, and tracked ones that lost theirs to them. */
  #promotions = 0;
  #evictions = 0;

  /** Prefix targets of `plan`, for an address table of `rows` rows. */
  constructor(plan: MirrorPlan, rows: number) {
    const byText = new Map<string, { bits: number; name: string | null; net?: NetworkConfig }>();
    for (const net of plan.networks) {
      const c = parseCidr(net.prefix)!;
      byText.set(formatCidr(c), { bits: mapped(c.prefix, c.v6), name: net.name, net });
    }
    for (const s of plan.subnets) {
      const c = parseCidr(s)!;
      const text = formatCidr(c);
      if (!byText.has(text)) byText.set(text, { bits: mapped(c.prefix, c.v6), name: null });
    }
    const list = [...byText.entries()].sort((a, b) => b[1].bits - a[1].bits);
    this.count = list.length;
    this.table = new RateTable(this.count);
    this.labels = list.map(([text]) => text);
    this.names = list.map(([, v]) => v.name);
    this.prefixOf = new Int16Array(rows).fill(-1);
    this.#born = new Uint32Array(rows);
    this.#override = new Float64Array(this.count * RATES).fill(NaN);
    this.#words = new Int32Array(this.count * 4);
    this.#masks = new Int32Array(this.count * 4);
    list.forEach(([text, v], p) => {
      const c = parseCidr(text)!;
      for (let i = 0; i < 4; i++) {
        const k = Math.max(0, Math.min(32, v.bits - 32 * i));
        this.#masks[p * 4 + i] = k === 0 ? 0 : 0xffffffff << (32 - k);
        this.#words[p * 4 + i] = c.words[i] | 0;
      }
      if (this.table.claim(c.words) !== p) throw new Error("prefix rows out of order");
      const t = v.net?.thresholds ?? {};
      RATE_NAMES.forEach((name, k) => {
        const x = t[name];
        if (x !== undefined) this.#override[p * RATES + k] = x > 0 ? x : Infinity;
      });
    });
    this.#scan(0, 0, 0, 0); // the remembered address is a real answer from the start
  }

  /** The prefix target holding address `d` (four words), or -1: not protected. */
  find(d: Uint32Array): number {
    const w0 = d[0] | 0, w1 = d[1] | 0, w2 = d[2] | 0, w3 = d[3] | 0;
    if (w3 === this.#c3 && w2 === this.#c2 && w1 === this.#c1 && w0 === this.#c0) return this.#cP;
    return this.#scan(w0, w1, w2, w3);
  }

  /** Looks address `w0..w3` up in the prefixes and remembers it. */
  #scan(w0: number, w1: number, w2: number, w3: number): number {
    const k = this.#words, m = this.#masks;
    let p = -1;
    for (let n = 0, j = 0; n < this.count; n++, j += 4) {
      if (
        (w3 & m[j + 3]) === k[j + 3] && (w2 & m[j + 2]) === k[j + 2] &&
        (w1 & m[j + 1]) === k[j + 1] && (w0 & m[j]) === k[j]
      ) {
        p = n;
        break;
      }
    }
    this.#c0 = w0;
    this.#c1 = w1;
    this.#c2 = w2;
    this.#c3 = w3;
    this.#cP = p;
    return p;
  }

  /**
   * A packet (or `packets`, a flow record's share) to an untracked address of a protected
   * prefix: counted in the sketch; an address crossing the bar this second becomes a candidate.
   */
  untracked(d: Uint32Array, packets: number): void {
    const h1 = hashWords(d[0] | 0, d[1] | 0, d[2] | 0, d[3] | 0);
    const h2 = hashWords(d[3] | 0, d[2] | 0, d[1] | 0, d[0] | 0) | 1;
    const s = this.#sketch;
    let est = Infinity;
    for (let r = 0; r < SKETCH_ROWS; r++) {
      const i = r * SKETCH_COLUMNS + ((h1 + r * h2) & (SKETCH_COLUMNS - 1));
      const n = (s[i] += packets);
      if (n < est) est = n;
    }
    if (est < this.#bar || est - packets >= this.#bar) return;
    const c = this.#candidates;
    const count = this.#candidateCount;
    if (count === MAX_CANDIDATES) return;
    for (let j = 0; j < count * 4; j += 4) {
      if (
        c[j] === (d[0] | 0) && c[j + 1] === (d[1] | 0) && c[j + 2] === (d[2] | 0) &&
        c[j + 3] === (d[3] | 0)
      ) return;
    }
    for (let w = 0; w < 4; w++) c[count * 4 + w] = d[w] | 0;
    this.#estimates[count] = est;
    this.#candidateCount = count + 1;
  }

  /** Address row `row` holds a new address, of prefix target `p`. */
  adopt(row: number, p: number): void {
    this.prefixOf[row] = p;
    this.#born[row] = this.#now;
  }

  /**
   * Gives each candidate a row of `addresses`: a free one, else that of the quietest unpinned
   * address tracked for a whole second with fewer packets in the last second than the
   * candidate this second. `forget` hears of every row given (its per-row state starts over).
   */
  promote(addresses: RateTable, forget: (row: number) => void): void {
    const c = this.#candidates;
    const words = new Uint32Array(4);
    for (let n = 0; n < this.#candidateCount; n++) {
      for (let w = 0; w < 4; w++) words[w] = c[n * 4 + w];
      if (addresses.rowOf(words) >= 0) continue;
      if (addresses.tracked === addresses.capacity) {
        const victim = this.#quietest(addresses, this.#estimates[n]);
        if (victim < 0) continue;
        addresses.evict(victim);
        this.#evictions++;
      }
      const row = addresses.claim(words);
      if (row < 0) continue;
      this.#promotions++;
      forget(row);
      this.adopt(row, this.find(words));
    }
    this.#candidateCount = 0;
  }

  /** The quietest unpinned row tracked a whole second, below `packets`; -1: none. */
  #quietest(addresses: RateTable, packets: number): number {
    let best = -1;
    let least = packets;
    const sums = addresses.sums;
    for (let row = 0; row < addresses.capacity; row++) {
      if (!addresses.used[row] || addresses.pinned[row] || this.#born[row] + 2 > this.#now) {
        continue;
      }
      const n = sums[row * VECTOR_COUNT + Vector.PACKETS];
      if (n < least) {
        least = n;
        best = row;
      }
    }
    return best;
  }

  /** Whether candidates wait for {@linkcode promote}. */
  get pending(): boolean {
    return this.#candidateCount > 0;
  }

  /**
   * A second ended: the sketch starts over, and the bar becomes twice the packets of the
   * quietest unpinned address tracked a whole second, in the last second (at least 16): an
   * untracked address busier than that takes its row.
   */
  second(addresses: RateTable): void {
    this.#now++;
    this.#sketch.fill(0);
    const row = this.#quietest(addresses, Infinity);
    const quietest = row < 0 ? 0 : addresses.sums[row * VECTOR_COUNT + Vector.PACKETS];
    this.#bar = Math.max(MIN_PROMOTE_PACKETS, 2 * quietest);
  }

  /** Replaces the thresholds in `out` by those of the network of prefix target `p` it sets. */
  override(p: number, out: Float64Array): void {
    if (p < 0) return;
    const o = this.#override;
    for (let k = 0; k < RATES; k++) {
      const x = o[p * RATES + k];
      if (x === x) out[k] = x;
    }
  }

  /** Rows of `addresses` in use, promotions, evictions and each prefix's packets a second now. */
  snapshot(addresses: RateTable): MirrorSnapshot {
    const sums = this.table.sums;
    return {
      tracked: addresses.tracked,
      capacity: addresses.capacity,
      promotions: this.#promotions,
      evictions: this.#evictions,
      prefixes: this.labels.map((prefix, p) => ({
        prefix,
        network: this.names[p],
        pps: sums[p * VECTOR_COUNT + Vector.PACKETS],
      })),
    };
  }

  /** Counts `meta` as `packets` packets of `bytes` bytes in prefix target `p`. */
  add(p: number, meta: PacketMeta, packets: number, bytes: number): void {
    this.table.addAt(p, meta, packets, bytes);
  }
}

/** Prefix length in IPv4-mapped terms. */
function mapped(prefix: number, v6: boolean): number {
  return v6 ? prefix : 96 + prefix;
}
