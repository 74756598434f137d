import { IpProto, PacketMeta, parseAddress } from "../../../core/packet/mod.ts";
import { type Window, Windower, type WindowerOptions } from "../../../core/traffic/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";

const T = 1_700_000_000;

/** A windower that records `[start, seconds, packets]` of each window it closes. */
function recorder(options?: WindowerOptions) {
  const windows: [number, number, number][] = [];
  const windower = new Windower((w: Window) => {
    windows.push([w.start, w.seconds, w.packets]);
  }, options);
  const meta = new PacketMeta();
  meta.ipVersion = 4;
  meta.protocol = IpProto.UDP;
  meta.wireLen = 100;
  parseAddress("10.0.0.1", meta.src);
  parseAddress("10.0.0.2", meta.dst);
  /** Adds a packet at `seconds` (epoch seconds, fractional). */
  const at = (seconds: number) => {
    meta.tsUs = Math.round(seconds * 1e6);
    windower.add(meta);
  };
  return { windows, windower, at };
}

Deno.test("Windower closes a window when packet time reaches the next second", () => {
  const { windows, windower, at } = recorder();
  assertEquals(windower.current, undefined);
  at(T + 0.1);
  assertEquals(windower.current, T);
  at(T + 0.999999);
  assertEquals(windows, []);
  at(T + 1);
  assertEquals(windows, [[T, 1, 2]]);
  assertEquals(windower.current, T + 1);
  at(T + 1.5);
  at(T + 2.000001);
  assertEquals(windows, [[T, 1, 2], [T + 1, 1, 2]]);
});

Deno.test("Windower starts the first window at the first packet's second", () => {
  const { windows, windower, at } = recorder();
  at(T + 41.7);
  windower.flush();
  assertEquals(windows, [[T + 41, 1, 1]]);
});

Deno.test("Windower emits empty windows for skipped seconds", () => {
  const { windows, windower, at } = recorder();
  at(T + 0.5);
  at(T + 3.2);
  assertEquals(windows, [[T, 1, 1], [T + 1, 1, 0], [T + 2, 1, 0]]);
  windower.flush();
  assertEquals(windows.at(-1), [T + 3, 1, 1]);
});

Deno.test("Windower fills a gap of exactly maxGapSeconds and no longer one", () => {
  const filled = recorder({ maxGapSeconds: 3 });
  filled.at(T);
  filled.at(T + 4); // 3 missing seconds
  assertEquals(filled.windows.map((w) => w[0]), [T, T + 1, T + 2, T + 3]);
  const fresh = recorder({ maxGapSeconds: 3 });
  fresh.at(T);
  fresh.at(T + 5); // 4 missing seconds
  assertEquals(fresh.windows, [[T, 1, 1]]);
  assertEquals(fresh.windower.current, T + 5);
});

Deno.test("Windower starts afresh after a jump longer than maxGapSeconds", () => {
  const { windows, windower, at } = recorder();
  at(T);
  at(T + 3600);
  at(T + 3600.5);
  assertEquals(windows, [[T, 1, 1]]);
  windower.flush();
  assertEquals(windows, [[T, 1, 1], [T + 3600, 1, 2]]);
});

Deno.test("Windower counts out-of-order packets in the current window", () => {
  const { windows, windower, at } = recorder();
  at(T + 5.5);
  at(T + 4.9); // late by less than a second
  at(T + 2); // late by a few seconds
  at(T + 5.9);
  windower.flush();
  assertEquals(windows, [[T + 5, 1, 4]]);
});

Deno.test("Windower restarts after a clock step back longer than maxGapSeconds", () => {
  const { windows, windower, at } = recorder({ maxGapSeconds: 10 });
  at(T + 100);
  at(T + 50);
  at(T + 50.5);
  windower.flush();
  assertEquals(windows, [[T + 100, 1, 1], [T + 50, 1, 2]]);
});

Deno.test("Windower.advance() closes windows on an idle link", () => {
  const { windows, windower, at } = recorder();
  at(T + 0.2);
  windower.advance((T + 0.9) * 1e6);
  assertEquals(windows, []);
  windower.advance((T + 1) * 1e6);
  assertEquals(windows, [[T, 1, 1]]);
  // Each second passes with an empty window.
  windower.advance((T + 1.5) * 1e6);
  windower.advance((T + 2.1) * 1e6);
  assertEquals(windows, [[T, 1, 1], [T + 1, 1, 0]]);
  windower.advance((T + 5.3) * 1e6);
  assertEquals(windows.map((w) => w[0]), [T, T + 1, T + 2, T + 3, T + 4]);
  // Packets go on into the window advance() opened.
  at(T + 5.4);
  windower.flush();
  assertEquals(windows.at(-1), [T + 5, 1, 1]);
});

Deno.test("Windower.advance() with no window open starts one", () => {
  const { windows, windower } = recorder();
  windower.advance(T * 1e6 + 300_000);
  assertEquals(windower.current, T);
  windower.advance((T + 2) * 1e6);
  assertEquals(windows, [[T, 1, 0], [T + 1, 1, 0]]);
});

Deno.test("Windower.advance() to an earlier time changes nothing", () => {
  const { windows, windower, at } = recorder();
  at(T + 7.5);
  windower.advance((T + 6) * 1e6);
  windower.advance((T + 7.9) * 1e6);
  assertEquals(windows, []);
  assertEquals(windower.current, T + 7);
});

Deno.test("Windower.flush() closes the last window only when it holds packets", () => {
  const { windows, windower, at } = recorder();
  windower.flush();
  assertEquals(windows, []);
  at(T + 1.5);
  windower.flush();
  assertEquals(windows, [[T + 1, 1, 1]]);
  assertEquals(windower.current, undefined);
  windower.flush();
  assertEquals(windows.length, 1);
  // An empty window opened by advance() is dropped.
  windower.advance((T + 9) * 1e6);
  windower.flush();
  assertEquals(windows.length, 1);
  // After a flush the next packet opens a window at its own second.
  at(T + 20.1);
  windower.flush();
  assertEquals(windows.at(-1), [T + 20, 1, 1]);
});

Deno.test("Windower hands onWindow one reused Window with full statistics", () => {
  const seen: Window[] = [];
  const stats: number[] = [];
  const windower = new Windower((w) => {
    seen.push(w);
    stats.push(w.snapshot().top_src_ips[0]?.count ?? 0);
  }, { topK: 8 });
  const meta = new PacketMeta();
  meta.ipVersion = 4;
  meta.wireLen = 60;
  parseAddress("198.51.100.1", meta.src);
  for (let i = 0; i < 30; i++) {
    meta.tsUs = (T + Math.floor(i / 10)) * 1e6 + i;
    windower.add(meta);
  }
  windower.flush();
  assertEquals(stats, [10, 10, 10]);
  assert(seen.every((w) => w === seen[0]));
  assertEquals(seen[0].topK, 8);
});
