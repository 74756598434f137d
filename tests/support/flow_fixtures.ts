/**
 * Test fixture: the flow datagrams real exporters sent (tests/fixtures/flows/, made by
 * make_flows.sh there), read back from their pcap files; tshark's decode of the same files;
 * and a small builder of NetFlow v9 / IPFIX / sFlow datagrams for the rules no fixture shows.
 *
 * @module
 */

import { CaptureParser, decode, PacketMeta } from "../../core/packet/mod.ts";

/** Folder of the flow fixtures. */
export const FLOW_FIXTURES = new URL("../fixtures/flows/", import.meta.url);

/** One UDP datagram of a fixture. */
export interface Datagram {
  /** The UDP payload (a copy). */
  bytes: Uint8Array;
  /** Source address words (IPv4 mapped). */
  src: Uint32Array;
  /** Capture time, µs. */
  tsUs: number;
}

/** The UDP payloads of `tests/fixtures/flows/NAME.pcap`, in capture order. */
export function flowDatagrams(name: string): Datagram[] {
  const file = Deno.readFileSync(new URL(`${name}.pcap`, FLOW_FIXTURES));
  const out: Datagram[] = [];
  const meta = new PacketMeta();
  const parser = new CaptureParser();
  parser.parse(file, 0, file.length, {
    packet(buf, offset, capLen, wireLen, tsUs, linktype) {
      meta.tsUs = tsUs;
      meta.capLen = capLen;
      meta.wireLen = wireLen;
      if (!decode(buf, offset, capLen, linktype, meta) || meta.protocol !== 17) return;
      out.push({
        bytes: buf.slice(meta.payloadOffset, meta.payloadOffset + meta.payloadLen),
        src: meta.src.slice(),
        tsUs,
      });
    },
  });
  return out;
}

/**
 * tshark's values of `fields` over every packet of fixture `name` (every occurrence, in
 * order), decoding UDP `port` as `proto` (`cflow` or `sflow`).
 */
export async function tsharkFields(
  name: string,
  port: number,
  proto: string,
  fields: string[],
): Promise<Map<string, string[]>> {
  const path = new URL(`${name}.pcap`, FLOW_FIXTURES).pathname;
  const args = ["-r", path, "-d", `udp.port==${port},${proto}`, "-T", "fields"];
  args.push("-E", "occurrence=a", "-E", "aggregator=;", "-E", "separator=\t");
  for (const f of fields) args.push("-e", f);
  const { code, stdout, stderr } = await new Deno.Command("tshark", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`tshark failed: ${new TextDecoder().decode(stderr)}`);
  const values = new Map<string, string[]>(fields.map((f) => [f, []]));
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    if (line === "") continue;
    line.split("\t").forEach((cell, i) => {
      if (cell !== "") values.get(fields[i])!.push(...cell.split(";"));
    });
  }
  return values;
}

/** True when tshark runs here. */
export async function hasTshark(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("tshark", { args: ["-v"], stdout: "null" }).output();
    return code === 0;
  } catch {
    return false;
  }
}

/** Big-endian byte writer for hand-made datagrams. */
export class Bytes {
  readonly #out: number[] = [];

  /** Appends 8-bit values. */
  u8(...values: number[]): this {
    for (const v of values) this.#out.push(v & 0xff);
    return this;
  }

  /** Appends 16-bit values. */
  u16(...values: number[]): this {
    for (const v of values) this.#out.push(v >>> 8 & 0xff, v & 0xff);
    return this;
  }

  /** Appends 32-bit values. */
  u32(...values: number[]): this {
    for (const v of values) {
      this.#out.push(v >>> 24 & 0xff, v >>> 16 & 0xff, v >>> 8 & 0xff, v & 0xff);
    }
    return this;
  }

  /** Appends raw bytes. */
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.#out.push(bytes[i] & 0xff);
    return this;
  }

  /** The bytes so far. */
  get bytes(): Uint8Array {
    return Uint8Array.from(this.#out);
  }
}

/** A set: id, length (header included), body. */
export function flowSet(id: number, body: Uint8Array): Uint8Array {
  return new Bytes().u16(id, body.length + 4).raw(body).bytes;
}

/** An IPFIX message: header (export time `secs`, `domain`) and sets. */
export function ipfix(secs: number, domain: number, ...sets: Uint8Array[]): Uint8Array {
  const body = sets.reduce((n, s) => n + s.length, 0);
  const b = new Bytes().u16(10, 16 + body).u32(secs, 1, domain);
  for (const s of sets) b.raw(s);
  return b.bytes;
}

/** A NetFlow v9 datagram: header (`uptimeMs`, `secs`, `sourceId`) and sets. */
export function netflowV9(
  uptimeMs: number,
  secs: number,
  sourceId: number,
  ...sets: Uint8Array[]
): Uint8Array {
  const b = new Bytes().u16(9, sets.length).u32(uptimeMs, secs, 1, sourceId);
  for (const s of sets) b.raw(s);
  return b.bytes;
}

/** A template record body: id and `[ie, length]` pairs (ie over 0x8000: with enterprise 9). */
export function templateRecord(id: number, fields: [number, number][]): Uint8Array {
  const b = new Bytes().u16(id, fields.length);
  for (const [ie, len] of fields) {
    b.u16(ie, len);
    if (ie & 0x8000) b.u32(9);
  }
  return b.bytes;
}

/** An IPFIX options template record body: id, scope count and fields (the scope first). */
export function optionsRecord(id: number, scope: number, fields: [number, number][]): Uint8Array {
  const b = new Bytes().u16(id, fields.length, scope);
  for (const [ie, len] of fields) b.u16(ie, len);
  return b.bytes;
}

/** A NetFlow v9 options template record body: id, scope fields, option fields. */
export function v9OptionsRecord(
  id: number,
  scope: [number, number][],
  fields: [number, number][],
): Uint8Array {
  const b = new Bytes().u16(id, scope.length * 4, fields.length * 4);
  for (const [t, len] of [...scope, ...fields]) b.u16(t, len);
  return b.bytes;
}

/** Parses dotted-quad text to its 32-bit value. */
export function ipv4(text: string): number {
  return text.split(".").reduce((v, o) => v * 256 + Number(o), 0);
}
