/**
 * Addresses mitigation must never block: loopback always, plus what the agent passes in (the
 * host's own addresses, its default gateway, the API host's addresses, the config's CIDRs).
 *
 * @module
 */

import { type Cidr, cidrsOverlap, formatCidr, parseCidr } from "../packet/mod.ts";

/** Loopback and unspecified networks: never blocked whatever the config says. */
export const ALWAYS_ALLOWED: readonly string[] = ["127.0.0.0/8", "::1", "0.0.0.0/32", "::"];

/** A set of networks that may never be blocked. */
export class Allowlist {
  readonly #entries: { cidr: Cidr; why: string }[] = [];

  /** Creates the list with {@linkcode ALWAYS_ALLOWED} and `entries` (invalid ones are skipped). */
  constructor(entries: readonly { cidr: string; why: string }[] = []) {
    for (const c of ALWAYS_ALLOWED) this.add(c, "loopback");
    for (const e of entries) this.add(e.cidr, e.why);
  }

  /** Adds a network (`why` names where it came from); false when `cidr` is invalid. */
  add(cidr: string, why: string): boolean {
    const parsed = parseCidr(cidr);
    if (parsed === null) return false;
    this.#entries.push({ cidr: parsed, why });
    return true;
  }

  /** Why `source` (an address or network) may not be blocked, or null when it may. */
  protects(source: string): string | null {
    const c = parseCidr(source);
    if (c === null) return `invalid address ${JSON.stringify(source)}`;
    for (const e of this.#entries) {
      if (cidrsOverlap(c, e.cidr)) {
        return `${source} is allowlisted (${e.why} ${formatCidr(e.cidr)})`;
      }
    }
    return null;
  }
}
