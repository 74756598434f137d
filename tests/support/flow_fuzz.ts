/**
 * Fuzzer of the flow decoders: mutates the real exporters' datagrams of tests/fixtures/flows/
 * (and a few hand-made NetFlow v9 / IPFIX ones with options, variable-length and enterprise
 * fields) by bit flips, truncation, length fields set to extremes, spliced and repeated sets,
 * and feeds them to one {@linkcode FlowDecoder} with small bounds, from many exporters.
 *
 * Used by tests/core/flow/flow_fuzz_test.ts (50,000 datagrams) and by `deno task fuzz:flows`
 * (`deno run --allow-read tests/support/flow_fuzz.ts [iterations] [seed]`, 1,000,000).
 *
 * @module
 */

import {
  FlowDecoder,
  type FlowDecoderOptions,
  type FlowRecord,
  type FlowSample,
  type InterfaceCounters,
} from "../../core/flow/mod.ts";
import type { PacketMeta } from "../../core/packet/mod.ts";
import {
  Bytes,
  flowDatagrams,
  flowSet,
  ipfix,
  netflowV9,
  optionsRecord,
  templateRecord,
  v9OptionsRecord,
} from "./flow_fixtures.ts";
import { xorshift32 } from "./random.ts";

/** The bounds the fuzzed decoder runs with (small, so the fuzzer reaches them). */
export const FUZZ_BOUNDS: FlowDecoderOptions = {
  maxExporters: 16,
  maxTemplatesPerExporter: 32,
  maxFieldsPerTemplate: 64,
  maxDomainsPerExporter: 8,
  maxRecordsPerDatagram: 256,
  maxHeldSets: 16,
  maxHeldBytes: 64 * 1024,
  maxHeldAgeUs: 2e6,
};

/** What a fuzzing run saw. */
export interface FuzzResult {
  /** Datagrams decoded. */
  iterations: number;
  /** Exceptions out of `decode` (must be 0). */
  throws: number;
  /** First exception, with the seed and iteration that reproduce it. */
  firstError: string;
  /** Records, samples and counters delivered. */
  delivered: number;
  /** Records with a non-finite number (must be 0). */
  nonFinite: number;
  /**
   * Datagrams decoded differently when they sit inside a larger buffer between random bytes
   * (a read past the datagram would see them; must be 0).
   */
  readPast: number;
  /** Largest template count, exporter count and held-set count seen. */
  maxTemplates: number;
  maxExporters: number;
  maxHeld: number;
  /** Drops counted by the decoder. */
  dropped: number;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** The seed datagrams: every fixture plus hand-made ones for what the exporters never send. */
export function fuzzCorpus(): Uint8Array[] {
  const corpus = [
    "netflow_v5",
    "netflow_v9",
    "ipfix",
    "netflow_v9_sampled",
    "ipfix_sampled",
    "sflow",
    "sflow_agent6",
  ].flatMap((name) => flowDatagrams(name).map((d) => d.bytes));
  const T = 1_700_000_000;
  const rec = new Bytes().u32(0xc6120001).u8(3, 97, 98, 99).raw([1, 2, 3, 4, 5, 6]).u32(
    0xc6120002,
  ).u16(53).u32(7).u8(1).bytes;
  corpus.push(
    ipfix(
      T,
      1,
      flowSet(
        2,
        templateRecord(256, [[8, 4], [82, 65535], [0x8000 | 1, 6], [12, 4], [11, 2], [
          2,
          4,
        ], [302, 1]]),
      ),
      flowSet(3, optionsRecord(257, 1, [[149, 4], [302, 1], [305, 4], [306, 4], [160, 8]])),
      flowSet(257, new Bytes().u32(1).u8(1).u32(1, 9, 0, 5).bytes),
      flowSet(256, new Bytes().raw(rec).raw(rec).bytes),
      flowSet(2, new Bytes().u16(256, 0).bytes),
    ),
    netflowV9(
      5000,
      T,
      3,
      flowSet(256, new Bytes().u32(0xc6120001, 0xc6120002).u8(1).u32(1).bytes),
      flowSet(0, templateRecord(256, [[8, 4], [12, 4], [48, 1], [2, 4]])),
      flowSet(1, v9OptionsRecord(300, [[1, 4]], [[48, 1], [50, 4]])),
      flowSet(300, new Bytes().u32(0).u8(1).u32(64).bytes),
    ),
  );
  return corpus;
}

/** One mutation of `src` (a new array). */
export function mutate(src: Uint8Array, corpus: Uint8Array[], rand: () => number): Uint8Array {
  let b = src.slice();
  const kind = rand() % 6;
  if (kind === 0 || b.length === 0) {
    for (let n = 1 + rand() % 8; n > 0 && b.length > 0; n--) {
      b[rand() % b.length] ^= 1 << rand() % 8;
    }
  } else if (kind === 1) {
    b = b.subarray(0, rand() % (b.length + 1));
  } else if (kind === 2) {
    // A 16- or 32-bit length or count field (any aligned offset) set to an extreme.
    const extremes = [0, 1, 3, 4, 0xff, 0x7fff, 0x8000, 0xfffe, 0xffff];
    for (let n = 1 + rand() % 3; n > 0; n--) {
      const at = (rand() % b.length) & ~1;
      const v = extremes[rand() % extremes.length];
      if (rand() % 2 === 0 && at + 3 < b.length) {
        b[at] = b[at + 1] = v === 0 ? 0 : 0xff;
        b[at + 2] = v >> 8;
        b[at + 3] = v & 0xff;
      } else if (at + 1 < b.length) {
        b[at] = v >> 8;
        b[at + 1] = v & 0xff;
      }
    }
  } else if (kind === 3) {
    // A slice of the datagram repeated after itself (repeated / overlapping templates and sets).
    const from = rand() % b.length;
    const len = 1 + rand() % Math.min(512, b.length - from);
    const at = rand() % (b.length + 1);
    const out = new Uint8Array(b.length + len);
    out.set(b.subarray(0, at));
    out.set(b.subarray(from, from + len), at);
    out.set(b.subarray(at), at + len);
    b = out;
    if (b[1] === 10 && rand() % 2 === 0) {
      b[2] = b.length >> 8; // Keep the IPFIX length right half the time.
      b[3] = b.length & 0xff;
    }
  } else if (kind === 4) {
    // Head of this datagram, tail of another.
    const other = corpus[rand() % corpus.length];
    const cut = rand() % (b.length + 1);
    const from = rand() % (other.length + 1);
    const out = new Uint8Array(cut + other.length - from);
    out.set(b.subarray(0, cut));
    out.set(other.subarray(from), cut);
    b = out;
  } else {
    const at = rand() % b.length;
    b.fill(rand() % 2 === 0 ? 0 : 0xff, at, at + 1 + rand() % 16);
  }
  return b;
}

/** Runs `iterations` mutated datagrams through one decoder (seeded: a failure reproduces). */
export function fuzzFlows(iterations: number, seed = 1): FuzzResult {
  const rand = xorshift32(seed);
  const corpus = fuzzCorpus();
  const result: FuzzResult = {
    iterations,
    throws: 0,
    firstError: "",
    delivered: 0,
    nonFinite: 0,
    readPast: 0,
    maxTemplates: 0,
    maxExporters: 0,
    maxHeld: 0,
    dropped: 0,
    elapsedMs: 0,
  };
  // Two decoders fed the same datagrams, the second inside random surroundings: each keeps a
  // running hash of what it delivered, and the hashes must agree after every datagram.
  const hashes = [0, 0];
  const sinkOf = (k: number) => {
    const mix = (...values: number[]) => {
      if (k === 0) result.delivered++;
      let h = hashes[k];
      for (const v of values) {
        if (!Number.isFinite(v)) result.nonFinite++;
        h = Math.imul(h ^ (v % 4294967296), 0x9e3779b1) >>> 0;
      }
      hashes[k] = h;
    };
    return {
      flow: (r: FlowRecord) =>
        mix(r.packets, r.bytes, r.firstUs, r.lastUs, r.samplingRate, r.src[3], r.dst[3], r.dstPort),
      sample: (m: PacketMeta, s: FlowSample) =>
        mix(m.wireLen, m.capLen, m.src[3], m.dst[3], m.protocol, m.tcpFlags, s.samplingRate),
      counters: (c: InterfaceCounters) => mix(c.inOctets, c.outOctets, c.ifSpeed, c.ifIndex),
    };
  };
  const decoder = new FlowDecoder(sinkOf(0), FUZZ_BOUNDS);
  const shadow = new FlowDecoder(sinkOf(1), FUZZ_BOUNDS);
  const surround = new Uint8Array(70_000);
  const exporter = new Uint32Array(4);
  const start = performance.now();
  let nowUs = 1_700_000_000e6;
  for (let i = 0; i < iterations; i++) {
    const src = corpus[rand() % corpus.length];
    const bytes = rand() % 8 === 0 ? src : mutate(src, corpus, rand);
    // Mostly a few exporters (templates accumulate), sometimes a new one (the exporter bound).
    exporter[2] = 0xffff;
    exporter[3] = rand() % 16 === 0 ? rand() : 0xc6120000 + rand() % 4;
    nowUs += rand() % 20_000;
    try {
      decoder.decode(bytes, 0, bytes.length, exporter, nowUs);
      const at = 1 + rand() % 64;
      for (let j = 0; j < 8; j++) {
        surround[at - 1 - (j % at)] = surround[at + bytes.length + j] = rand();
      }
      surround.set(bytes, at);
      shadow.decode(surround, at, bytes.length, exporter, nowUs);
      if (hashes[0] !== hashes[1]) {
        if (result.readPast++ === 0) {
          result.firstError ||=
            `seed ${seed} iteration ${i}: decoded differently in a larger buffer`;
        }
        hashes[1] = hashes[0];
      }
    } catch (e) {
      if (result.throws++ === 0) result.firstError = `seed ${seed} iteration ${i}: ${e}`;
    }
    if (decoder.templates > result.maxTemplates) result.maxTemplates = decoder.templates;
    if (decoder.exporters > result.maxExporters) result.maxExporters = decoder.exporters;
    if (decoder.heldSets > result.maxHeld) result.maxHeld = decoder.heldSets;
  }
  result.dropped = decoder.stats.dropped;
  result.elapsedMs = performance.now() - start;
  return result;
}

if (import.meta.main) {
  const iterations = Number(Deno.args[0] ?? 1_000_000);
  const seed = Number(Deno.args[1] ?? 1);
  const rssBefore = Deno.memoryUsage().rss;
  const r = fuzzFlows(iterations, seed);
  const rss = Deno.memoryUsage().rss;
  console.log(JSON.stringify({
    ...r,
    elapsedMs: Math.round(r.elapsedMs),
    rssMiBBefore: Math.round(rssBefore / 2 ** 20),
    rssMiBAfter: Math.round(rss / 2 ** 20),
  }));
  if (r.throws > 0 || r.nonFinite > 0 || r.readPast > 0) Deno.exit(1);
}
