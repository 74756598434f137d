/**
 * 32-bit hashes of 4-word keys (addresses, ports), shared by the sketches so one hash per
 * packet can feed the HyperLogLog, the entropy buckets and a top-K table.
 *
 * Private helper: the hash is an implementation detail of the sketches, not a stable format.
 *
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED = 0x5bd1e995;

/**
 * MurmurHash3 (x86, 32-bit) of the 16 bytes held by four 32-bit words, as a SIGNED 32-bit
 * integer (so it stays a small integer in V8 and is never boxed when passed around). Every
 * bit of the result depends on every input bit, so both its high bits (HyperLogLog register
 * index) and its low bits (bucket and table indexes) are usable. Words may be given signed
 * or unsigned: only their low 32 bits count.
 */
export function hashWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = SEED;
  let k = Math.imul(w0, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;

  k = Math.imul(w1, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;

  k = Math.imul(w2, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;

  k = Math.imul(w3, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;

  h ^= 16;
  return fmix32(h);
}

/**
 * The MurmurHash3 finalizer: a bijection on 32-bit integers with full avalanche; the result
 * is a signed 32-bit integer.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
