/**
 * The DNS queries of a window in fixed memory: how many, how many distinct names, the heaviest
 * names and zones, and the query types. Random-subdomain floods show as nearly every name
 * distinct under one zone.
 *
 * @module
 */

import { dnsNameText, type DnsQuestion } from "../packet/mod.ts";
import { HyperLogLog } from "../sketch/mod.ts";

/** Names and zones kept per top list. */
const SLOTS = 16;
/** Bytes of a name kept (longer names are cut at a label boundary). */
const NAME_BYTES = 80;

/** DNS queries of a window (the `dns_query_stats` of an incident). */
export interface DnsQueryStats {
  /** Queries read. */
  total: number;
  /** Distinct names (estimated, about 1.6% error). */
  unique: number;
  /** Heaviest names: [name, queries]. */
  top: [string, number][];
  /** Heaviest zones (last two labels): [zone, queries]. */
  top_zones: [string, number][];
  /** Queries per type name (`A`, `AAAA`, `TXT`, `ANY`, ..., `other`). */
  qtypes: Record<string, number>;
}

const QTYPE_NAMES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  43: "DS",
  48: "DNSKEY",
  65: "HTTPS",
  255: "ANY",
};
const QTYPE_SLOTS = 256;

/**
 * Heaviest names in {@linkcode SLOTS} counters (Space-Saving: a newcomer replaces the lightest
 * and inherits its count as error), each with its bytes copied into a fixed arena.
 */
class NameTop {
  readonly hashes = new Int32Array(SLOTS);
  readonly counts = new Float64Array(SLOTS);
  readonly errors = new Float64Array(SLOTS);
  readonly bytes = new Uint8Array(SLOTS * NAME_BYTES);
  readonly lengths = new Uint8Array(SLOTS);
  used = 0;

  add(hash: number, buf: Uint8Array, from: number, to: number, n: number): void {
    const hashes = this.hashes, counts = this.counts;
    let min = 0;
    for (let i = 0; i < this.used; i++) {
      if (hashes[i] === hash) {
        counts[i] += n;
        return;
      }
      if (counts[i] < counts[min]) min = i;
    }
    let slot = min, inherited = counts[min];
    if (this.used < SLOTS) {
      slot = this.used++;
      inherited = 0;
    }
    hashes[slot] = hash;
    counts[slot] = inherited + n;
    this.errors[slot] = inherited;
    // Whole labels only, up to NAME_BYTES.
    let p = from, len = 0;
    while (p < to && p - from + buf[p] + 1 <= NAME_BYTES) {
      const l = buf[p] + 1;
      this.bytes.set(buf.subarray(p, p + l), slot * NAME_BYTES + len);
      len += l;
      p += l;
    }
    this.lengths[slot] = len;
  }

  merge(other: NameTop): void {
    for (let i = 0; i < other.used; i++) {
      const at = other.lengths[i];
      const base = i * NAME_BYTES;
      this.add(other.hashes[i], other.bytes, base, base + at, other.counts[i]);
    }
  }

  top(n: number): [string, number][] {
    const order = Array.from({ length: this.used }, (_, i) => i)
      .filter((i) => this.counts[i] - this.errors[i] > 0)
      .sort((a, b) => (this.counts[b] - this.errors[b]) - (this.counts[a] - this.errors[a]));
    return order.slice(0, n).map((i) => [
      dnsNameText(this.bytes, i * NAME_BYTES, i * NAME_BYTES + this.lengths[i]),
      this.counts[i] - this.errors[i],
    ]);
  }

  reset(): void {
    this.used = 0;
  }
}

/** The DNS queries of one window; {@linkcode add} allocates nothing. */
export class DnsNames {
  #total = 0;
  readonly #unique = new HyperLogLog(12);
  readonly #names = new NameTop();
  readonly #zones = new NameTop();
  readonly #qtypes = new Float64Array(QTYPE_SLOTS);

  /** Queries counted. */
  get total(): number {
    return this.#total;
  }

  /** Counts the query `q` read from `buf`. */
  add(buf: Uint8Array, q: DnsQuestion): void {
    this.#total++;
    this.#unique.addHash(q.nameHash);
    this.#names.add(q.nameHash, buf, q.nameOffset, q.nameEnd, 1);
    this.#zones.add(q.zoneHash, buf, q.zoneOffset, q.nameEnd, 1);
    this.#qtypes[q.qtype < QTYPE_SLOTS ? q.qtype : 0]++;
  }

  /** Adds `other`'s queries (distinct names: the union). */
  merge(other: DnsNames): void {
    this.#total += other.#total;
    this.#unique.merge(other.#unique);
    this.#names.merge(other.#names);
    this.#zones.merge(other.#zones);
    for (let i = 0; i < QTYPE_SLOTS; i++) this.#qtypes[i] += other.#qtypes[i];
  }

  /** Forgets every query. */
  reset(): void {
    this.#total = 0;
    this.#unique.reset();
    this.#names.reset();
    this.#zones.reset();
    this.#qtypes.fill(0);
  }

  /** The statistics, with the `n` heaviest names and zones. */
  snapshot(n = 10): DnsQueryStats {
    const qtypes: Record<string, number> = {};
    for (let t = 0; t < QTYPE_SLOTS; t++) {
      const c = this.#qtypes[t];
      if (c === 0) continue;
      const name = QTYPE_NAMES[t] ?? "other";
      qtypes[name] = (qtypes[name] ?? 0) + c;
    }
    return {
      total: this.#total,
      unique: this.#total === 0 ? 0 : Math.min(this.#total, Math.round(this.#unique.estimate())),
      top: this.#names.top(n),
      top_zones: this.#zones.top(n),
      qtypes,
    };
  }
}
