import { emptySeries, mergeSeries, RateHistory } from "../../../core/report/mod.ts";
import { assertEquals } from "../../support/assert.ts";

const by = (k: number) => [[k, 8 * k], [1, 8], [0, 0], [0, 0]];

Deno.test("RateHistory keeps only its last 900 seconds, oldest first, however long it runs", () => {
  const history = new RateHistory();
  for (let t = 0; t < 2000; t++) history.add(t, t, 8 * t, by(t));
  const s = history.series();
  assertEquals(history.size, 900);
  assertEquals([s.t.length, s.t[0], s.t.at(-1)], [900, 1100, 1999]);
  assertEquals([s.pps[0], s.bps[0], s.ppsBy.tcp[0], s.bpsBy.tcp[0], s.ppsBy.udp[0]], [
    1100,
    8800,
    1100,
    8800,
    1,
  ]);
});

Deno.test("RateHistory.series(since) hands only the seconds after `since` (a polling client's news)", () => {
  const history = new RateHistory(10);
  for (let t = 100; t < 105; t++) history.add(t, 1, 8, by(1));
  assertEquals(history.series(102).t, [103, 104]);
  assertEquals(history.series(104).t, []);
  assertEquals(history.series().t.length, 5);
});

Deno.test("mergeSeries() appends the news and drops what is older than the span", () => {
  const a = new RateHistory(5);
  for (let t = 0; t < 5; t++) a.add(t, t, 0, by(t));
  const into = mergeSeries(emptySeries(), a.series(), 3);
  assertEquals(into.t, [2, 3, 4]);
  const b = new RateHistory(5);
  b.add(5, 5, 0, by(5));
  mergeSeries(into, b.series(), 3);
  assertEquals([into.t, into.pps, into.ppsBy.tcp], [[3, 4, 5], [3, 4, 5], [3, 4, 5]]);
});
