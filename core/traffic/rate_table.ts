/**
 * Sliding one-second rates of the attack vectors, per destination address, in 100 ms slots of
 * packet time. A bounded number of destinations is tracked individually; the rest share one
 * "other destinations" row, so memory is fixed whatever the traffic.
 *
 * @module
 */

import { hashWords } from "../sketch/mod.ts";
import {
  addKinds,
  completeVectors,
  KIND_COUNT,
  packetKind,
  type PacketMeta,
  Vector,
  VECTOR_COUNT,
} from "../packet/mod.ts";

/** Slots per second: rates are evaluated every 1/SLOTS s over the last second. */
export const SLOTS = 10;
/** Length of one slot, microseconds. */
export const SLOT_US = 1_000_000 / SLOTS;
/** Slots in the ring: the SLOTS completed ones the sums cover, and the one counting now. */
const RING = SLOTS + 1;

/**
 * Vector counters per destination row and slot. Row `capacity` is the shared row of untracked
 * destinations and non-IP frames. {@linkcode RateTable.sums} holds, per row, the sums of the
 * last {@linkcode SLOTS} completed slots: the rates of the last second.
 *
 * Per packet, the slot being counted only takes the packet's kind (see `packetKind`) and bytes;
 * {@linkcode RateTable.finishSlot} turns the kinds into vector counters once per slot.
 */
export class RateTable {
  /** Rows tracked individually (the shared row is `capacity`). */
  readonly capacity: number;
  /** Counters of every row and ring slot: `((row * (SLOTS + 1)) + slot) * VECTOR_COUNT + vector`. */
  readonly counters: Float64Array;
  /** Sliding one-second sums: `row * VECTOR_COUNT + vector`. */
  readonly sums: Float64Array;
  /** Address words of each tracked row (`row * 4`). */
  readonly keys: Int32Array;
  /** Whether a row holds a destination. */
  readonly used: Uint8Array;
  /** Whether a row may not be evicted (an incident watches it). */
  readonly pinned: Uint8Array;
  /** The ring slot packets are counted into now. */
  slot = 0;

  /** Packets per kind of each row in the slot being counted: `row * KIND_COUNT + kind`. */
  readonly #kinds: Int32Array;
  /** Bytes of each row in the slot being counted (floats: exact to 2^53 bytes a slot). */
  readonly #bytes: Float64Array;
  /** Packets of each row from known sources in the slot being counted. */
  readonly #known: Int32Array;

  readonly #index: Int32Array;
  readonly #mask: number;
  #freeRows: number;
  // The two last destinations looked up (address words as int32) and their rows. Forgotten
  // entries hold the unspecified address `::`, which is never a destination, with the shared row.
  #a0 = 0;
  #a1 = 0;
  #a2 = 0;
  #a3 = 0;
  #aRow: number;
  #b0 = 0;
  #b1 = 0;
  #b2 = 0;
  #b3 = 0;
  #bRow: number;

  /** Creates a table tracking up to `capacity` destinations. */
  constructor(capacity: number) {
    this.capacity = capacity;
    this.#aRow = capacity;
    this.#bRow = capacity;
    this.counters = new Float64Array((capacity + 1) * RING * VECTOR_COUNT);
    this.#kinds = new Int32Array((capacity + 1) * KIND_COUNT);
    this.#bytes = new Float64Array(capacity + 1);
    this.#known = new Int32Array(capacity + 1);
    this.sums = new Float64Array((capacity + 1) * VECTOR_COUNT);
    this.keys = new Int32Array(capacity * 4);
    this.used = new Uint8Array(capacity);
    this.pinned = new Uint8Array(capacity);
    let size = 16;
    while (size < capacity * 4) size <<= 1;
    this.#index = new Int32Array(size).fill(-1);
    this.#freeRows = capacity;
    this.#mask = size - 1;
  }

  /** Counts a decoded packet in its destination's row; returns the row. Allocation-free. */
  add(meta: PacketMeta): number {
    // Small on purpose, so the pipeline inlines it: the two last destinations are remembered
    // (a flood; a host's IPv4 and IPv6 addresses), the others are looked up.
    const d = meta.dst;
    const w0 = d[0] | 0, w1 = d[1] | 0, w2 = d[2] | 0, w3 = d[3] | 0;
    let row: number;
    if (meta.ipVersion === 0 || meta.malformed !== 0) row = this.capacity;
    else if (w3 === this.#a3 && w2 === this.#a2 && w1 === this.#a1 && w0 === this.#a0) {
      row = this.#aRow;
    } else if (w3 === this.#b3 && w2 === this.#b2 && w1 === this.#b1 && w0 === this.#b0) {
      row = this.#bRow;
    } else row = this.#remember(w0, w1, w2, w3);
    this.#kinds[row * KIND_COUNT + packetKind(meta)]++;
    this.#bytes[row] += meta.wireLen;
    return row;
  }

  /**
   * Counts `meta` as `packets` packets (a whole number below 2^31) of `bytes` bytes in all (a
   * flow record's share, an sFlow sample); returns the row. Once per record, not per packet.
   */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): number {
    const row = this.add(meta);
    this.#kinds[row * KIND_COUNT + packetKind(meta)] += packets - 1;
    this.#bytes[row] += bytes - meta.wireLen;
    return row;
  }

  /**
   * Counts `meta` as `packets` packets of `bytes` bytes in `row` (one {@linkcode claim}ed),
   * whatever its destination: a prefix's total.
   */
  addAt(row: number, meta: PacketMeta, packets: number, bytes: number): void {
    this.#kinds[row * KIND_COUNT + packetKind(meta)] += packets;
    this.#bytes[row] += bytes;
  }

  /**
   * Tracks the destination `words` (four words) now, before any packet: its row (the one it
   * has when already tracked), or -1 when no row is free.
   */
  claim(words: ArrayLike<number>): number {
    const r = this.#find(words[0] | 0, words[1] | 0, words[2] | 0, words[3] | 0, true);
    this.#forget(this.capacity); // remembered as untracked: look it up again
    return r === this.capacity ? -1 : r;
  }

  /** The `packets` just counted in `row` by {@linkcode addWeighted} came from a known source. */
  countKnownWeighted(row: number, packets: number): void {
    this.#known[row] += packets;
  }

  /** Counts a packet in the shared row without looking its destination up (outbound traffic). */
  addShared(meta: PacketMeta): void {
    const row = this.capacity;
    this.#kinds[row * KIND_COUNT + packetKind(meta)]++;
    this.#bytes[row] += meta.wireLen;
  }

  /** The packet just counted in `row` came from a known source (`Vector.KNOWN`). */
  countKnown(row: number): void {
    this.#known[row]++;
  }

  /** The row of a destination that is neither remembered one; it replaces the older one. */
  #remember(w0: number, w1: number, w2: number, w3: number): number {
    const row = this.#find(w0, w1, w2, w3, true);
    this.#b0 = this.#a0;
    this.#b1 = this.#a1;
    this.#b2 = this.#a2;
    this.#b3 = this.#a3;
    this.#bRow = this.#aRow;
    this.#a0 = w0;
    this.#a1 = w1;
    this.#a2 = w2;
    this.#a3 = w3;
    this.#aRow = row;
    return row;
  }

  /** Puts the ring at absolute slot number `slotNo` (slots of {@linkcode SLOT_US} since the epoch). */
  setSlot(slotNo: number): void {
    this.slot = slotNo % RING;
  }

  /** The counters of `row` in the slot being counted now (before {@linkcode rotate}). */
  current(row: number): Float64Array {
    const b = (row * RING + this.slot) * VECTOR_COUNT;
    return this.counters.subarray(b, b + VECTOR_COUNT);
  }

  /** The row of a destination, or -1 when it is not tracked. */
  rowOf(words: ArrayLike<number>): number {
    const r = this.#find(words[0] | 0, words[1] | 0, words[2] | 0, words[3] | 0, false);
    return r === this.capacity ? -1 : r;
  }

  /** Fills the vector counters of the slot being counted (before reading it or rotating). */
  finishSlot(): void {
    for (let row = 0; row <= this.capacity; row++) {
      if (row < this.capacity && !this.used[row]) continue;
      const base = (row * RING + this.slot) * VECTOR_COUNT;
      addKinds(this.#kinds, row * KIND_COUNT, this.counters, base);
      this.counters[base + Vector.BYTES] += this.#bytes[row];
      this.#bytes[row] = 0;
      this.counters[base + Vector.KNOWN] += this.#known[row];
      this.#known[row] = 0;
      completeVectors(this.counters, base);
    }
  }

  /**
   * Closes the current slot (after {@linkcode finishSlot}): it joins the sliding sums, the slot
   * a second older leaves them, and counting moves to the next slot.
   */
  rotate(): void {
    const done = this.slot;
    const next = (done + 1) % RING;
    const c = this.counters;
    const s = this.sums;
    for (let row = 0; row <= this.capacity; row++) {
      if (row < this.capacity && !this.used[row]) continue;
      const sb = row * VECTOR_COUNT;
      const db = (row * RING + done) * VECTOR_COUNT;
      const nb = (row * RING + next) * VECTOR_COUNT;
      for (let v = 0; v < VECTOR_COUNT; v++) {
        s[sb + v] += c[db + v] - c[nb + v];
        c[nb + v] = 0;
      }
    }
    this.slot = next;
  }

  /** Sum of vector `v` of `row` over the last `n` completed slots (n <= SLOTS). */
  recent(row: number, v: number, n: number): number {
    let total = 0;
    for (let i = 1; i <= n; i++) {
      const slot = (this.slot - i + RING) % RING;
      total += this.counters[(row * RING + slot) * VECTOR_COUNT + v];
    }
    return total;
  }

  /** Sum of vector `v` over every row (the whole interface) and the last `n` completed slots. */
  recentTotal(v: number, n: number): number {
    let total = 0;
    for (let row = 0; row <= this.capacity; row++) total += this.recent(row, v, n);
    return total;
  }

  /** Writes the sliding one-second sums of the whole interface (every row) to `out`. */
  totals(out: Float64Array): void {
    out.fill(0);
    const sums = this.sums;
    for (let row = 0; row <= this.capacity; row++) {
      if (row < this.capacity && !this.used[row]) continue;
      const b = row * VECTOR_COUNT;
      for (let v = 0; v < VECTOR_COUNT; v++) out[v] += sums[b + v];
    }
  }

  /** Writes the counters of the slot being counted, summed over every row, to `out`. */
  currentTotals(out: Float64Array): void {
    out.fill(0);
    const c = this.counters;
    for (let row = 0; row <= this.capacity; row++) {
      const b = (row * RING + this.slot) * VECTOR_COUNT;
      for (let v = 0; v < VECTOR_COUNT; v++) out[v] += c[b + v];
    }
  }

  /** Forgets every count (after a long gap in packet time). Tracked destinations stay. */
  clear(): void {
    this.counters.fill(0);
    this.sums.fill(0);
    this.#kinds.fill(0);
    this.#bytes.fill(0);
    this.#known.fill(0);
  }

  /**
   * Frees up to `max` unpinned rows whose last-second packet count is below `quietPackets`,
   * quietest first, so new destinations can be tracked. Returns how many were freed.
   */
  evictQuiet(max: number, quietPackets: number): number {
    let freed = 0;
    while (freed < max) {
      let best = -1;
      let bestCount = quietPackets;
      for (let row = 0; row < this.capacity; row++) {
        if (!this.used[row] || this.pinned[row]) continue;
        const n = this.sums[row * VECTOR_COUNT];
        if (n < bestCount) {
          best = row;
          bestCount = n;
        }
      }
      if (best < 0) break;
      this.#free(best);
      freed++;
    }
    if (freed > 0) {
      this.#reindex();
      // Destinations remembered as untracked may get a row now.
      this.#forget(this.capacity);
    }
    return freed;
  }

  /** Frees unpinned row `row` now (its counts join the shared row, as in {@linkcode evictQuiet}). */
  evict(row: number): void {
    if (!this.used[row] || this.pinned[row]) return;
    this.#free(row);
    this.#reindex();
    this.#forget(this.capacity);
  }

  /** Number of destinations tracked now. */
  get tracked(): number {
    return this.capacity - this.#freeRows;
  }

  #find(w0: number, w1: number, w2: number, w3: number, insert: boolean): number {
    const mask = this.#mask;
    const idx = this.#index;
    const keys = this.keys;
    let i = hashWords(w0, w1, w2, w3) & mask;
    for (;;) {
      const row = idx[i];
      if (row < 0) break;
      const k = row * 4;
      if (keys[k + 3] === w3 && keys[k + 2] === w2 && keys[k + 1] === w1 && keys[k] === w0) {
        return row;
      }
      i = (i + 1) & mask;
    }
    if (!insert || this.#freeRows === 0) return this.capacity;
    const row = this.used.indexOf(0);
    this.used[row] = 1;
    this.#freeRows--;
    const k = row * 4;
    keys[k] = w0;
    keys[k + 1] = w1;
    keys[k + 2] = w2;
    keys[k + 3] = w3;
    idx[i] = row;
    return row;
  }

  #free(row: number): void {
    this.used[row] = 0;
    this.#freeRows++;
    const c = this.counters;
    // The row's counts move to the shared row so interface totals stay exact.
    const shared = this.capacity;
    for (let slot = 0; slot < RING; slot++) {
      const from = (row * RING + slot) * VECTOR_COUNT;
      const to = (shared * RING + slot) * VECTOR_COUNT;
      for (let v = 0; v < VECTOR_COUNT; v++) {
        c[to + v] += c[from + v];
        c[from + v] = 0;
      }
    }
    for (let v = 0; v < VECTOR_COUNT; v++) {
      this.sums[shared * VECTOR_COUNT + v] += this.sums[row * VECTOR_COUNT + v];
      this.sums[row * VECTOR_COUNT + v] = 0;
    }
    const kinds = this.#kinds;
    for (let k = 0; k < KIND_COUNT; k++) {
      kinds[shared * KIND_COUNT + k] += kinds[row * KIND_COUNT + k];
      kinds[row * KIND_COUNT + k] = 0;
    }
    this.#bytes[shared] += this.#bytes[row];
    this.#bytes[row] = 0;
    this.#known[shared] += this.#known[row];
    this.#known[row] = 0;
    this.#forget(row);
  }

  /** Drops the remembered destinations that map to `row`. */
  #forget(row: number): void {
    if (this.#aRow === row) {
      this.#a0 = 0;
      this.#a1 = 0;
      this.#a2 = 0;
      this.#a3 = 0;
      this.#aRow = this.capacity;
    }
    if (this.#bRow === row) {
      this.#b0 = 0;
      this.#b1 = 0;
      this.#b2 = 0;
      this.#b3 = 0;
      this.#bRow = this.capacity;
    }
  }

  #reindex(): void {
    const idx = this.#index;
    idx.fill(-1);
    const mask = this.#mask;
    const keys = this.keys;
    for (let row = 0; row < this.capacity; row++) {
      if (!this.used[row]) continue;
      const k = row * 4;
      let i = hashWords(keys[k], keys[k + 1], keys[k + 2], keys[k + 3]) & mask;
      while (idx[i] >= 0) i = (i + 1) & mask;
      idx[i] = row;
    }
  }
}
