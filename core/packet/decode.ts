/**
 * Per-packet decoder: link layer, VLAN tags, IPv4/IPv6 (with extension headers and fragments),
 * TCP/UDP/ICMP/ICMPv6 and one level of GRE, into a reused {@linkcode PacketMeta}.
 *
 * Runs for every captured frame, so it allocates nothing, never throws, and reads bytes with
 * plain index arithmetic after checking each read against the captured length.
 *
 * Bounds used throughout:
 * - `end`: one past the last captured byte (`offset + capLen`, clamped to the buffer).
 * - `wireEnd`: one past the last byte the frame had on the wire (`offset + wireLen`, at least
 *   `end`); an IP header declaring more bytes than that is `Malformed.IP_INVALID`.
 * - the L4 limit: the smaller of `end` and the end the IP header declares, so Ethernet padding
 *   is never counted as payload and the payload never runs past the captured bytes.
 *
 * @module
 */

import { Fragment, LinkType, Malformed, type PacketMeta } from "./packet.ts";
import { laterFragmentVector, TCP_VECTORS, udpVector, Vector } from "./vectors.ts";

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const ETH_TEB = 0x6558;

/** VLAN tags followed before giving up with `Malformed.TOO_MANY_TAGS`. */
const MAX_VLAN_TAGS = 3;
/** IPv6 extension headers walked before stopping (the packet is kept, without L4). */
const MAX_IPV6_EXT_HEADERS = 8;

/**
 * Decodes one frame into `out` (reused); false when malformed (reason in `out.malformed`).
 * Never throws, never allocates.
 *
 * The caller sets `out.tsUs`, `out.wireLen` and `out.capLen` first; `decode` resets and sets
 * `out.linktype` and every decoded field. The frame is `buf[offset, offset + capLen)`.
 * A frame carrying a non-IP protocol (ARP, LLDP, ...) decodes to true with `ipVersion` 0.
 * A GRE packet carrying IPv4, IPv6 or Ethernet has its inner packet decoded into `out.inner`
 * (`out.hasInner`); a malformed inner packet leaves `hasInner` false (its reason stays in
 * `out.inner.malformed`) and the outer packet is still valid. `out.inner` is only rewritten
 * when a GRE payload is decoded: read it only when `hasInner` is true. `out.vector` gets the
 * packet's attack-vector category (`Vector.MALFORMED` when decoding fails).
 *
 * @example Decode one raw IPv4 UDP packet
 * ```ts
 * import { decode, formatAddress, LinkType, PacketMeta } from "./mod.ts";
 *
 * const frame = Uint8Array.from([
 *   0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, // IPv4, 28 bytes, TTL 64, UDP
 *   198, 18, 0, 1, 198, 18, 0, 2, // source, destination
 *   0x00, 0x35, 0x13, 0x88, 0, 8, 0, 0, // UDP 53 -> 5000
 * ]);
 * const meta = new PacketMeta();
 * meta.wireLen = meta.capLen = frame.length;
 * if (decode(frame, 0, frame.length, LinkType.RAW, meta)) {
 *   console.log(formatAddress(meta.src), meta.srcPort, "->", formatAddress(meta.dst), meta.dstPort);
 * }
 * ```
 */
export function decode(
  buf: Uint8Array,
  offset: number,
  capLen: number,
  linktype: number,
  out: PacketMeta,
): boolean {
  out.linktype = linktype;
  if (!(offset >= 0 && capLen >= 0)) {
    out.reset();
    return fail(out, Malformed.LINK_TRUNCATED);
  }
  let end = offset + capLen;
  if (end > buf.length) end = buf.length;
  const wireLen = out.wireLen;
  const wireEnd = offset + (wireLen > capLen ? wireLen : capLen);
  return decodeFrame(buf, offset, end, wireEnd, linktype, out);
}

/**
 * Resets `out` and decodes the frame at `p` as `linktype` into it. One flat function on
 * purpose: V8 does not inline per-layer helpers of this size, and the calls measurably slowed
 * the hot path. (The reset is here rather than in `decode`, which the pipeline inlines: V8
 * inlines a bounded amount of code into the per-packet loop.)
 */
function decodeFrame(
  buf: Uint8Array,
  p: number,
  end: number,
  wireEnd: number,
  linktype: number,
  out: PacketMeta,
): boolean {
  out.reset();
  out.vector = Vector.OTHER; // until the headers say more
  // ---- Link layer: leaves `p` at the network header and `et` set to its EtherType. ----
  let et: number;
  switch (linktype) {
    case LinkType.EN10MB:
      if (end - p < 14) return fail(out, Malformed.LINK_TRUNCATED);
      et = buf[p + 12] << 8 | buf[p + 13];
      p += 14;
      break;
    case LinkType.LINUX_SLL:
      if (end - p < 16) return fail(out, Malformed.LINK_TRUNCATED);
      et = buf[p + 14] << 8 | buf[p + 15];
      p += 16;
      break;
    case LinkType.LINUX_SLL2:
      if (end - p < 20) return fail(out, Malformed.LINK_TRUNCATED);
      et = buf[p] << 8 | buf[p + 1];
      p += 20;
      break;
    case LinkType.RAW: {
      if (end - p < 1) return fail(out, Malformed.IP_TRUNCATED);
      const version = buf[p] >> 4;
      if (version === 4) et = ETH_IPV4;
      else if (version === 6) et = ETH_IPV6;
      else return fail(out, Malformed.IP_INVALID);
      break;
    }
    case LinkType.IPV4:
      et = ETH_IPV4;
      break;
    case LinkType.IPV6:
      et = ETH_IPV6;
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end - p < 4) return fail(out, Malformed.LINK_TRUNCATED);
      // NULL is in the capturing host's byte order: a little-endian AF has its value in the
      // first two bytes, a big-endian one in the last two (AF values are small). LOOP is
      // always big-endian.
      const af = linktype === LinkType.NULL && (buf[p] | buf[p + 1]) !== 0
        ? (buf[p] | buf[p + 1] << 8 | buf[p + 2] << 16 | buf[p + 3] << 24) >>> 0
        : (buf[p] << 24 | buf[p + 1] << 16 | buf[p + 2] << 8 | buf[p + 3]) >>> 0;
      p += 4;
      // AF_INET 2; AF_INET6 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
      if (af === 2) et = ETH_IPV4;
      else if (af === 24 || af === 28 || af === 30) et = ETH_IPV6;
      else return true; // Not IP: ipVersion and etherType stay 0.
      break;
    }
    default:
      return fail(out, Malformed.UNSUPPORTED_LINKTYPE);
  }
  while (et === ETH_VLAN || et === ETH_QINQ || et === ETH_QINQ_OLD) {
    if (out.vlanCount === MAX_VLAN_TAGS) return fail(out, Malformed.TOO_MANY_TAGS);
    if (end - p < 4) return fail(out, Malformed.LINK_TRUNCATED);
    if (out.vlanCount === 0) out.vlanId = (buf[p] << 8 | buf[p + 1]) & 0x0fff;
    out.vlanCount++;
    et = buf[p + 2] << 8 | buf[p + 3];
    p += 4;
  }
  out.etherType = et;

  // ---- Network layer: leaves `q` at the L4 header, `proto` its protocol, `lim` the end of the
  // captured IP payload and `ipEnd` the declared one. ----
  let q: number;
  let proto: number;
  let ipEnd: number;
  if (et === ETH_IPV4) {
    if (end - p < 1) return fail(out, Malformed.IP_TRUNCATED);
    const b0 = buf[p];
    const hdrLen = (b0 & 0x0f) << 2;
    if (b0 >> 4 !== 4 || hdrLen < 20) return fail(out, Malformed.IP_INVALID);
    if (end - p < hdrLen) return fail(out, Malformed.IP_TRUNCATED);
    const totalLen = buf[p + 2] << 8 | buf[p + 3];
    if (totalLen < hdrLen || totalLen > wireEnd - p) return fail(out, Malformed.IP_INVALID);
    out.ipVersion = 4;
    out.ipLen = totalLen;
    out.ttl = buf[p + 8];
    proto = buf[p + 9];
    out.protocol = proto;
    const src = out.src;
    src[2] = 0xffff;
    src[3] = (buf[p + 12] << 24 | buf[p + 13] << 16 | buf[p + 14] << 8 | buf[p + 15]) >>> 0;
    const dst = out.dst;
    dst[2] = 0xffff;
    dst[3] = (buf[p + 16] << 24 | buf[p + 17] << 16 | buf[p + 18] << 8 | buf[p + 19]) >>> 0;
    const flagsOff = buf[p + 6] << 8 | buf[p + 7];
    const fragOffset = (flagsOff & 0x1fff) << 3;
    if (fragOffset !== 0 || (flagsOff & 0x2000) !== 0) {
      out.fragId = buf[p + 4] << 8 | buf[p + 5];
      out.fragEnd = fragOffset + totalLen - hdrLen;
    }
    if (fragOffset !== 0) {
      out.fragment = Fragment.NON_FIRST;
      out.fragOffset = fragOffset;
      out.vector = laterFragmentVector(proto, fragOffset, totalLen - hdrLen);
      return true;
    }
    if ((flagsOff & 0x2000) !== 0) out.fragment = Fragment.FIRST;
    q = p + hdrLen;
    ipEnd = p + totalLen;
  } else if (et === ETH_IPV6) {
    if (end - p < 1) return fail(out, Malformed.IP_TRUNCATED);
    if (buf[p] >> 4 !== 6) return fail(out, Malformed.IP_INVALID);
    if (end - p < 40) return fail(out, Malformed.IP_TRUNCATED);
    const ipLen = 40 + (buf[p + 4] << 8 | buf[p + 5]);
    if (ipLen > wireEnd - p) return fail(out, Malformed.IP_INVALID);
    out.ipVersion = 6;
    out.ipLen = ipLen;
    out.ttl = buf[p + 7];
    const src = out.src;
    const dst = out.dst;
    for (let i = 0; i < 4; i++) {
      const s = p + 8 + (i << 2);
      src[i] = (buf[s] << 24 | buf[s + 1] << 16 | buf[s + 2] << 8 | buf[s + 3]) >>> 0;
      const d = s + 16;
      dst[i] = (buf[d] << 24 | buf[d + 1] << 16 | buf[d + 2] << 8 | buf[d + 3]) >>> 0;
    }
    ipEnd = p + ipLen;
    const extLim = ipEnd < end ? ipEnd : end;
    proto = buf[p + 6];
    q = p + 40;
    for (let n = 0;; n++) {
      if (n === MAX_IPV6_EXT_HEADERS) {
        // Chain longer than the walk follows: keep the packet, without L4.
        out.protocol = proto;
        return true;
      }
      let extLen: number;
      if (proto === 0 || proto === 43 || proto === 60) {
        // Hop-by-hop, routing, destination options: length in 8-byte units minus 1.
        if (extLim - q < 2) return fail(out, Malformed.IP_TRUNCATED);
        extLen = (buf[q + 1] + 1) << 3;
      } else if (proto === 51) {
        // Authentication header: length in 4-byte units minus 2.
        if (extLim - q < 2) return fail(out, Malformed.IP_TRUNCATED);
        extLen = (buf[q + 1] + 2) << 2;
      } else if (proto === 44) {
        if (extLim - q < 8) return fail(out, Malformed.IP_TRUNCATED);
        const offFlags = buf[q + 2] << 8 | buf[q + 3];
        const fragOffset = offFlags & 0xfff8;
        if (fragOffset !== 0 || (offFlags & 1) !== 0) {
          out.fragId = (buf[q + 4] << 24 | buf[q + 5] << 16 | buf[q + 6] << 8 | buf[q + 7]) >>> 0;
          out.fragEnd = fragOffset + ipEnd - (q + 8);
        }
        if (fragOffset !== 0) {
          out.fragment = Fragment.NON_FIRST;
          out.fragOffset = fragOffset;
          out.protocol = buf[q];
          out.vector = laterFragmentVector(buf[q], fragOffset, ipEnd - (q + 8));
          return true;
        }
        if ((offFlags & 1) !== 0) out.fragment = Fragment.FIRST;
        extLen = 8;
      } else if (proto === 59) {
        out.protocol = 59; // No next header.
        return true;
      } else {
        break;
      }
      if (extLim - q < extLen) return fail(out, Malformed.IP_TRUNCATED);
      proto = buf[q];
      q += extLen;
    }
    out.protocol = proto;
  } else {
    return true; // Not IP (ARP, LLDP, ...): ipVersion stays 0.
  }

  // ---- Transport layer, bounded by `lim`. A TCP header whose options run past the capture
  // (short snaplen) still yields ports and flags, with no payload. ----
  const lim = ipEnd < end ? ipEnd : end;
  switch (proto) {
    case 6: { // TCP
      if (lim - q < 20) return fail(out, Malformed.L4_TRUNCATED);
      const hdrLen = (buf[q + 12] >> 4) << 2;
      if (hdrLen < 20) return fail(out, Malformed.L4_INVALID);
      out.srcPort = buf[q] << 8 | buf[q + 1];
      out.dstPort = buf[q + 2] << 8 | buf[q + 3];
      const flags = buf[q + 13];
      out.tcpFlags = flags;
      out.vector = TCP_VECTORS[flags & 0x3f];
      out.hasL4 = true;
      const start = q + hdrLen < lim ? q + hdrLen : lim;
      out.payloadOffset = start;
      out.payloadLen = lim - start;
      return true;
    }
    case 17: { // UDP
      if (lim - q < 8) return fail(out, Malformed.L4_TRUNCATED);
      const udpLen = buf[q + 4] << 8 | buf[q + 5];
      if (udpLen < 8) return fail(out, Malformed.L4_INVALID);
      const srcPort = buf[q] << 8 | buf[q + 1];
      const dstPort = buf[q + 2] << 8 | buf[q + 3];
      out.srcPort = srcPort;
      out.dstPort = dstPort;
      out.vector = udpVector(srcPort, dstPort);
      out.hasL4 = true;
      const udpEnd = q + udpLen;
      out.payloadOffset = q + 8;
      out.payloadLen = (udpEnd < lim ? udpEnd : lim) - (q + 8);
      return true;
    }
    case 1: // ICMP
    case 58: // ICMPv6
      if (lim - q < 8) return fail(out, Malformed.L4_TRUNCATED);
      out.icmpType = buf[q];
      out.icmpCode = buf[q + 1];
      out.vector = buf[q] === (proto === 1 ? 8 : 128) ? Vector.ICMP_ECHO : Vector.ICMP_OTHER;
      out.hasL4 = true;
      out.payloadOffset = q + 8;
      out.payloadLen = lim - (q + 8);
      return true;
    case 47: // GRE
      return decodeGre(buf, q, lim, ipEnd, out);
    default:
      return true; // Other protocols: the number only.
  }
}

/**
 * GRE (RFC 2784/2890, and version 1 as used by PPTP): skips the optional words, records the
 * carried protocol and decodes an IPv4, IPv6 or Ethernet payload into `out.inner`.
 */
function decodeGre(
  buf: Uint8Array,
  p: number,
  lim: number,
  ipEnd: number,
  out: PacketMeta,
): boolean {
  if (lim - p < 4) return fail(out, Malformed.L4_TRUNCATED);
  const flags = buf[p] << 8 | buf[p + 1];
  const version = flags & 7;
  let hdrLen = 4;
  if ((flags & 0xc000) !== 0) hdrLen += 4; // Checksum (C) or routing (R, RFC 1701): checksum + offset.
  if ((flags & 0x2000) !== 0) hdrLen += 4; // Key (K).
  if ((flags & 0x1000) !== 0) hdrLen += 4; // Sequence number (S).
  if (version === 1 && (flags & 0x0080) !== 0) hdrLen += 4; // Acknowledgment (A), PPTP.
  if (lim - p < hdrLen) return fail(out, Malformed.L4_TRUNCATED);
  const proto = buf[p + 2] << 8 | buf[p + 3];
  out.greProtocol = proto;
  out.vector = Vector.GRE;
  out.hasL4 = true;
  const start = p + hdrLen;
  out.payloadOffset = start;
  out.payloadLen = lim - start;
  const inner = out.inner;
  // RFC 1701 source routes follow the optional words: no inner decode behind them.
  if (inner === null || version !== 0 || (flags & 0x4000) !== 0) return true;
  if (proto !== ETH_IPV4 && proto !== ETH_IPV6 && proto !== ETH_TEB) return true;
  inner.tsUs = out.tsUs;
  inner.capLen = lim - start;
  inner.wireLen = ipEnd - start;
  // Decode as the EtherType GRE names (IPV4/IPV6, not RAW: the version nibble must agree).
  const as = proto === ETH_TEB
    ? LinkType.EN10MB
    : proto === ETH_IPV4
    ? LinkType.IPV4
    : LinkType.IPV6;
  inner.linktype = proto === ETH_TEB ? LinkType.EN10MB : LinkType.RAW;
  const ok = decodeFrame(buf, start, lim, ipEnd, as, inner);
  out.hasInner = ok;
  return true;
}

/** Records why decoding stopped; always false so callers can `return fail(...)`. */
function fail(out: PacketMeta, reason: number): boolean {
  out.malformed = reason;
  out.vector = Vector.MALFORMED;
  return false;
}
