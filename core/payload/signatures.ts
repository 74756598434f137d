/**
 * Built-in payload signatures of amplification answers: the first bytes a reflector's answer
 * starts with, checked on UDP payloads from the service's port.
 *
 * @module
 */

/** One built-in signature. */
export interface PayloadSignature {
  /** Short name (`ntp_monlist`), the key in the evidence. */
  name: string;
  /** The amplification service it confirms (an `AMPLIFICATION_SERVICES` name). */
  service: string;
  /** UDP source port of the answers. */
  port: number;
  /** What it is, in words (the evidence sentence). */
  label: string;
}

/** The built-in signatures, in {@linkcode signatureOf}'s index order. */
export const SIGNATURES: readonly PayloadSignature[] = [
  { name: "ntp_monlist", service: "ntp", port: 123, label: "NTP mode-7 monlist answers" },
  {
    name: "memcached_value",
    service: "memcached",
    port: 11211,
    label: "memcached VALUE/STAT answers",
  },
  { name: "cldap_ber", service: "cldap", port: 389, label: "CLDAP BER answers" },
  { name: "ssdp_ok", service: "ssdp", port: 1900, label: "SSDP HTTP/1.1 200 OK answers with ST:" },
  {
    name: "dns_any",
    service: "dns",
    port: 53,
    label: "DNS answers to ANY or with many records",
  },
  { name: "chargen", service: "chargen", port: 19, label: "chargen character ramps" },
];

/** A DNS answer with at least this many answer records is a large answer. */
export const DNS_MANY_ANSWERS = 10;

const NTP = 0, MEMCACHED = 1, CLDAP = 2, SSDP = 3, DNS = 4, CHARGEN = 5;
/** Signature index by UDP source port (-1: none). */
const BY_PORT: Int8Array = /* @__PURE__ */ (() => {
  const t = new Int8Array(65536).fill(-1);
  SIGNATURES.forEach((s, i) => t[s.port] = i);
  return t;
})();

const HTTP_OK = /* @__PURE__ */ [..."HTTP/1.1 200 OK"].map((c) => c.charCodeAt(0));
const VALUE = /* @__PURE__ */ [..."VALUE "].map((c) => c.charCodeAt(0));
const STAT = /* @__PURE__ */ [..."STAT "].map((c) => c.charCodeAt(0));
/** Bytes of an SSDP answer searched for its `ST:` header. */
const SSDP_HEADER_BYTES = 512;

/**
 * The signature a UDP payload `buf[off, off + len)` from `srcPort` carries (an index of
 * {@linkcode SIGNATURES}), or -1. Reads at most a few hundred bytes; allocates nothing.
 */
export function signatureOf(buf: Uint8Array, off: number, len: number, srcPort: number): number {
  const sig = BY_PORT[srcPort & 0xffff];
  if (sig < 0 || len < 4) return -1;
  switch (sig) {
    case NTP: {
      // Mode 7 (private), version 1-4, any sequence number (`17 00 03 2a` is the request,
      // `d7 00 03 2a` the first answer, `d7 01 ..`, `97 09 ..` later ones), implementation 2 or
      // 3, request 42 (MON_GETLIST_1) or 20 (MON_GETLIST).
      const b0 = buf[off], version = (b0 >> 3) & 7, req = buf[off + 3];
      return (b0 & 7) === 7 && version >= 1 && version <= 4 &&
          (buf[off + 2] === 3 || buf[off + 2] === 2) && (req === 0x2a || req === 0x14)
        ? NTP
        : -1;
    }
    case MEMCACHED:
      // UDP answers start with an 8-byte frame header; TCP-like ones without.
      return startsWith(buf, off + 8, len - 8, VALUE) || startsWith(buf, off + 8, len - 8, STAT) ||
          startsWith(buf, off, len, VALUE) || startsWith(buf, off, len, STAT)
        ? MEMCACHED
        : -1;
    case CLDAP:
      return buf[off] === 0x30 && (buf[off + 1] === 0x84 || buf[off + 1] === 0x82) ? CLDAP : -1;
    case SSDP:
      return startsWith(buf, off, len, HTTP_OK) && hasStHeader(buf, off, len) ? SSDP : -1;
    case DNS:
      return isLargeDnsAnswer(buf, off, len) ? DNS : -1;
    case CHARGEN:
      return isCharRamp(buf, off, len) ? CHARGEN : -1;
  }
  return -1;
}

function startsWith(buf: Uint8Array, off: number, len: number, text: number[]): boolean {
  if (len < text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[off + i] !== text[i]) return false;
  return true;
}

/** A line starting `ST:` (any case) in the first {@linkcode SSDP_HEADER_BYTES}. */
function hasStHeader(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + Math.min(len, SSDP_HEADER_BYTES) - 3;
  for (let i = off; i < end; i++) {
    if (
      buf[i] === 0x0a && (buf[i + 1] | 0x20) === 0x73 && (buf[i + 2] | 0x20) === 0x74 &&
      buf[i + 3] === 0x3a
    ) return true;
  }
  return false;
}

/** A DNS answer (QR set) to a question of type ANY, or with {@linkcode DNS_MANY_ANSWERS}+ answers. */
function isLargeDnsAnswer(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 12 || (buf[off + 2] & 0x80) === 0) return false;
  if (((buf[off + 6] << 8) | buf[off + 7]) >= DNS_MANY_ANSWERS) return true;
  if (((buf[off + 4] << 8) | buf[off + 5]) === 0) return false;
  // The first question's name (labels only: a question holds no compression), then its type.
  let i = off + 12;
  const end = off + len;
  for (let labels = 0; i < end && labels < 128; labels++) {
    const n = buf[i];
    if (n === 0) break;
    if (n > 63) return false;
    i += n + 1;
  }
  return i + 2 < end && buf[i] === 0 && ((buf[i + 1] << 8) | buf[i + 2]) === 255;
}

/** At least 16 printable characters, each the next of the last (wrapping `~` to space). */
function isCharRamp(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 16) return false;
  let prev = buf[off];
  if (prev < 0x20 || prev > 0x7e) return false;
  for (let i = 1; i < 16; i++) {
    const b = buf[off + i];
    if (b !== (prev === 0x7e ? 0x20 : prev + 1)) return false;
    prev = b;
  }
  return true;
}
