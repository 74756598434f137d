/**
 * Text form of the 4-word addresses used throughout the agent (see `PacketMeta.src`):
 * IPv4 as dotted quads for IPv4-mapped addresses (`::ffff:0:0/96`), everything else as
 * RFC 5952 compressed IPv6; and parsing text back (tests, configuration).
 *
 * @module
 */

/**
 * Formats an address given as four 32-bit words in network order.
 *
 * IPv4-mapped addresses (`0, 0, 0xffff, a`) print as dotted quads (`192.0.2.1`); all others
 * as RFC 5952 text: lowercase hex, no leading zeros, the longest run of two or more zero
 * groups (the first one on a tie) replaced by `::`.
 *
 * @example
 * ```ts
 * formatAddress([0, 0, 0xffff, 0xc0000201]); // "192.0.2.1"
 * formatAddress([0x20010db8, 0, 0, 1]); // "2001:db8::1"
 * ```
 */
export function formatAddress(words: ArrayLike<number>): string {
  return formatAddressWords(words[0], words[1], words[2], words[3]);
}

/** {@linkcode formatAddress} with the four words passed separately (no array needed). */
export function formatAddressWords(w0: number, w1: number, w2: number, w3: number): string {
  w0 >>>= 0;
  w1 >>>= 0;
  w2 >>>= 0;
  w3 >>>= 0;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return formatIpv4(w3);
  const groups = [
    w0 >>> 16,
    w0 & 0xffff,
    w1 >>> 16,
    w1 & 0xffff,
    w2 >>> 16,
    w2 & 0xffff,
    w3 >>> 16,
    w3 & 0xffff,
  ];
  // Longest run of zero groups, first one on a tie; a single zero group is not compressed.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map(hex).join(":");
  const head = groups.slice(0, bestStart).map(hex).join(":");
  const tail = groups.slice(bestStart + bestLen).map(hex).join(":");
  return `${head}::${tail}`;
}

/** Formats a 32-bit IPv4 address (network order as a number) as a dotted quad. */
function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

function hex(g: number): string {
  return g.toString(16);
}

/**
 * Parses an IPv4 dotted quad (into the mapped form `0, 0, 0xffff, a`) or IPv6 text (full,
 * `::`-compressed, or with a dotted IPv4 tail such as `::ffff:192.0.2.1`) into four words.
 * Zone ids, brackets, prefixes and IPv4 octets with leading zeros are rejected.
 *
 * @throws {TypeError} when `text` is not an address.
 * @example
 * ```ts
 * parseAddress("10.0.0.1"); // Uint32Array [0, 0, 0xffff, 0x0a000001]
 * parseAddress("2001:db8::1"); // Uint32Array [0x20010db8, 0, 0, 1]
 * ```
 */
export function parseAddress(text: string, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  if (text.includes(":")) {
    if (!parseIpv6(text, out)) throw new TypeError(`invalid IPv6 address: ${JSON.stringify(text)}`);
    return out;
  }
  const v4 = parseIpv4(text);
  if (v4 < 0) throw new TypeError(`invalid IP address: ${JSON.stringify(text)}`);
  out[0] = 0;
  out[1] = 0;
  out[2] = 0xffff;
  out[3] = v4;
  return out;
}

/** True when `text` is an IPv4 or IPv6 address {@linkcode parseAddress} accepts. */
export function isAddress(text: string): boolean {
  return text.includes(":") ? parseIpv6(text, new Uint32Array(4)) : parseIpv4(text) >= 0;
}

const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** A dotted quad as an unsigned 32-bit number, or -1 when invalid. */
function parseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!DEC_OCTET.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

function parseIpv6(text: string, out: Uint32Array): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const groups: number[] = [];
  const pushGroups = (parts: string[], last: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (last && i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 < 0) return false;
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!HEX_GROUP.test(p)) return false;
        groups.push(parseInt(p, 16));
      }
    }
    return true;
  };
  const compressed = halves.length === 2;
  if (!pushGroups(head, !compressed)) return false;
  const headLen = groups.length;
  if (!pushGroups(tail, true)) return false;
  const tailLen = groups.length - headLen;
  if (compressed) {
    // "::" stands for at least one zero group.
    if (headLen + tailLen > 7) return false;
    groups.splice(headLen, 0, ...new Array(8 - headLen - tailLen).fill(0));
  } else if (groups.length !== 8) {
    return false;
  }
  for (let w = 0; w < 4; w++) out[w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return true;
}
