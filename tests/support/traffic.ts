// Synthetic traffic for detector tests: decoded packets at exact rates, straight into the
// detector (no capture, no decoder), so timings in packet time are exact and runs are fast.
import {
  Fragment,
  IpProto,
  PacketMeta,
  parseAddress,
  TcpFlag,
  vectorOf,
} from "../../core/packet/mod.ts";
import type { Detector } from "../../core/detect/mod.ts";
import { Windower } from "../../core/traffic/mod.ts";

/** Fills `meta` for packet number `i` of a stream. */
export type Shape = (meta: PacketMeta, i: number) => void;

/** One stream: `pps` packets per second from `fromS` to `toS` (seconds of packet time). */
export interface Stream {
  fromS: number;
  toS: number;
  pps: number;
  shape: Shape;
}

/** Epoch second the synthetic traffic starts at (2026-01-01T00:00:00Z). */
export const T0 = 1_767_225_600;

/**
 * Feeds the streams, interleaved in time order, into `detector` alongside per-second windows
 * (as the pipeline does); returns the packet count. Stream times are seconds after
 * {@linkcode T0}.
 */
export function feed(detector: Detector, streams: Stream[]): number {
  const windower = new Windower((w) => detector.window(w));
  detector.watchWindow(windower.window);
  const meta = new PacketMeta();
  const next = streams.map((s) => s.fromS * 1e6);
  const step = streams.map((s) => 1e6 / s.pps);
  const count = streams.map(() => 0);
  let n = 0;
  for (;;) {
    let k = -1;
    for (let j = 0; j < streams.length; j++) {
      if (next[j] < streams[j].toS * 1e6 && (k < 0 || next[j] < next[k])) k = j;
    }
    if (k < 0) break;
    meta.reset();
    meta.tsUs = T0 * 1e6 + Math.floor(next[k]);
    streams[k].shape(meta, count[k]++);
    meta.vector = vectorOf(meta); // as the decoder would
    windower.add(meta);
    detector.add(meta);
    next[k] += step[k];
    n++;
  }
  return n;
}

function setAddr(out: Uint32Array, text: string): void {
  parseAddress(text, out);
}

function ip(meta: PacketMeta, proto: number, src: string, dst: string, wireLen: number): void {
  meta.ipVersion = 4;
  meta.protocol = proto;
  meta.wireLen = wireLen;
  meta.capLen = Math.min(wireLen, 128);
  meta.ttl = 64;
  setAddr(meta.src, src);
  setAddr(meta.dst, dst);
  meta.hasL4 = true;
}

/** A random-looking address in 198.18.0.0/15 for packet `i` (spoofed sources). */
export function spoofed(i: number): string {
  const x = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  return `198.${18 + (x & 1)}.${(x >>> 8) & 0xff}.${(x >>> 16) & 0xff}`;
}

/** SYN flood from spoofed sources to `dst` port `port`. */
export function synFlood(dst: string, port = 80): Shape {
  return (m, i) => {
    ip(m, IpProto.TCP, spoofed(i), dst, 60);
    m.srcPort = 1024 + (i % 60000);
    m.dstPort = port;
    m.tcpFlags = TcpFlag.SYN;
    m.ttl = 57;
  };
}

/** Ordinary web traffic to `dst`: ACK and PSH+ACK segments of mixed sizes from many clients. */
export function web(dst: string): Shape {
  return (m, i) => {
    ip(m, IpProto.TCP, `198.19.1.${i % 200}`, dst, i % 3 === 0 ? 1514 : 66);
    m.srcPort = 40000 + (i % 1000);
    m.dstPort = 443;
    m.tcpFlags = i % 3 === 0 ? TcpFlag.PSH | TcpFlag.ACK : TcpFlag.ACK;
  };
}

/** A download into this host from one server: full-size ACK segments from port 443. */
export function download(dst: string, server = "198.19.200.1"): Shape {
  return (m) => {
    ip(m, IpProto.TCP, server, dst, 1514);
    m.srcPort = 443;
    m.dstPort = 51000;
    m.tcpFlags = TcpFlag.ACK;
  };
}

/** UDP reflection from source port `port` of many reflectors, `size` bytes each. */
export function udpReflection(dst: string, port: number, size: number): Shape {
  return (m, i) => {
    ip(m, IpProto.UDP, spoofed(i % 3000), dst, size);
    m.srcPort = port;
    m.dstPort = 1024 + (i % 60000);
    m.ttl = 40 + (i % 20);
  };
}

/** Non-first IPv4 UDP fragments. */
export function fragments(dst: string): Shape {
  return (m, i) => {
    ip(m, IpProto.UDP, spoofed(i % 500), dst, 1514);
    m.fragment = Fragment.NON_FIRST;
    m.fragOffset = 1480;
    m.hasL4 = false;
  };
}
