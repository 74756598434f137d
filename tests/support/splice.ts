// Builds test captures: benign background traffic with a real attack (frames of a corpus
// capture, replayed at a chosen rate) spliced in at a known onset.
import { CaptureParser, LinkType, PcapBuilder, TcpFlag } from "../../core/packet/mod.ts";
import { eth, EtherType, ipv4, tcp } from "./frames.ts";
import { T0 } from "./traffic.ts";

/** One record of a capture; `buf` is valid only during the call. */
export type RecordFn = (
  buf: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  tsUs: number,
) => void;

/** Walks every record of a whole capture in memory with the project's parser. */
export function walkCapture(
  bytes: Uint8Array,
  fn: RecordFn,
): { linktype: number; snaplen: number; records: number } {
  const parser = new CaptureParser();
  const used = parser.parse(bytes, 0, bytes.length, { packet: fn });
  parser.finish(bytes.length - used);
  return { linktype: parser.linktype, snaplen: parser.snaplen, records: parser.records };
}

/** The frames of a capture file, copied. */
export async function framesOf(path: string): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  walkCapture(await Deno.readFile(path), (buf, offset, capLen) => {
    frames.push(buf.slice(offset, offset + capLen));
  });
  return frames;
}

/** A stretch of traffic: `frames` cycled at `pps` from `fromS` to `toS` (seconds after T0). */
export interface Part {
  frames: Uint8Array[];
  fromS: number;
  toS: number;
  pps: number;
}

/** Ordinary web traffic to `victim` from 50 clients: ACK and PSH+ACK segments. */
export function webFrames(victim: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 150; i++) {
    const size = i % 3 === 0 ? 1200 : 0;
    const flags = size ? TcpFlag.PSH | TcpFlag.ACK : TcpFlag.ACK;
    out.push(
      eth(
        EtherType.IPV4,
        ipv4(6, tcp(40000 + i, 443, flags, new Uint8Array(size)), {
          src: `198.19.2.${i % 50}`,
          dst: victim,
        }),
      ),
    );
  }
  return out;
}

/** Writes the parts, merged in time order, as an Ethernet pcap at `path`. */
export async function writeSplice(path: string, parts: Part[]): Promise<void> {
  const builder = new PcapBuilder(LinkType.EN10MB);
  const next = parts.map((p) => p.fromS * 1e6);
  const index = parts.map(() => 0);
  for (;;) {
    let k = -1;
    for (let j = 0; j < parts.length; j++) {
      if (next[j] < parts[j].toS * 1e6 && (k < 0 || next[j] < next[k])) k = j;
    }
    if (k < 0) break;
    const p = parts[k];
    const frame = p.frames[index[k]++ % p.frames.length];
    builder.add(frame, T0 * 1e6 + Math.round(next[k]), Math.max(frame.length, 60));
    next[k] += 1e6 / p.pps;
  }
  await Deno.writeFile(path, builder.bytes());
}
