import { LinkType } from "../../../core/packet/mod.ts";
import { Pipeline, type WindowStats } from "../../../core/traffic/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { eth, EtherType, ipv4, udp } from "../../support/frames.ts";

Deno.test("Pipeline counts what the protected addresses send out apart from inbound traffic", () => {
  let stats: WindowStats | null = null;
  const pipeline = new Pipeline((w) => stats = w.snapshot(3));
  pipeline.local.set(["198.18.0.0/27"]);
  const frames = [
    ipv4(17, udp(40000, 53, new Uint8Array(30)), { src: "198.18.17.1", dst: "198.18.0.1" }),
    ipv4(17, udp(53, 40000, new Uint8Array(60)), {
      src: "198.18.0.1",
      dst: "198.18.17.1",
    }),
  ].map((p) => eth(EtherType.IPV4, p));
  frames.forEach((f, i) => pipeline.packet(f, 0, f.length, f.length, 1e15 + i, LinkType.EN10MB));
  pipeline.flush();
  const s = stats!;
  assertEquals([s.packets, s.outbound.packets], [1, 1]);
  assertEquals(s.outbound.bytes, frames[1].length);
  assertEquals(s.top_src_ips, [{ ip: "198.18.17.1", count: 1 }]);
});
