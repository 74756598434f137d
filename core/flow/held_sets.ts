/**
 * Data sets that arrived before their template, held briefly (bounded in count, bytes and
 * age) until the template comes or they are dropped.
 *
 * @module
 */

/** Bounds of {@linkcode HeldSets}. */
export interface HeldLimits {
  /** Sets held at most (default 64). */
  maxHeldSets?: number;
  /** Bytes held at most, over all sets (default 256 KiB). */
  maxHeldBytes?: number;
  /** A set is held this long at most (µs of packet time, default 5 s). */
  maxHeldAgeUs?: number;
}

/** One held data set, with the header values its records need. */
export interface HeldSet {
  /** Exporter key (see `exporterKey`). */
  exporter: number | string;
  /** The exporter's address words. */
  exporterWords: Uint32Array;
  /** 9 or 10. */
  version: number;
  /** Source id / observation domain. */
  domain: number;
  /** Template id the set names. */
  templateId: number;
  /** Header: export time (Unix seconds). */
  unixSecs: number;
  /** Header: NetFlow v9 sysUptime (ms; 0 for IPFIX). */
  uptimeMs: number;
  /** The set's records (a copy). */
  bytes: Uint8Array;
  /** Packet time it arrived (µs). */
  arrivedUs: number;
}

/**
 * Holds data sets whose template is unknown.
 *
 * - {@linkcode hold} refuses (false) a set when holding it would pass `maxHeldSets` or
 *   `maxHeldBytes`: the caller counts it as dropped.
 * - {@linkcode expire} drops the sets older than `maxHeldAgeUs` and says how many.
 * - {@linkcode take} removes and returns the sets of one exporter, domain and template id, in
 *   arrival order.
 */
export class HeldSets {
  readonly #maxSets: number;
  readonly #maxBytes: number;
  readonly #maxAgeUs: number;
  #sets: HeldSet[] = [];
  #bytes = 0;

  /** Creates an empty store with the given bounds. */
  constructor(limits: HeldLimits = {}) {
    this.#maxSets = limits.maxHeldSets ?? 64;
    this.#maxBytes = limits.maxHeldBytes ?? 256 * 1024;
    this.#maxAgeUs = limits.maxHeldAgeUs ?? 5e6;
  }

  /** Sets held now. */
  get size(): number {
    return this.#sets.length;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Holds `set`; false (not held) when a bound would be passed. */
  hold(set: HeldSet): boolean {
    if (this.#sets.length >= this.#maxSets) return false;
    if (this.#bytes + set.bytes.length > this.#maxBytes) return false;
    this.#sets.push(set);
    this.#bytes += set.bytes.length;
    return true;
  }

  /** Drops the sets held longer than the age bound at `nowUs`; returns how many. */
  expire(nowUs: number): number {
    if (this.#sets.length === 0) return 0;
    const keep = this.#sets.filter((s) => nowUs - s.arrivedUs <= this.#maxAgeUs);
    const dropped = this.#sets.length - keep.length;
    if (dropped > 0) this.#replace(keep);
    return dropped;
  }

  /** Removes and returns the sets waiting for this template (empty when none). */
  take(exporter: number | string, domain: number, templateId: number): HeldSet[] {
    if (this.#sets.length === 0) return [];
    const found: HeldSet[] = [];
    const keep: HeldSet[] = [];
    for (const s of this.#sets) {
      const match = s.exporter === exporter && s.domain === domain && s.templateId === templateId;
      (match ? found : keep).push(s);
    }
    if (found.length > 0) this.#replace(keep);
    return found;
  }

  #replace(sets: HeldSet[]): void {
    this.#sets = sets;
    this.#bytes = 0;
    for (const s of sets) this.#bytes += s.bytes.length;
  }
}
