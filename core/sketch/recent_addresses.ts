/**
 * An approximate set of addresses seen recently, in fixed memory: the sources a host has been
 * talking with, so a rise carried by them can be told from one carried by strangers.
 *
 * @module
 */

import { hashWords } from "./hash.ts";

/** Bits per generation (16 KiB): one bit per address hash. */
const BITS = 1 << 17;
const MASK = BITS - 1;

/**
 * Addresses seen in the current or the previous generation, as one bit per hash (a Bloom
 * filter with one hash function): {@linkcode has} never misses an address added in either
 * generation, and says yes for an address never added with probability about the fraction of
 * bits set (1,000 addresses: under 1%; 10,000: about 7%). {@linkcode rotate} starts a new
 * generation and forgets the one before the previous, so an address is kept for one to two
 * generations after it was last added.
 *
 * The last address asked about is remembered with its answer: a flood from one source costs a
 * comparison per packet.
 */
export class RecentAddresses {
  #current = new Uint32Array(BITS >>> 5);
  #previous = new Uint32Array(BITS >>> 5);
  #w0 = 0;
  #w1 = 0;
  #w2 = 0;
  #w3 = 0;
  /** Answer for the remembered address: -1 none remembered, 0 no, 1 yes. */
  #answer = -1;

  /** Adds `address` (four words) to the current generation. */
  add(address: Uint32Array): void {
    const h = hashWords(address[0] | 0, address[1] | 0, address[2] | 0, address[3] | 0) & MASK;
    this.#current[h >>> 5] |= 1 << (h & 31);
    if (this.#answer === 0) this.#answer = -1;
  }

  /** Whether `address` was added in this or the previous generation (see the class doc). */
  has(address: Uint32Array): boolean {
    const w0 = address[0] | 0, w1 = address[1] | 0, w2 = address[2] | 0, w3 = address[3] | 0;
    if (
      this.#answer >= 0 && w3 === this.#w3 && w2 === this.#w2 && w1 === this.#w1 && w0 === this.#w0
    ) return this.#answer === 1;
    const h = hashWords(w0, w1, w2, w3) & MASK;
    const bit = 1 << (h & 31);
    const yes = ((this.#current[h >>> 5] | this.#previous[h >>> 5]) & bit) !== 0;
    this.#w0 = w0;
    this.#w1 = w1;
    this.#w2 = w2;
    this.#w3 = w3;
    this.#answer = yes ? 1 : 0;
    return yes;
  }

  /** Starts a new generation: the previous one is forgotten, the current one becomes previous. */
  rotate(): void {
    const old = this.#previous;
    this.#previous = this.#current;
    old.fill(0);
    this.#current = old;
    this.#answer = -1;
  }

  /** Forgets every address. */
  clear(): void {
    this.#current.fill(0);
    this.#previous.fill(0);
    this.#answer = -1;
  }
}
