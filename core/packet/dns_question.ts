/**
 * The question of a DNS query, read in place from a UDP payload without allocating: hashes of
 * the whole name and of its zone (the last two labels), where they lie in the buffer, and the
 * query type. Random-subdomain floods ("water torture") show as many distinct names in one zone.
 *
 * @module
 */

/** Longest name read (RFC 1035: 255 bytes). */
const MAX_NAME = 255;

/** The question of the last query read by {@linkcode readDnsQuestion} (reused). */
export class DnsQuestion {
  /** Hash of the whole name, lower-cased. */
  nameHash = 0;
  /** Hash of the zone (the last two labels), lower-cased. */
  zoneHash = 0;
  /** Offset of the name's first label length byte in the buffer. */
  nameOffset = 0;
  /** Offset of the zone's first label length byte in the buffer. */
  zoneOffset = 0;
  /** Offset of the name's terminating zero byte. */
  nameEnd = 0;
  /** Query type (1 A, 28 AAAA, 16 TXT, 255 ANY, ...). */
  qtype = 0;
}

/**
 * Reads the first question of the DNS message at `buf[offset .. offset + length)` into `out`.
 * False when it is not a standard query with one uncompressed question (a response, a cut
 * packet, a pointer in the name).
 */
export function readDnsQuestion(
  buf: Uint8Array,
  offset: number,
  length: number,
  out: DnsQuestion,
): boolean {
  const end = offset + length;
  if (length < 17) return false;
  // QR bit clear (a query), opcode 0, exactly one question.
  if ((buf[offset + 2] & 0xf8) !== 0 || buf[offset + 4] !== 0 || buf[offset + 5] !== 1) {
    return false;
  }
  let p = offset + 12;
  const start = p;
  // The zone starts at the second-to-last label: keep the starts of the last two labels.
  let last = -1, beforeLast = -1;
  while (true) {
    if (p >= end || p - start > MAX_NAME) return false;
    const len = buf[p];
    if (len === 0) break;
    if (len > 63) return false; // a pointer or a reserved label type
    beforeLast = last;
    last = p;
    p += len + 1;
  }
  if (p + 5 > end || last < 0) return false; // the type and class follow the name
  const zone = beforeLast >= 0 ? beforeLast : last;
  out.nameOffset = start;
  out.zoneOffset = zone;
  out.nameEnd = p;
  out.nameHash = hashName(buf, start, p);
  out.zoneHash = zone === start ? out.nameHash : hashName(buf, zone, p);
  out.qtype = (buf[p + 1] << 8) | buf[p + 2];
  return true;
}

/** The text of the name whose labels lie at `buf[from .. to)` (to: its zero byte). */
export function dnsNameText(buf: Uint8Array, from: number, to: number): string {
  const labels: string[] = [];
  let p = from;
  while (p < to) {
    const len = buf[p];
    let label = "";
    for (let i = 1; i <= len; i++) {
      const c = buf[p + i] | 0;
      label += c >= 0x21 && c <= 0x7e && c !== 0x2e ? String.fromCharCode(c) : "?";
    }
    labels.push(label.toLowerCase());
    p += len + 1;
  }
  return labels.join(".");
}

/** FNV-1a over the label bytes (ASCII letters lower-cased), length bytes included. */
function hashName(buf: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = from; i < to; i++) {
    let c = buf[i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}
