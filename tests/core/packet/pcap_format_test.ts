import { CaptureParser, type PacketSink, PcapBuilder } from "../../../core/packet/mod.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";
import { corpusFiles, run } from "../../support/cli.ts";

interface Rec {
  tsUs: number;
  capLen: number;
  wireLen: number;
  linktype: number;
  sum: number;
}

class Collect implements PacketSink {
  readonly records: Rec[] = [];
  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ) {
    let sum = 0;
    for (let i = offset; i < offset + capLen; i++) sum = (sum * 31 + buf[i]) >>> 0;
    this.records.push({ tsUs, capLen, wireLen, linktype, sum });
  }
}

/** Parses `bytes` fed in chunks of the given sizes (cycled), as a streaming reader would. */
function parseChunked(bytes: Uint8Array, chunkSizes: number[] = [bytes.length]): Rec[] {
  const parser = new CaptureParser();
  const sink = new Collect();
  const buf = new Uint8Array(bytes.length);
  let start = 0;
  let end = 0;
  let i = 0;
  while (end < bytes.length) {
    const n = Math.min(chunkSizes[i++ % chunkSizes.length], bytes.length - end);
    buf.set(bytes.subarray(end, end + n), end);
    end += n;
    start += parser.parse(buf, start, end, sink);
  }
  parser.finish(end - start);
  return sink.records;
}

async function tempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("CaptureParser yields the same records whatever the chunk sizes", async () => {
  const bytes = await Deno.readFile(corpusFiles().find((p) => p.includes("optionallyACK"))!);
  const whole = parseChunked(bytes);
  assertEquals(whole.length, 896);
  assertEquals(parseChunked(bytes, [1]), whole);
  assertEquals(parseChunked(bytes, [7, 3, 1500, 16, 24]), whole);
});

Deno.test("CaptureParser reads pcapng written by editcap exactly like the pcap it came from", async () => {
  await tempDir(async (dir) => {
    for (const path of corpusFiles()) {
      const ng = `${dir}/x.pcapng`;
      const conv = await run(["editcap", "-F", "pcapng", path, ng]);
      assertEquals(conv.code, 0, conv.stderr);
      const ngBytes = await Deno.readFile(ng);
      assertEquals(new DataView(ngBytes.buffer).getUint32(0), 0x0a0d0d0a);
      assertEquals(
        parseChunked(ngBytes, [4096, 13]),
        parseChunked(await Deno.readFile(path)),
        path,
      );
    }
  });
});

Deno.test("CaptureParser reads nanosecond pcap and nanosecond pcapng to the same microseconds", async () => {
  await tempDir(async (dir) => {
    const path = corpusFiles().find((p) => p.includes("synflood"))!;
    const nano = `${dir}/nano.pcap`;
    const ng = `${dir}/nano.pcapng`;
    let r = await run(["tcpdump", "--time-stamp-precision=nano", "-r", path, "-w", nano]);
    assertEquals(r.code, 0, r.stderr);
    r = await run(["editcap", "-F", "pcapng", nano, ng]);
    assertEquals(r.code, 0, r.stderr);
    const nanoBytes = await Deno.readFile(nano);
    assertEquals(new DataView(nanoBytes.buffer).getUint32(0, true), 0xa1b23c4d);
    const expected = parseChunked(await Deno.readFile(path));
    assertEquals(parseChunked(nanoBytes), expected);
    assertEquals(parseChunked(await Deno.readFile(ng)), expected);
  });
});

Deno.test("CaptureParser reads big-endian pcap", () => {
  const little = new PcapBuilder(1).add(new Uint8Array(60).fill(7), 1_700_000_000_123_456, 1514)
    .bytes();
  const big = little.slice();
  const lv = new DataView(little.buffer);
  const bv = new DataView(big.buffer);
  for (const off of [0, 16, 20, 24, 28, 32, 36]) bv.setUint32(off, lv.getUint32(off, true), false);
  bv.setUint16(4, 2, false);
  bv.setUint16(6, 4, false);
  assertEquals(parseChunked(big), parseChunked(little));
  assertEquals(parseChunked(big)[0].tsUs, 1_700_000_000_123_456);
  assertEquals(parseChunked(big)[0].wireLen, 1514);
});

/** Minimal pcapng writer for cases editcap does not produce. */
function pcapng(blocks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

function block(type: number, body: number[]): Uint8Array {
  const padded = [...body];
  while (padded.length % 4) padded.push(0);
  const len = padded.length + 12;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, len, true);
  b.set(padded, 8);
  v.setUint32(len - 4, len, true);
  return b;
}

const u16 = (n: number) => [n & 0xff, n >>> 8];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const shb = () =>
  block(0x0a0d0d0a, [
    ...u32(0x1a2b3c4d),
    ...u16(1),
    ...u16(0),
    ...u32(0xffffffff),
    ...u32(0xffffffff),
  ]);
const idb = (linktype: number, tsresol?: number) =>
  block(1, [
    ...u16(linktype),
    ...u16(0),
    ...u32(65535),
    ...(tsresol === undefined ? [] : [...u16(9), ...u16(1), tsresol, 0, 0, 0]),
    ...u16(0),
    ...u16(0),
  ]);
const epb = (iface: number, high: number, low: number, data: number[], wire = data.length) =>
  block(6, [...u32(iface), ...u32(high), ...u32(low), ...u32(data.length), ...u32(wire), ...data]);

Deno.test("CaptureParser converts pcapng timestamps of any resolution exactly", () => {
  // 1_700_000_000.123456789 s in nanoseconds needs more than 53 bits.
  const ns = 1700000000123456789n;
  const hi = Number(ns >> 32n);
  const lo = Number(ns & 0xffffffffn);
  // 2^-20 s units: 1_700_000_000.5 s.
  const bin = BigInt(1_700_000_000) * 2n ** 20n + 2n ** 19n;
  const bytes = pcapng([
    shb(),
    idb(1, 9),
    idb(101, 0x80 | 20),
    idb(228),
    epb(0, hi, lo, [1, 2, 3]),
    epb(1, Number(bin >> 32n), Number(bin & 0xffffffffn), [0x45], 1500),
    epb(2, 395812, 1882420304, []), // default resolution: microseconds
  ]);
  const recs = parseChunked(bytes);
  assertEquals(recs.length, 3);
  assertEquals(recs[0].tsUs, 1_700_000_000_123_456);
  assertEquals(recs[0].linktype, 1);
  assertEquals(recs[1].tsUs, 1_700_000_000_500_000);
  assertEquals(recs[1].linktype, 101);
  assertEquals(recs[1].wireLen, 1500);
  assertEquals(recs[2].tsUs, 395812 * 2 ** 32 + 1882420304);
  assertEquals(recs[2].linktype, 228);
});

Deno.test("CaptureParser starts afresh at every pcapng section header", () => {
  const bytes = pcapng([shb(), idb(1), epb(0, 0, 5, [9]), shb(), idb(113), epb(0, 0, 6, [8, 8])]);
  const recs = parseChunked(bytes, [5]);
  assertEquals(recs.map((r) => r.linktype), [1, 113]);
  assertEquals(recs.map((r) => r.tsUs), [5, 6]);
});

Deno.test("CaptureParser rejects bad input with one-line reasons", () => {
  const sink = new Collect();
  const parse = (bytes: Uint8Array) => {
    const p = new CaptureParser();
    const used = p.parse(bytes, 0, bytes.length, sink);
    p.finish(bytes.length - used);
  };
  assertThrows(
    () => parse(new TextEncoder().encode("hello, world, not a capture")),
    /magic 0x68656c6c/,
  );
  assertThrows(() => parse(new Uint8Array(0)), /empty file/);
  assertThrows(() => parse(new Uint8Array([0xd4, 0xc3])), /too short/);
  const good = new PcapBuilder(1).add(new Uint8Array(64), 1e15).add(new Uint8Array(64), 1e15)
    .bytes();
  assertThrows(
    () => parse(good.subarray(0, good.length - 10)),
    /truncated capture: the last record at byte 104 is cut \(70 bytes/,
  );
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(24 + 8, 10_000_000, true);
  assertThrows(() => parse(huge), /corrupt pcap record at byte 24: captured length 10000000/);
  const badLen = pcapng([shb(), idb(1)]);
  new DataView(badLen.buffer).setUint32(28 + 4, 13, true);
  assertThrows(() => parse(badLen), /corrupt pcapng block at byte 28: length 13/);
  const badTrailer = pcapng([shb(), idb(1), epb(0, 0, 0, [1, 2, 3, 4])]);
  new DataView(badTrailer.buffer).setUint32(badTrailer.length - 4, 40, true);
  assertThrows(() => parse(badTrailer), /trailing length/);
  assertThrows(() => parse(pcapng([shb(), epb(3, 0, 0, [1])])), /unknown interface 3/);
});
