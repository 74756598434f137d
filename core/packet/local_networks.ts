/**
 * The addresses an agent protects (the host's own, or a network's), and the direction of a
 * packet relative to them: traffic from a protected address to an outside one is outbound
 * (the host's answers, its downloads' ACKs, its own floods); everything else is inbound.
 *
 * @module
 */

import { type Cidr, parseCidr } from "./cidr.ts";

/** Most networks a {@linkcode LocalNetworks} holds (a host has a handful; a network some). */
export const MAX_LOCAL_NETWORKS = 1024;

/**
 * A set of protected networks, matched per packet without allocating. Empty means unknown:
 * then no packet is outbound (every packet counts as inbound, as on a mirror port with no
 * networks configured).
 *
 * @example
 * ```ts
 * import { LocalNetworks, parseAddress } from "./mod.ts";
 *
 * const local = new LocalNetworks();
 * local.set(["198.18.0.0/27", "2001:2::1"]);
 * local.isOutbound(parseAddress("198.18.0.1"), parseAddress("198.18.5.9")); // true
 * ```
 */
export class LocalNetworks {
  /** Network words (IPv4-mapped for IPv4) and masks, four words per network. */
  #words = new Uint32Array(0);
  #masks = new Uint32Array(0);
  #count = 0;
  #texts: string[] = [];

  /** Networks held. */
  get size(): number {
    return this.#count;
  }

  /** The networks, as given (for status and logs). */
  get networks(): readonly string[] {
    return this.#texts;
  }

  /**
   * Replaces the set with `networks` (addresses or CIDRs); returns the entries that are not
   * networks (left out). At most {@linkcode MAX_LOCAL_NETWORKS} are kept.
   */
  set(networks: readonly string[]): string[] {
    const parsed: Cidr[] = [];
    const bad: string[] = [];
    const texts: string[] = [];
    for (const text of networks) {
      const c = parseCidr(text);
      if (c === null) bad.push(text);
      else if (parsed.length < MAX_LOCAL_NETWORKS) {
        parsed.push(c);
        texts.push(text);
      }
    }
    this.#words = new Uint32Array(parsed.length * 4);
    this.#masks = new Uint32Array(parsed.length * 4);
    parsed.forEach((c, n) => {
      const bits = c.v6 ? c.prefix : 96 + c.prefix;
      for (let i = 0; i < 4; i++) {
        const k = Math.max(0, Math.min(32, bits - 32 * i));
        this.#masks[n * 4 + i] = k === 0 ? 0 : (0xffffffff << (32 - k)) >>> 0;
        this.#words[n * 4 + i] = c.words[i];
      }
    });
    this.#count = parsed.length;
    this.#texts = texts;
    return bad;
  }

  /** Whether `address` (four words, IPv4-mapped for IPv4) is in one of the networks. */
  has(address: Uint32Array): boolean {
    const w = this.#words, m = this.#masks;
    const a0 = address[0], a1 = address[1], a2 = address[2], a3 = address[3];
    for (let n = 0, j = 0; n < this.#count; n++, j += 4) {
      if (
        ((a3 & m[j + 3]) >>> 0) === w[j + 3] && ((a2 & m[j + 2]) >>> 0) === w[j + 2] &&
        ((a1 & m[j + 1]) >>> 0) === w[j + 1] && ((a0 & m[j]) >>> 0) === w[j]
      ) return true;
    }
    return false;
  }

  /** Whether a packet from `src` to `dst` leaves the protected networks (false when empty). */
  isOutbound(src: Uint32Array, dst: Uint32Array): boolean {
    return this.#count !== 0 && this.has(src) && !this.has(dst);
  }
}
