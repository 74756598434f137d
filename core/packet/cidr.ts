/**
 * IP networks (`198.18.0.0/15`, `2001:db8::/32`, or a plain address): parsing into a canonical
 * form and overlap. Mitigation uses them for allowlists and blocked sources.
 *
 * @module
 */

import { formatAddress, parseAddress } from "./address.ts";

/** A parsed network: the address with host bits cleared, and its prefix length. */
export interface Cidr {
  /** True for IPv6 (IPv4 is kept in the mapped form `::ffff:a.b.c.d`). */
  v6: boolean;
  /** Four 32-bit words (IPv4-mapped for IPv4), host bits cleared. */
  words: Uint32Array;
  /** Prefix length in the address family's own terms (0-32 for IPv4, 0-128 for IPv6). */
  prefix: number;
}

/** Parses `a.b.c.d[/n]` or an IPv6 address `[/n]`; null when invalid. */
export function parseCidr(text: string): Cidr | null {
  if (typeof text !== "string" || text.length > 64) return null;
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  let words: Uint32Array;
  try {
    words = parseAddress(addr);
  } catch {
    return null;
  }
  const v6 = addr.includes(":");
  // IPv4-mapped IPv6 text is ambiguous (which family's firewall?): refused.
  if (v6 && words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return null;
  const max = v6 ? 128 : 32;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  const cidr = { v6, words, prefix };
  clearHostBits(cidr);
  return cidr;
}

/** Canonical text: the address alone for a single host, else `address/prefix`. */
export function formatCidr(cidr: Cidr): string {
  const addr = formatAddress(cidr.words);
  return cidr.prefix === (cidr.v6 ? 128 : 32) ? addr : `${addr}/${cidr.prefix}`;
}

/** The canonical text of `text` ({@linkcode formatCidr}), or null when it is not a network. */
export function canonicalCidr(text: string): string | null {
  const c = parseCidr(text);
  return c === null ? null : formatCidr(c);
}

/** True when the two networks share at least one address (one contains the other). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.v6 !== b.v6) return false;
  return matches(a.words, b.words, mappedPrefix(Math.min(a.prefix, b.prefix), a.v6));
}

function mappedPrefix(prefix: number, v6: boolean): number {
  return v6 ? prefix : 96 + prefix;
}

function matches(a: Uint32Array, b: Uint32Array, bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const n = Math.max(0, Math.min(32, bits - 32 * i));
    if (n === 0) return true;
    const mask = n === 32 ? 0xffffffff : ~(0xffffffff >>> n) >>> 0;
    if (((a[i] ^ b[i]) & mask) >>> 0 !== 0) return false;
  }
  return true;
}

function clearHostBits(cidr: Cidr): void {
  const bits = mappedPrefix(cidr.prefix, cidr.v6);
  for (let i = 0; i < 4; i++) {
    const n = Math.max(0, Math.min(32, bits - 32 * i));
    const mask = n === 32 ? 0xffffffff : n === 0 ? 0 : ~(0xffffffff >>> n) >>> 0;
    cidr.words[i] = (cidr.words[i] & mask) >>> 0;
  }
}
