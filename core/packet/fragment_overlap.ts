/**
 * Overlapping ICMP fragments: a fragment that covers bytes an earlier fragment of the same
 * datagram already carried cannot be reassembled honestly (teardrop-style overlaps, ping of
 * death variants). {@linkcode IcmpFragmentWatch} remembers the byte ranges seen per datagram
 * in fixed memory and marks an overlapping ICMP fragment `Vector.ICMP_OVERSIZED`, the vector
 * of ICMP fragments that break reassembly (with those ending past 65,535 bytes).
 *
 * @module
 */

import { Fragment, type PacketMeta } from "./packet.ts";
import { Vector } from "./vectors.ts";

/** Datagrams tracked at once (direct-mapped: a newer datagram takes an older one's slot). */
const SLOTS = 1024;
/** Separate byte ranges kept per datagram; a datagram needing more is no longer judged. */
const RANGES = 4;

/**
 * Watches ICMP and ICMPv6 fragments (first and later) for overlaps, per datagram (source,
 * destination, identification). In-order and reverse-order fragments join into one range;
 * a first fragment (offset 0) seen again starts a new datagram (a sender reusing an
 * identification after the previous datagram), so only a fragment overlapping within one
 * datagram counts. Fixed memory (about 50 KB); no allocation per packet; deterministic.
 */
export class IcmpFragmentWatch {
  /** Key words per slot: source, destination (low words), identification, a mix of the rest. */
  readonly #keys = new Int32Array(SLOTS * 4);
  /** Ranges per slot, `[start, end)` pairs. */
  readonly #ranges = new Int32Array(SLOTS * RANGES * 2);
  /** Ranges in use per slot; 0: empty slot; -1: too many ranges, not judged. */
  readonly #count = new Int8Array(SLOTS);
  /** Overlapping fragments marked so far. */
  overlaps = 0;

  /**
   * Marks `meta` (a decoded packet) `Vector.ICMP_OVERSIZED` when it is an ICMP fragment
   * overlapping an earlier fragment of its datagram; returns whether it did.
   */
  mark(meta: PacketMeta): boolean {
    if (meta.fragment === Fragment.NONE || meta.malformed !== 0) return false;
    if (meta.fragEnd <= meta.fragOffset) return false;
    const p = meta.protocol;
    if (p !== 1 && p !== 58) return false;
    const s = meta.src, d = meta.dst;
    const k0 = s[3] | 0, k1 = d[3] | 0, k2 = meta.fragId | 0;
    const k3 = (s[0] ^ s[1] ^ s[2] ^ Math.imul(d[0] ^ d[1] ^ d[2], 31) ^ (p << 24)) | 0;
    const slot =
      (Math.imul(k0 ^ Math.imul(k1, 0x9e3779b1) ^ Math.imul(k2, 0x85ebca6b), 0xc2b2ae35) >>> 22) &
      (SLOTS - 1);
    const keys = this.#keys, ranges = this.#ranges, base = slot * RANGES * 2;
    const start = meta.fragOffset, end = meta.fragEnd;
    const o = slot * 4;
    const same = this.#count[slot] !== 0 && keys[o] === k0 && keys[o + 1] === k1 &&
      keys[o + 2] === k2 && keys[o + 3] === k3;
    if (!same || start === 0) {
      keys[o] = k0;
      keys[o + 1] = k1;
      keys[o + 2] = k2;
      keys[o + 3] = k3;
      this.#count[slot] = 1;
      ranges[base] = start;
      ranges[base + 1] = end;
      return false;
    }
    const n = this.#count[slot];
    if (n < 0) return false;
    for (let i = 0; i < n; i++) {
      if (start < ranges[base + 2 * i + 1] && end > ranges[base + 2 * i]) {
        meta.vector = Vector.ICMP_OVERSIZED;
        this.overlaps++;
        return true;
      }
    }
    for (let i = 0; i < n; i++) {
      if (ranges[base + 2 * i + 1] === start) {
        ranges[base + 2 * i + 1] = end;
        return false;
      }
      if (ranges[base + 2 * i] === end) {
        ranges[base + 2 * i] = start;
        return false;
      }
    }
    if (n === RANGES) {
      this.#count[slot] = -1;
      return false;
    }
    ranges[base + 2 * n] = start;
    ranges[base + 2 * n + 1] = end;
    this.#count[slot] = n + 1;
    return false;
  }

  /** Forgets every datagram (a new capture). */
  reset(): void {
    this.#count.fill(0);
    this.overlaps = 0;
  }
}
