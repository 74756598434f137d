// Top-K strings (paths, user agents, client addresses) in fixed memory: a Space-Saving table
// over a 64-bit hash of each string, plus a bounded map from hash back to the string. Private
// to the L7 window.
import { fmix32 } from "./hash.ts";
import { SpaceSaving } from "./space_saving.ts";

/** Two independent 32-bit hashes of a string; read `hashA`/`hashB` after calling. */
export class StringHash {
  /** First lane of the last hash. */
  hashA = 0;
  /** Second lane of the last hash. */
  hashB = 0;

  /** Hashes `s` (FNV-1a in two lanes, finalized with MurmurHash3's mix). */
  of(s: string): void {
    let a = 0x811c9dc5 | 0;
    let b = 0x9e3779b9 | 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    this.hashA = fmix32(a ^ s.length);
    this.hashB = fmix32(b + s.length);
  }
}

/** One entry of {@linkcode StringTop.top}. */
export interface StringCount {
  /** The string. */
  key: string;
  /** Estimated count (never below the true count). */
  count: number;
}

/** The heaviest strings of a stream in fixed memory (capacity counters, about 4x strings kept). */
export class StringTop {
  readonly #ss: SpaceSaving;
  readonly #names = new Map<number, string>();
  readonly #limit: number;
  readonly #h = new StringHash();

  /** A table of `capacity` counters. */
  constructor(capacity = 64) {
    this.#ss = new SpaceSaving(capacity);
    this.#limit = capacity * 4;
  }

  /** Adds one occurrence of `s` whose hashes `a`, `b` are already computed ({@linkcode StringHash}). */
  addHashed(s: string, a: number, b: number): void {
    this.#ss.add(a, b, s.length, 0);
    if (this.#names.has(a)) return;
    if (this.#names.size >= this.#limit) this.#prune();
    this.#names.set(a, s);
  }

  /** Adds one occurrence of `s`. */
  add(s: string): void {
    this.#h.of(s);
    this.addHashed(s, this.#h.hashA, this.#h.hashB);
  }

  /** Total added since the last reset. */
  get total(): number {
    return this.#ss.total;
  }

  /** The `n` heaviest strings, count descending. */
  top(n: number): StringCount[] {
    const out: StringCount[] = [];
    for (const e of this.#ss.top(n)) {
      const key = this.#names.get(e.key[0] | 0);
      if (key !== undefined) out.push({ key, count: e.count });
    }
    return out;
  }

  /** Folds `other` into this table (afterwards it summarises both streams). */
  merge(other: StringTop): void {
    this.#ss.merge(other.#ss);
    for (const [a, s] of other.#names) {
      if (this.#names.has(a)) continue;
      if (this.#names.size >= this.#limit) this.#prune();
      this.#names.set(a, s);
    }
  }

  /** Empties the table. */
  reset(): void {
    this.#ss.reset();
    this.#names.clear();
  }

  /** Forgets the strings no counter holds any more. */
  #prune(): void {
    const h = this.#h;
    for (const [a, s] of this.#names) {
      h.of(s);
      if (this.#ss.count(a, h.hashB, s.length, 0) === 0) this.#names.delete(a);
    }
  }
}
