/**
 * The server's (and the config's) `ip_blocklist`: known-bad addresses and networks, looked up
 * without scanning the list, and incident events whose top sources it lists flagged
 * (`threat_intel: true` on the `top_src_ips` entry, a `threat_intel` note in the evidence).
 * Pure.
 *
 * @module
 */

import { parseAddress, parseCidr } from "../packet/mod.ts";

/** Most indicators kept (the server's bound): later ones are counted as left out. */
export const MAX_BLOCKLIST_INDICATORS = 50_000;
/** Listed sources named in the evidence at most. */
const NAMED_IN_EVIDENCE = 10;

/** What the evidence of a flagged incident says about its listed sources. */
export interface ThreatIntelEvidence {
  /** Top sources the blocklist lists. */
  sources: number;
  /** Their packets in the top-sources list. */
  packets: number;
  /** Their share of the top sources' packets (percent, one decimal). */
  pct: number;
  /** The first of them (at most 10), heaviest first. */
  listed: string[];
}

/**
 * A set of addresses and networks (IPv4 and IPv6, any prefix length): one hash set per prefix
 * length present, so a lookup costs one probe per distinct length (at most 129), whatever the
 * number of indicators.
 *
 * @example
 * ```ts
 * const list = new IpBlocklist(["198.18.0.7", "198.19.0.0/16"]);
 * list.match("198.19.4.5"); // "198.19.0.0/16"
 * list.match("198.18.0.8"); // null
 * ```
 */
export class IpBlocklist {
  /** Indicators held. */
  size = 0;
  /** Indicators left out: not an address or CIDR, or beyond {@linkcode MAX_BLOCKLIST_INDICATORS}. */
  invalid = 0;
  /** The first indicator left out as invalid, or null. */
  firstInvalid: string | null = null;
  /** IPv4: per prefix length (0-32), masked address -> the indicator's text; lengths longest first. */
  readonly #v4 = new Map<number, Map<number, string>>();
  #v4Lengths: number[] = [];
  /** IPv6: per prefix length (0-128), masked address key -> the indicator's text. */
  readonly #v6 = new Map<number, Map<string, string>>();
  #v6Lengths: number[] = [];
  readonly #scratch = new Uint32Array(4);

  /** Builds the set from `indicators` (addresses or CIDRs; others are counted as invalid). */
  constructor(indicators: Iterable<string> = []) {
    this.add(indicators);
  }

  /**
   * Adds `indicators` (a long list may be added in slices, so no single call holds the event
   * loop long: about 4 us an indicator).
   */
  add(indicators: Iterable<string>): void {
    for (const text of indicators) {
      const c = this.size < MAX_BLOCKLIST_INDICATORS ? parseCidr(text) : null;
      if (c === null) {
        this.invalid++;
        this.firstInvalid ??= String(text).slice(0, 64);
        continue;
      }
      if (c.v6) {
        let set = this.#v6.get(c.prefix);
        if (set === undefined) {
          this.#v6.set(c.prefix, set = new Map());
          this.#v6Lengths = [...this.#v6.keys()].sort((a, b) => b - a);
        }
        const key = v6Key(c.words, c.prefix);
        if (set.has(key)) continue;
        set.set(key, text);
      } else {
        let set = this.#v4.get(c.prefix);
        if (set === undefined) {
          this.#v4.set(c.prefix, set = new Map());
          this.#v4Lengths = [...this.#v4.keys()].sort((a, b) => b - a);
        }
        if (set.has(c.words[3])) continue;
        set.set(c.words[3], text);
      }
      this.size++;
    }
  }

  /** The indicator (as given) that holds `ip`, the most specific one; null when none does. */
  match(ip: string): string | null {
    if (this.size === 0) return null;
    let words: Uint32Array;
    try {
      words = parseAddress(ip, this.#scratch);
    } catch {
      return null;
    }
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
      const a = words[3];
      for (const bits of this.#v4Lengths) {
        const masked = bits === 0 ? 0 : (a & (0xffffffff << (32 - bits))) >>> 0;
        const hit = this.#v4.get(bits)!.get(masked);
        if (hit !== undefined) return hit;
      }
      return null;
    }
    for (const bits of this.#v6Lengths) {
      const hit = this.#v6.get(bits)!.get(v6Key(words, bits));
      if (hit !== undefined) return hit;
    }
    return null;
  }

  /**
   * `event` with each `top_src_ips` entry whose `ip` this list holds marked `threat_intel: true`
   * and a `threat_intel` object ({@linkcode ThreatIntelEvidence}) added to its evidence; the
   * event itself when none is listed (never modified: a copy is returned).
   */
  flag<E extends Record<string, unknown>>(event: E): E {
    const top = event.top_src_ips;
    if (this.size === 0 || !Array.isArray(top)) return event;
    let packets = 0, total = 0;
    const listed: string[] = [];
    const marked = top.map((entry: unknown) => {
      if (typeof entry !== "object" || entry === null) return entry;
      const e = entry as { ip?: unknown; count?: unknown };
      const count = typeof e.count === "number" && Number.isFinite(e.count) ? e.count : 0;
      total += count;
      if (typeof e.ip !== "string" || this.match(e.ip) === null) return entry;
      packets += count;
      listed.push(e.ip);
      return { ...entry, threat_intel: true };
    });
    if (listed.length === 0) return event;
    const intel: ThreatIntelEvidence = {
      sources: listed.length,
      packets,
      pct: total > 0 ? Math.round((1000 * packets) / total) / 10 : 0,
      listed: listed.slice(0, NAMED_IN_EVIDENCE),
    };
    const evidence = typeof event.evidence === "object" && event.evidence !== null
      ? { ...event.evidence, threat_intel: intel }
      : { threat_intel: intel };
    return { ...event, top_src_ips: marked, evidence };
  }
}

/** The first `bits` bits of an IPv6 address (its words, host bits not cleared) as a map key. */
function v6Key(words: ArrayLike<number>, bits: number): string {
  let key = "";
  for (let i = 0; i < 4 && bits > 32 * i; i++) {
    const keep = Math.min(32, bits - 32 * i);
    const mask = keep === 32 ? 0xffffffff : (0xffffffff << (32 - keep)) >>> 0;
    key += `${(words[i] & mask) >>> 0},`;
  }
  return key;
}
