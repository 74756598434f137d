// Writes the benchmark's mixed capture: TCP/UDP/ICMP over IPv4 and IPv6, VLAN tags,
// fragments and random spoofed sources, from a handful of frame templates.
import { LinkType, pcapFileHeader, TcpFlag, writePcapRecordHeader } from "../core/packet/mod.ts";
import {
  eth,
  EtherType,
  icmp,
  ipv4,
  type Ipv4Opts,
  ipv6,
  tcp,
  udp,
} from "../tests/support/frames.ts";
import { xorshift32 } from "../tests/support/random.ts";

const SNAPLEN = 128;

interface Template {
  frame: Uint8Array;
  /** Bytes on the wire (the frame may stand for a longer packet cut at the snapshot length). */
  wireLen: number;
  /** Offset and length of the source address bytes to randomize. */
  srcAt: number;
  srcLen: number;
  /** Offset of the source port to randomize (-1: none). */
  sportAt: number;
  weight: number;
}

function templates(): Template[] {
  const v4 = (proto: number, l4: Uint8Array, o: Ipv4Opts = {}) =>
    ipv4(proto, l4, { src: "198.19.0.1", dst: "198.18.0.10", ...o });
  const v6 = (proto: number, l4: Uint8Array) =>
    ipv6(proto, l4, { src: "2001:db8:1::1", dst: "2001:db8::10" });
  return [
    {
      frame: eth(EtherType.IPV4, v4(6, tcp(40000, 80, TcpFlag.SYN))),
      wireLen: 60,
      srcAt: 26,
      srcLen: 4,
      sportAt: 34,
      weight: 30,
    },
    {
      frame: eth(
        EtherType.IPV4,
        v4(6, tcp(443, 50000, TcpFlag.ACK | TcpFlag.PSH, new Uint8Array(1448))),
      ),
      wireLen: 1514,
      srcAt: 26,
      srcLen: 4,
      sportAt: -1,
      weight: 15,
    },
    {
      frame: eth(EtherType.IPV4, v4(17, udp(53, 33000, new Uint8Array(480)))),
      wireLen: 522,
      srcAt: 26,
      srcLen: 4,
      sportAt: -1,
      weight: 15,
    },
    {
      frame: eth(EtherType.IPV4, v4(1, icmp(8, 0, new Uint8Array(56)))),
      wireLen: 98,
      srcAt: 26,
      srcLen: 4,
      sportAt: -1,
      weight: 8,
    },
    {
      frame: eth(EtherType.IPV6, v6(6, tcp(40000, 443, TcpFlag.SYN))),
      wireLen: 74,
      srcAt: 30,
      srcLen: 8,
      sportAt: 54,
      weight: 10,
    },
    {
      frame: eth(EtherType.IPV6, v6(17, udp(40000, 27015, new Uint8Array(32)))),
      wireLen: 94,
      srcAt: 30,
      srcLen: 8,
      sportAt: 54,
      weight: 7,
    },
    {
      frame: eth(EtherType.IPV4, v4(17, udp(40000, 123, new Uint8Array(48))), [100]),
      wireLen: 94,
      srcAt: 30,
      srcLen: 4,
      sportAt: 38,
      weight: 7,
    },
    {
      frame: eth(EtherType.IPV4, v4(17, udp(53, 4444, new Uint8Array(1472)), { mf: true })),
      wireLen: 1514,
      srcAt: 26,
      srcLen: 4,
      sportAt: -1,
      weight: 4,
    },
    {
      frame: eth(EtherType.IPV4, v4(17, new Uint8Array(1480), { fragOffset: 1480 })),
      wireLen: 1514,
      srcAt: 26,
      srcLen: 4,
      sportAt: -1,
      weight: 4,
    },
  ];
}

/** Writes `packets` frames to `path` (about 100k packets per second of packet time). */
export async function writeMixedCapture(path: string, packets: number): Promise<void> {
  const list = templates();
  const table: Template[] = [];
  for (const t of list) for (let i = 0; i < t.weight; i++) table.push(t);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await file.write(pcapFileHeader(LinkType.EN10MB, SNAPLEN));
    const chunk = new Uint8Array(8 * 1024 * 1024);
    const view = new DataView(chunk.buffer);
    let pos = 0;
    const rand = xorshift32(0x9e3779b9);
    const t0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    for (let i = 0; i < packets; i++) {
      const t = table[rand() % table.length];
      const capLen = Math.min(t.frame.length, SNAPLEN);
      if (pos + 16 + capLen > chunk.length) {
        await file.write(chunk.subarray(0, pos));
        pos = 0;
      }
      writePcapRecordHeader(view, pos, t0 + i * 10, capLen, Math.max(t.wireLen, t.frame.length));
      chunk.set(t.frame.subarray(0, capLen), pos + 16);
      const r = rand();
      for (let b = 0; b < t.srcLen; b++) {
        chunk[pos + 16 + t.srcAt + t.srcLen - 1 - b] = (r >>> (b * 8)) ^ b;
      }
      if (t.sportAt >= 0) view.setUint16(pos + 16 + t.sportAt, 1024 + (r % 64000));
      pos += 16 + capLen;
    }
    await file.write(chunk.subarray(0, pos));
  } finally {
    file.close();
  }
}
