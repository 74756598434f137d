// SpaceSaving's side values: a few numbers per counter that describe the same packets as the
// counter's `count - error` (the window keeps each top source's traits there), set anew when a
// key takes a counter (addHashed() says so), carried and combined by merge().
import { hashWords, SpaceSaving } from "../../../core/sketch/mod.ts";
import { assert, assertEquals, assertThrows } from "../../support/assert.ts";

/** Adds `count` to key `[0, 0, 0, k]` and `values` to its side values (sets them when new). */
function add(s: SpaceSaving, k: number, count: number, values: number[]): number {
  const got = s.addHashed(hashWords(0, 0, 0, k), 0, 0, 0, k, count);
  const slot = got < 0 ? ~got : got;
  for (let i = 0; i < values.length; i++) {
    if (got < 0) s.side[slot * s.sideWidth + i] = values[i];
    else s.side[slot * s.sideWidth + i] += values[i];
  }
  return got;
}

function sideOf(s: SpaceSaving, k: number): number[] {
  const slot = s.slotOf(0, 0, 0, k);
  return slot < 0 ? [] : Array.from(s.side.subarray(slot * s.sideWidth, (slot + 1) * s.sideWidth));
}

Deno.test("SpaceSaving.addHashed() returns the key's counter, negated (~counter) when the key just took it", () => {
  const s = new SpaceSaving(2, 3);
  assertEquals(s.side.length, 6);
  const a = add(s, 1, 5, [5, 1, 2]);
  assert(a < 0, "a new key");
  add(s, 2, 1, [1, 0, 9]);
  assertEquals(add(s, 1, 2, [2, 0, 0]), ~a, "the same key, the same counter");
  assertEquals(sideOf(s, 1), [7, 1, 2]);
  // Key 3 evicts key 2 (the minimum) and is told so: its counter's side values are key 2's.
  const c = s.addHashed(hashWords(0, 0, 0, 3), 0, 0, 0, 3, 4);
  assertEquals(s.slotOf(0, 0, 0, 2), -1);
  assertEquals(~c, s.slotOf(0, 0, 0, 3));
  assertEquals(sideOf(s, 3), [1, 0, 9]);
  assertEquals(s.top().map((e) => [e.key[3], e.count, e.error]), [[1, 7, 0], [3, 5, 1]]);
});

Deno.test("SpaceSaving.merge() adds the side values of keys both hold and keeps those only one holds", () => {
  const a = new SpaceSaving(4, 2);
  const b = new SpaceSaving(4, 2);
  add(a, 1, 10, [10, 1]);
  add(a, 2, 3, [0, 3]);
  add(b, 1, 4, [4, 0]);
  add(b, 5, 8, [8, 8]);
  a.merge(b);
  assertEquals([sideOf(a, 1), sideOf(a, 2), sideOf(a, 5)], [[14, 1], [0, 3], [8, 8]]);
  assertEquals(a.top().map((e) => [e.key[3], e.count]), [[1, 14], [5, 8], [2, 3]]);
  // The merged counters sit in new places: the side values moved with their keys.
  a.merge(new SpaceSaving(4, 2));
  assertEquals([sideOf(a, 1), sideOf(a, 2), sideOf(a, 5)], [[14, 1], [0, 3], [8, 8]]);
});

Deno.test("SpaceSaving.merge() hands a combine function both counters' guaranteed packets", () => {
  const a = new SpaceSaving(1, 1);
  const b = new SpaceSaving(1, 1);
  add(a, 1, 6, [1]);
  add(a, 2, 3, [2]); // evicts key 1: count 9, error 6, 3 packets guaranteed
  add(b, 2, 5, [3]);
  const calls: number[][] = [];
  a.merge(b, (into, at, from, fromAt, width, intoCount, fromCount) => {
    calls.push([width, intoCount, fromCount]);
    into[at] = into[at] * 10 + from[fromAt];
  });
  assertEquals(calls, [[1, 3, 5]]);
  assertEquals(sideOf(a, 2), [23]);
});

Deno.test("SpaceSaving.merge() refuses a summary with another number of side values", () => {
  assertThrows(() => new SpaceSaving(4, 2).merge(new SpaceSaving(4, 3)), /sideWidth/);
});
