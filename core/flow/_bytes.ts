/**
 * Big-endian reads for the flow decoders. Callers check every read against their bound first:
 * these helpers never check and never throw.
 *
 * @module
 */

/** Unsigned 16-bit big-endian at `p`. */
export function u16(buf: Uint8Array, p: number): number {
  return buf[p] << 8 | buf[p + 1];
}

/** Unsigned 32-bit big-endian at `p`. */
export function u32(buf: Uint8Array, p: number): number {
  return (buf[p] << 24 | buf[p + 1] << 16 | buf[p + 2] << 8 | buf[p + 3]) >>> 0;
}

/** Unsigned 64-bit big-endian at `p`, as a number (exact below 2^53). */
export function u64(buf: Uint8Array, p: number): number {
  return u32(buf, p) * 4294967296 + u32(buf, p + 4);
}

/** Unsigned big-endian integer of `len` bytes (1 to 8; reduced-size encoding) at `p`. */
export function uint(buf: Uint8Array, p: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + buf[p + i];
  return v;
}

/** Writes the IPv4 address at `p` into `out` as an IPv4-mapped address. */
export function readIpv4(buf: Uint8Array, p: number, out: Uint32Array): void {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0xffff;
  out[3] = u32(buf, p);
}

/** Writes the IPv6 address at `p` into `out` as four words. */
export function readIpv6(buf: Uint8Array, p: number, out: Uint32Array): void {
  out[0] = u32(buf, p);
  out[1] = u32(buf, p + 4);
  out[2] = u32(buf, p + 8);
  out[3] = u32(buf, p + 12);
}
