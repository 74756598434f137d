import { isoTime } from "../../../core/detect/mod.ts";
import { LinkType } from "../../../core/packet/mod.ts";
import {
  isPacketTime,
  PACKET_TIME_MAX_US,
  Pipeline,
  type WindowStats,
} from "../../../core/traffic/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { eth, EtherType, ipv4, udp } from "../../support/frames.ts";

Deno.test("Pipeline counts a frame whose time is not a date as malformed, says it once and never windows it", () => {
  const windows: WindowStats[] = [];
  const said: number[] = [];
  const pipeline = new Pipeline((w) => windows.push(w.snapshot(3)), {
    onBadTime: (tsUs) => said.push(tsUs),
  });
  const f = eth(EtherType.IPV4, ipv4(17, udp(40000, 53, new Uint8Array(30))));
  const t0 = 1.7e15;
  const times = [t0, 2 ** 64, t0 + 1, NaN, -1, Infinity, PACKET_TIME_MAX_US, t0 + 1e6];
  for (const t of times) pipeline.packet(f, 0, f.length, f.length, t, LinkType.EN10MB);
  pipeline.flush();
  assertEquals([pipeline.packets, pipeline.malformed, pipeline.badTime], [8, 5, 5]);
  assertEquals(said, [2 ** 64]);
  assertEquals(windows.map((w) => [w.t, w.packets]), [[1.7e9, 2], [1.7e9 + 1, 1]]);
  assertEquals([pipeline.firstTsUs, pipeline.lastTsUs], [t0, t0 + 1e6]);
});

Deno.test("isPacketTime() takes 1970 up to 2100 and isoTime() never throws", () => {
  assert(isPacketTime(0) && isPacketTime(PACKET_TIME_MAX_US - 1));
  assert(!isPacketTime(-1) && !isPacketTime(PACKET_TIME_MAX_US) && !isPacketTime(NaN));
  assertEquals(isoTime(1700000000123456), "2023-11-14T22:13:20.123456+00:00");
  for (const us of [2 ** 64, -(2 ** 64), Infinity, -Infinity, NaN, 8.64e18 + 1]) {
    assert(/^[+-]?\d{4,6}-\d\d-\d\dT/.test(isoTime(us)), String(us));
  }
});
