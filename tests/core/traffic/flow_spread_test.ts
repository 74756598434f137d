import { defaultConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import { IpProto, PacketMeta, parseAddress, TcpFlag, vectorOf } from "../../../core/packet/mod.ts";
import { FlowSpreader, SLOT_US, type WeightedSink, Window } from "../../../core/traffic/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";

const T = 1_700_000_000_000_000; // µs

function synMeta(src: string, srcPort: number): PacketMeta {
  const meta = new PacketMeta();
  meta.ipVersion = 4;
  meta.protocol = IpProto.TCP;
  meta.tcpFlags = TcpFlag.SYN;
  meta.hasL4 = true;
  meta.wireLen = 60;
  meta.ttl = 64;
  meta.srcPort = srcPort;
  meta.dstPort = 80;
  parseAddress(src, meta.src);
  parseAddress("198.18.0.2", meta.dst);
  meta.vector = vectorOf(meta);
  meta.tsUs = T;
  return meta;
}

/** Records each share handed over as `[slot offset from T, packets, bytes]`. */
function shares(): { sink: WeightedSink; got: [number, number, number][] } {
  const got: [number, number, number][] = [];
  return {
    got,
    sink: {
      addWeighted: (meta, packets, bytes) =>
        got.push([Math.floor((meta.tsUs - T) / SLOT_US), packets, bytes]),
    },
  };
}

Deno.test("Window.addWeighted() gives the statistics of as many single packets", () => {
  const one = new Window();
  const many = new Window();
  const a = synMeta("198.18.1.1", 1000);
  const b = synMeta("198.18.1.2", 2000);
  for (let i = 0; i < 300; i++) one.add(a);
  for (let i = 0; i < 50; i++) one.add(b);
  many.addWeighted(a, 300, 300 * 60);
  many.addWeighted(b, 50, 50 * 60);
  assertEquals(many.snapshot(), one.snapshot());
});

Deno.test("Window.addWeighted() keeps the exact byte count when lengths differ", () => {
  const w = new Window();
  const m = synMeta("198.18.1.1", 1000);
  w.addWeighted(m, 3, 200); // 66.67 bytes a packet
  const s = w.snapshot();
  assertEquals([s.packets, s.bytes, s.protocols.tcp.bytes], [3, 200, 200]);
  assertEquals(s.top_dst_ports, [{ port: 80, count: 3 }]);
  assertEquals(m.wireLen, 60); // the meta is left as it was
});

Deno.test("Detector.addWeighted() opens the same SYN flood as the packets one by one", () => {
  const config = {
    ...defaultConfig(),
    dynamic_threshold: false,
    pps_threshold: 1000,
    syn_pps_threshold: 1000,
  };
  const run = (weighted: boolean) => {
    const events: IncidentEvent[] = [];
    const detector = new Detector(config, { onEvent: (e) => events.push(e) });
    const m = synMeta("198.18.1.1", 1000);
    for (let slot = 0; slot < 100; slot++) { // 10 s at 5000 pps
      m.tsUs = T + slot * SLOT_US;
      if (weighted) detector.addWeighted(m, 500, 500 * 60);
      else for (let i = 0; i < 500; i++) detector.add(m);
    }
    detector.finish();
    return events.map((e) => [e.event, e.attack_family, e.target, e.peak_pps, e.trigger]);
  };
  const weighted = run(true);
  assertEquals(weighted[0].slice(0, 3), ["open", "syn_flood", "198.18.0.2"]);
  assertEquals(weighted, run(false));
});

Deno.test("FlowSpreader spreads a record evenly over the slots it spans, from the current one", () => {
  const { sink, got } = shares();
  const spreader = new FlowSpreader(sink);
  const m = synMeta("198.18.1.1", 1000);
  // 1 s of flow (10 slots), arriving 2 s after it ended: late, so from the current slot on.
  spreader.add(m, 1000, 60_000, T - 3e6, T - 2e6 - 1, T);
  assertEquals(got, [[0, 100, 6000]]);
  for (let s = 1; s <= 12; s++) spreader.advance(T + s * SLOT_US);
  assertEquals(got.length, 10);
  assertEquals(got.map((g) => g[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(got.reduce((n, g) => n + g[1], 0), 1000);
  assertEquals(got.reduce((n, g) => n + g[2], 0), 60_000);
  assertEquals(spreader.stats.late, 1);
  assertEquals(spreader.active, 0);
});

Deno.test("FlowSpreader.flush() hands over what is left in the slots it still spans", () => {
  const { sink, got } = shares();
  const spreader = new FlowSpreader(sink);
  spreader.add(synMeta("198.18.1.1", 1000), 1000, 60_000, T - 3e6, T - 2e6 - 1, T);
  spreader.advance(T + 2 * SLOT_US);
  spreader.flush();
  assertEquals(got.map((g) => g[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(got.reduce((n, g) => n + g[1], 0), 1000);
  assertEquals(spreader.active, 0);
});

Deno.test("FlowSpreader spreads a long record over its last seconds and cuts future ends", () => {
  const { sink, got } = shares();
  const spreader = new FlowSpreader(sink, { maxSeconds: 2 });
  const m = synMeta("198.18.1.1", 1000);
  spreader.add(m, 7, 700, T - 60e6, T + 5e6, T); // 65 s, ending 5 s ahead of the clock
  for (let s = 1; s <= 30; s++) spreader.advance(T + s * SLOT_US);
  assertEquals(got.reduce((n, g) => n + g[1], 0), 7);
  assert(got.every((g) => g[0] >= 0 && g[0] < 20), JSON.stringify(got));
  assertEquals([spreader.stats.long, spreader.stats.future], [1, 1]);
});

Deno.test("FlowSpreader lands a one-slot record at once in the current slot", () => {
  const { sink, got } = shares();
  const spreader = new FlowSpreader(sink);
  const m = synMeta("198.18.1.1", 1000);
  spreader.advance(T + 5 * SLOT_US);
  spreader.add(m, 1, 60, T, T, T + 5 * SLOT_US + 10);
  spreader.add(m, 2, 120, NaN, NaN, T + 5 * SLOT_US + 20); // no times: now
  assertEquals(got, [[5, 1, 60], [5, 2, 120]]);
  assertEquals(spreader.active, 0);
});

Deno.test("FlowSpreader counts a record whole at once when too many are being spread", () => {
  const { sink, got } = shares();
  const spreader = new FlowSpreader(sink, { maxActive: 1 });
  const m = synMeta("198.18.1.1", 1000);
  spreader.add(m, 10, 600, T - 1e6, T, T);
  spreader.add(m, 10, 600, T - 1e6, T, T);
  assertEquals(got[1], [0, 10, 600]);
  assertEquals(spreader.stats.overflow, 1);
});
