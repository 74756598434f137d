import { SpaceSaving } from "../../../core/sketch/mod.ts";
import { assert, assertEquals, assertThrows } from "../../support/assert.ts";
import { xorshift32 as rng } from "../../support/random.ts";

/** A skewed stream over `distinct` IPv4 keys: key i has weight about 1 / (i + 1). */
function zipfStream(n: number, distinct: number, seed: number): number[] {
  const next = rng(seed);
  const cdf: number[] = [];
  let sum = 0;
  for (let i = 0; i < distinct; i++) cdf.push(sum += 1 / (i + 1));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = (next() / 2 ** 32) * sum;
    let lo = 0;
    let hi = distinct - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out.push(0x0a000000 + lo * 7919);
  }
  return out;
}

function exactCounts(stream: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const k of stream) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** Checks the Space-Saving guarantees of `ss` against exact counts of its stream. */
function assertGuarantees(ss: SpaceSaving, truth: Map<number, number>, n: number): void {
  const bound = n / ss.capacity;
  const held = new Map(ss.top().map((e) => [e.key[3], e]));
  for (const [key, count] of truth) {
    if (count > bound) assert(held.has(key), `key ${key} with ${count} > N/K = ${bound} missing`);
  }
  for (const [key, e] of held) {
    const actual = truth.get(key) ?? 0;
    assert(e.count >= actual, `key ${key}: count ${e.count} under true ${actual}`);
    assert(e.count - actual <= e.error, `key ${key}: overestimate beyond its error ${e.error}`);
    assert(e.error <= bound, `key ${key}: error ${e.error} above N/K = ${bound}`);
  }
}

Deno.test("SpaceSaving counts keys exactly while they fit", () => {
  const ss = new SpaceSaving(8);
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j <= i; j++) ss.add(0, 0, 0xffff, 0xc0000200 + i);
  }
  assertEquals(ss.size, 8);
  assertEquals(ss.total, 36);
  const top = ss.top(3);
  assertEquals(top, [
    { key: [0, 0, 0xffff, 0xc0000207], count: 8, error: 0 },
    { key: [0, 0, 0xffff, 0xc0000206], count: 7, error: 0 },
    { key: [0, 0, 0xffff, 0xc0000205], count: 6, error: 0 },
  ]);
  assertEquals(ss.count(0, 0, 0xffff, 0xc0000200), 1);
  assertEquals(ss.count(0, 0, 0xffff, 0xc0000299), 0);
});

Deno.test("SpaceSaving.top() orders ties by key words", () => {
  const ss = new SpaceSaving(8);
  ss.add(0x20010db8, 0, 0, 1);
  ss.add(0, 0, 0xffff, 0xc0000202);
  ss.add(0, 0, 0xffff, 0xc0000201);
  ss.add(0, 0, 0, 80, 5);
  assertEquals(ss.top().map((e) => e.key), [
    [0, 0, 0, 80],
    [0, 0, 0xffff, 0xc0000201],
    [0, 0, 0xffff, 0xc0000202],
    [0x20010db8, 0, 0, 1],
  ]);
  assertEquals(ss.top(0), []);
});

Deno.test("SpaceSaving keeps every key above N/K and overestimates by at most N/K", () => {
  for (const seed of [1, 2, 3, 4]) {
    const stream = zipfStream(200_000, 50_000, seed);
    const ss = new SpaceSaving(64);
    for (const k of stream) ss.add(0, 0, 0xffff, k);
    assertEquals(ss.total, stream.length);
    assertEquals(ss.size, 64);
    assertGuarantees(ss, exactCounts(stream), stream.length);
  }
});

Deno.test("SpaceSaving keeps heavy hitters exact among random noise", () => {
  const next = rng(42);
  const ss = new SpaceSaving(64);
  const heavy = [0xc6336401, 0xc6336402, 0xc6336403];
  const weights = [20_000, 15_000, 10_000];
  const left = [...weights];
  let n = 0;
  // The heavy hitters start the stream, so they never inherit an error.
  for (let i = 0; left.some((x) => x > 0); i++) {
    const h = i % 3;
    if (left[h] > 0) {
      ss.add(0, 0, 0xffff, heavy[h]);
      left[h]--;
      n++;
    }
    for (let j = 0; j < 2; j++, n++) ss.add(0, 0, 0xffff, next());
  }
  const top = ss.top(3);
  assertEquals(top.map((e) => e.key[3]), heavy);
  assertEquals(top.map((e) => e.count), weights);
  assertEquals(top.map((e) => e.error), [0, 0, 0]);
  assertEquals(ss.total, n);
});

Deno.test("SpaceSaving holds its guarantees on random keys through the eviction path", () => {
  // All-distinct keys exercise eviction, hash-table deletion and the minimum stack.
  const next = rng(7);
  const ss = new SpaceSaving(16);
  const stream: number[] = [];
  for (let i = 0; i < 100_000; i++) stream.push(i % 5 === 0 ? 0x0a000001 : next());
  for (const k of stream) ss.add(0, 0, 0xffff, k);
  assertGuarantees(ss, exactCounts(stream), stream.length);
  assertEquals(ss.count(0, 0, 0xffff, 0x0a000001) >= 20_000, true);
  // Every key held is found again through the hash table.
  for (const e of ss.top()) assertEquals(ss.count(...e.key), e.count);
});

Deno.test("SpaceSaving keeps its hash table consistent under churn", () => {
  // A small key universe makes evicted keys come back: hits after backward-shift deletions.
  for (const capacity of [1, 2, 5, 16]) {
    const next = rng(capacity);
    const ss = new SpaceSaving(capacity);
    const stream: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const key = next() % (capacity * 3);
      stream.push(key);
      ss.add(0, 0, 0xffff, key, 1);
      if (i % 997 === 0) {
        const top = ss.top();
        assertEquals(new Set(top.map((e) => e.key[3])).size, top.length, "a key held twice");
        for (const e of top) assertEquals(ss.count(...e.key), e.count);
        assertEquals(top.reduce((sum, e) => sum + e.count, 0), ss.total);
      }
    }
    assertGuarantees(ss, exactCounts(stream), stream.length);
  }
});

Deno.test("SpaceSaving.add() with a count weighs the key", () => {
  const ss = new SpaceSaving(2);
  ss.add(0, 0, 0, 53, 10);
  ss.add(0, 0, 0, 80, 3);
  ss.add(0, 0, 0, 443, 4); // evicts port 80 (count 3): 443 gets 3 + 4, error 3
  assertEquals(ss.top(), [
    { key: [0, 0, 0, 53], count: 10, error: 0 },
    { key: [0, 0, 0, 443], count: 7, error: 3 },
  ]);
  assertEquals(ss.total, 17);
});

Deno.test("SpaceSaving.merge() sums summaries that fit", () => {
  const a = new SpaceSaving(8);
  const b = new SpaceSaving(8);
  a.add(0, 0, 0xffff, 1, 5);
  a.add(0, 0, 0xffff, 2, 3);
  b.add(0, 0, 0xffff, 2, 4);
  b.add(0, 0, 0xffff, 3, 1);
  a.merge(b);
  assertEquals(a.top(), [
    { key: [0, 0, 0xffff, 2], count: 7, error: 0 },
    { key: [0, 0, 0xffff, 1], count: 5, error: 0 },
    { key: [0, 0, 0xffff, 3], count: 1, error: 0 },
  ]);
  assertEquals(a.total, 13);
  // The merged summary is usable as before.
  a.add(0, 0, 0xffff, 3, 10);
  assertEquals(a.count(0, 0, 0xffff, 3), 11);
});

Deno.test("SpaceSaving.merge() keeps counts overestimates with error bounds", () => {
  for (const seed of [11, 12, 13]) {
    const s1 = zipfStream(100_000, 20_000, seed);
    const s2 = zipfStream(100_000, 20_000, seed + 100).map((k) => k + 1);
    const a = new SpaceSaving(64);
    const b = new SpaceSaving(64);
    for (const k of s1) a.add(0, 0, 0xffff, k);
    for (const k of s2) b.add(0, 0, 0xffff, k);
    a.merge(b);
    const both = [...s1, ...s2];
    const truth = exactCounts(both);
    assertEquals(a.total, both.length);
    assertEquals(a.size, 64);
    for (const e of a.top()) {
      const actual = truth.get(e.key[3]) ?? 0;
      assert(e.count >= actual, `count ${e.count} under true ${actual}`);
      assert(e.count - e.error <= actual, `lower bound ${e.count - e.error} above ${actual}`);
    }
    // The heaviest keys of both streams are there.
    const heaviest = [...truth].sort((x, y) => y[1] - x[1]).slice(0, 10).map(([k]) => k);
    const held = new Set(a.top().map((e) => e.key[3]));
    for (const k of heaviest) assert(held.has(k), `heavy key ${k} lost in the merge`);
  }
});

Deno.test("SpaceSaving.reset() empties the summary for reuse", () => {
  const ss = new SpaceSaving(4);
  for (let i = 0; i < 100; i++) ss.add(0, 0, 0xffff, i);
  ss.reset();
  assertEquals(ss.size, 0);
  assertEquals(ss.total, 0);
  assertEquals(ss.top(), []);
  assertEquals(ss.count(0, 0, 0xffff, 99), 0);
  ss.add(0, 0, 0xffff, 7, 2);
  assertEquals(ss.top(), [{ key: [0, 0, 0xffff, 7], count: 2, error: 0 }]);
});

Deno.test("SpaceSaving treats signed and unsigned words as the same key", () => {
  const ss = new SpaceSaving(4);
  ss.add(0, 0, 0xffff, 0xc0000201);
  ss.add(0, 0, -1 >>> 16, 0xc0000201 | 0);
  assertEquals(ss.top(), [{ key: [0, 0, 0xffff, 0xc0000201], count: 2, error: 0 }]);
});

Deno.test("SpaceSaving rejects a capacity below 1", () => {
  assertThrows(() => new SpaceSaving(0), /capacity/);
  assertThrows(() => new SpaceSaving(1.5), /capacity/);
});
