// Capture files with hostile timestamps, written byte by byte: pcapng (64-bit times) and
// classic pcap with the nanosecond magic.

import { eth, EtherType, ipv4, udp } from "./frames.ts";

/** One frame of a crafted capture and its raw timestamp (µs for pcapng, ns for pcap). */
export interface RawFrame {
  frame: Uint8Array;
  /** pcapng: the 64-bit timestamp in µs; pcap: seconds * 1e9 + ns (32-bit seconds). */
  ts: bigint;
}

/** Packet time of the first flood frame: 2023-11-14T22:13:20Z, in µs. */
export const FLOOD_T0_US = 1700000000n * 1000000n;
/** The largest pcapng timestamp: 2^64 - 1 µs, far past what a JavaScript Date holds. */
export const HUGE_TS = 0xffffffffffffffffn;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function block(type: number, body: Uint8Array): Uint8Array {
  const len = 12 + body.length;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, len, true);
  b.set(body, 8);
  v.setUint32(len - 4, len, true);
  return b;
}

/** A pcapng file (one Ethernet interface, µs resolution) of enhanced packet blocks. */
export function pcapngBytes(frames: Iterable<RawFrame>): Uint8Array {
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true);
  sv.setUint16(4, 1, true);
  sv.setBigInt64(8, -1n, true);
  const idb = new Uint8Array(8);
  const iv = new DataView(idb.buffer);
  iv.setUint16(0, 1, true);
  iv.setUint32(4, 65535, true);
  const parts: Uint8Array[] = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const { frame, ts } of frames) {
    const b = new Uint8Array(20 + frame.length + ((4 - (frame.length % 4)) % 4));
    const v = new DataView(b.buffer);
    v.setUint32(4, Number(ts >> 32n), true);
    v.setUint32(8, Number(ts & 0xffffffffn), true);
    v.setUint32(12, frame.length, true);
    v.setUint32(16, frame.length, true);
    b.set(frame, 20);
    parts.push(block(6, b));
  }
  return concat(parts);
}

/** A classic pcap file with the nanosecond magic (`ts` in ns; seconds cut to 32 bits). */
export function pcapNanoBytes(frames: Iterable<RawFrame>): Uint8Array {
  const hdr = new Uint8Array(24);
  const hv = new DataView(hdr.buffer);
  hv.setUint32(0, 0xa1b23c4d, true);
  hv.setUint16(4, 2, true);
  hv.setUint16(6, 4, true);
  hv.setUint32(16, 65535, true);
  hv.setUint32(20, 1, true);
  const parts: Uint8Array[] = [hdr];
  for (const { frame, ts } of frames) {
    const r = new Uint8Array(16);
    const v = new DataView(r.buffer);
    v.setUint32(0, Number((ts / 1000000000n) & 0xffffffffn), true);
    v.setUint32(4, Number(ts % 1000000000n), true);
    v.setUint32(8, frame.length, true);
    v.setUint32(12, frame.length, true);
    parts.push(r, frame);
  }
  return concat(parts);
}

/** A UDP frame to `dst` port 53 from one of 65536 spoofed sources (chosen by `i`). */
export function floodFrame(i: number, dst: string): Uint8Array {
  return eth(
    EtherType.IPV4,
    ipv4(17, udp(1024 + (i % 5000), 53, new Uint8Array(32)), {
      src: `203.0.${(i >> 8) & 255}.${i & 255}`,
      dst,
    }),
  );
}

/**
 * `seconds` of a UDP flood at `pps` towards each of `targets` (µs timestamps from
 * {@linkcode FLOOD_T0_US}), with `odd` frames inserted after `oddAfterS` seconds.
 */
export function* udpFlood(
  pps: number,
  seconds: number,
  targets: string[],
  odd: RawFrame[] = [],
  oddAfterS = Math.floor(seconds / 2),
): Generator<RawFrame> {
  for (let s = 0; s < seconds; s++) {
    if (s === oddAfterS) yield* odd;
    for (let i = 0; i < pps; i++) {
      const ts = FLOOD_T0_US + BigInt(s) * 1000000n + BigInt(Math.floor((i * 1e6) / pps));
      for (const dst of targets) yield { frame: floodFrame(i, dst), ts };
    }
  }
}
