import { hashWords, HyperLogLog } from "../../../core/sketch/mod.ts";
import { assert, assertEquals, assertThrows } from "../../support/assert.ts";

/** A bijection on 32-bit integers (not the sketch's hash), so distinct inputs stay distinct. */
function scramble(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Adds `n` distinct IPv4-mapped sources, chosen by `seed`. */
function addDistinctIpv4(hll: HyperLogLog, n: number, seed: number, from = 0): void {
  const base = Math.imul(seed, 0x9e3779b9);
  for (let i = from; i < from + n; i++) hll.add(0, 0, 0xffff, scramble((base + i) >>> 0));
}

function relativeError(estimate: number, actual: number): number {
  return Math.abs(estimate - actual) / actual;
}

for (const n of [1_000, 40_000, 100_000, 1_000_000]) {
  Deno.test(`HyperLogLog estimates ${n.toLocaleString("en-US")} distinct sources within 2%`, () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const hll = new HyperLogLog();
      addDistinctIpv4(hll, n, seed);
      const err = relativeError(hll.estimate(), n);
      assert(err < 0.02, `seed ${seed}: estimate ${hll.estimate()} for ${n} (${err * 100}%)`);
    }
  });
}

Deno.test("HyperLogLog estimates 1,000,000 distinct IPv6 sources within 2%", () => {
  const hll = new HyperLogLog();
  for (let i = 0; i < 1_000_000; i++) {
    hll.add(0x20010db8, scramble(i >>> 8), 0, scramble(i) & 0xffff00ff);
  }
  const err = relativeError(hll.estimate(), 1_000_000);
  assert(err < 0.02, `estimate ${hll.estimate()} (${err * 100}%)`);
});

Deno.test("HyperLogLog estimates a sequential /12 sweep within 2%", () => {
  // Spoofed floods often walk a prefix: the hash must spread neighbouring addresses.
  const hll = new HyperLogLog();
  for (let i = 0; i < 1 << 20; i++) hll.add(0, 0, 0xffff, 0x0a000000 + i);
  const err = relativeError(hll.estimate(), 1 << 20);
  assert(err < 0.02, `estimate ${hll.estimate()} (${err * 100}%)`);
});

Deno.test("HyperLogLog counts a repeated source once", () => {
  const hll = new HyperLogLog();
  assertEquals(hll.estimate(), 0);
  for (let i = 0; i < 10_000; i++) hll.add(0, 0, 0xffff, 0xc0000201);
  assertEquals(Math.round(hll.estimate()), 1);
  for (let i = 0; i < 10_000; i++) hll.add(0, 0, 0xffff, 0xc0000200 + (i % 10));
  assertEquals(Math.round(hll.estimate()), 10);
});

Deno.test("HyperLogLog.merge() estimates the union of two sketches", () => {
  const a = new HyperLogLog();
  const b = new HyperLogLog();
  const all = new HyperLogLog();
  addDistinctIpv4(a, 600_000, 7, 0);
  addDistinctIpv4(b, 600_000, 7, 400_000);
  addDistinctIpv4(all, 1_000_000, 7, 0);
  a.merge(b);
  // Register maxima are exactly the sketch of the union.
  assertEquals(a.estimate(), all.estimate());
  const err = relativeError(a.estimate(), 1_000_000);
  assert(err < 0.02, `estimate ${a.estimate()} (${err * 100}%)`);
});

Deno.test("HyperLogLog.merge() rejects a sketch of another precision", () => {
  assertThrows(() => new HyperLogLog(14).merge(new HyperLogLog(12)), /precision/);
});

Deno.test("HyperLogLog rejects precisions outside 4..16", () => {
  assertThrows(() => new HyperLogLog(3), /precision/);
  assertThrows(() => new HyperLogLog(17), /precision/);
  assertEquals(new HyperLogLog(4).size, 16);
});

Deno.test("HyperLogLog.reset() empties the sketch", () => {
  const hll = new HyperLogLog();
  addDistinctIpv4(hll, 5_000, 9);
  assert(hll.estimate() > 4_000);
  hll.reset();
  assertEquals(hll.estimate(), 0);
  addDistinctIpv4(hll, 1_000, 9);
  assert(relativeError(hll.estimate(), 1_000) < 0.02);
});

Deno.test("HyperLogLog.addHash() and add() agree", () => {
  const a = new HyperLogLog();
  const b = new HyperLogLog();
  for (let i = 0; i < 50_000; i++) {
    const w3 = scramble(i);
    a.add(0x20010db8, 0, 1, w3);
    b.addHash(hashWords(0x20010db8, 0, 1, w3));
  }
  assertEquals(a.estimate(), b.estimate());
});
