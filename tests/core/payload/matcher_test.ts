import { MAX_PATTERN_BYTES, MAX_PATTERNS, PatternMatcher } from "../../../core/payload/mod.ts";
import { assert, assertEquals, assertThrows } from "../../support/assert.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

/** The patterns (indexes) the matcher found in `text`, sorted. */
function foundIn(m: PatternMatcher, text: Uint8Array, start = 0, end = text.length): number[] {
  const n = m.scan(text, start, end);
  return [...m.found.subarray(0, n)].sort((a, b) => a - b);
}

/** A deterministic generator of 32-bit values (xorshift). */
function random(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("PatternMatcher.scan() finds every pattern a range holds, overlapping ones and suffixes of others too", () => {
  const m = new PatternMatcher(["he", "she", "his", "hers"].map(bytes));
  assertEquals(foundIn(m, bytes("ushers")), [0, 1, 3]);
  assertEquals(foundIn(m, bytes("ahishers")), [0, 1, 2, 3]);
  assertEquals(foundIn(m, bytes("xyz")), []);
});

Deno.test("PatternMatcher.scan() lists a pattern once per scan however often it occurs", () => {
  const m = new PatternMatcher([bytes("ab"), bytes("ab")]);
  assertEquals(foundIn(m, bytes("abababab")), [0, 1]);
  assertEquals(foundIn(m, bytes("ab")), [0, 1]);
});

Deno.test("PatternMatcher.scan() reads only the range it is given", () => {
  const m = new PatternMatcher([bytes("mirai")]);
  const buf = bytes("mirai....mirai");
  assertEquals(foundIn(m, buf, 1, 13), []);
  assertEquals(foundIn(m, buf, 9, 14), [0]);
});

Deno.test("PatternMatcher matches the UTF-8 bytes of a pattern, exactly (case included)", () => {
  const m = new PatternMatcher([bytes("Ботнет"), bytes("MIRAI")]);
  assertEquals(foundIn(m, bytes("xx Ботнет yy")), [0]);
  assertEquals(foundIn(m, bytes("mirai")), []);
  assertEquals(foundIn(m, new Uint8Array([0, 0xff, ...bytes("MIRAI"), 0xfe])), [1]);
});

Deno.test("PatternMatcher.scan() agrees with a naive search on random patterns and payloads", () => {
  const next = random(7);
  // A small alphabet, so patterns share prefixes and suffixes and overlap a lot.
  const patterns = Array.from(
    { length: 300 },
    () => Uint8Array.from({ length: 1 + (next() % 6) }, () => 97 + (next() % 3)),
  );
  const m = new PatternMatcher(patterns);
  for (let round = 0; round < 200; round++) {
    const payload = Uint8Array.from({ length: next() % 64 }, () => 97 + (next() % 3));
    const expected = patterns.flatMap((p, i) => contains(payload, p) ? [i] : []);
    assertEquals(foundIn(m, payload), expected);
  }
});

Deno.test("PatternMatcher refuses more than 1000 patterns, an empty one or one over 512 bytes", () => {
  assertThrows(() => new PatternMatcher(Array(MAX_PATTERNS + 1).fill(bytes("x"))), /at most|bytes/);
  assertThrows(() => new PatternMatcher([new Uint8Array(0)]), /at most|bytes/);
  assertThrows(() => new PatternMatcher([new Uint8Array(MAX_PATTERN_BYTES + 1)]), /at most|bytes/);
  assertEquals(new PatternMatcher([]).scan(bytes("abc"), 0, 3), 0);
});

Deno.test("PatternMatcher builds 1000 patterns of 512 bytes once and scans payloads at tens of MB/s", () => {
  const next = random(11);
  const patterns = Array.from(
    { length: MAX_PATTERNS },
    () => Uint8Array.from({ length: MAX_PATTERN_BYTES }, () => next() & 0xff),
  );
  let t = performance.now();
  const m = new PatternMatcher(patterns);
  const buildMs = performance.now() - t;
  assert(m.states > 500_000, `${m.states} states`);
  const payload = Uint8Array.from({ length: 1400 }, () => next() & 0xff);
  payload.set(patterns[999].subarray(0, 512), 800);
  t = performance.now();
  const rounds = 20_000;
  let hits = 0;
  for (let i = 0; i < rounds; i++) hits += m.scan(payload, 0, 1400);
  const mbPerS = (rounds * 1400) / 1e6 / ((performance.now() - t) / 1000);
  console.log(`build ${buildMs.toFixed(0)} ms, ${m.states} states; scan ${mbPerS.toFixed(0)} MB/s`);
  assertEquals(hits, rounds); // pattern 999, once per payload
  // Generous bounds (a busy 2-core machine); the measured numbers are printed above.
  assert(buildMs < 20_000, `build took ${buildMs} ms`);
  assert(mbPerS > 5, `${mbPerS} MB/s`);
});
