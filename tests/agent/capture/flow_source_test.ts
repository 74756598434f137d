import { createSocket } from "node:dgram";
import { FLOW_DEFAULT_PORTS, FlowSource } from "../../../agent/capture/mod.ts";
import { defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { Detector } from "../../../core/detect/mod.ts";
import { Pipeline } from "../../../core/traffic/mod.ts";
import { flowDatagrams } from "../../support/flow_fixtures.ts";
import { assert, assertEquals, assertThrows } from "../../support/assert.ts";

/** Sends `datagrams` to 127.0.0.1:`port` from a real UDP socket bound to `from`. */
async function send(port: number, datagrams: Uint8Array[], from = "127.0.0.1"): Promise<void> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) =>
      socket.send(d, port, "127.0.0.1", (err) => err ? reject(err) : resolve())
    );
  }
  await new Promise<void>((resolve) => socket.close(resolve));
}

/** Runs `source` into a pipeline with detection until `until()` holds (at most 5 s). */
async function collect(source: FlowSource, sendAll: () => Promise<void>, until: () => boolean) {
  const pipeline = new Pipeline(() => {}, {
    detector: new Detector(defaultConfig(), { onEvent: () => {} }),
  });
  const stop = new AbortController();
  let ticks = 0;
  const running = source.run(pipeline, { signal: stop.signal, onTick: () => ticks++ });
  await sendAll();
  const end = performance.now() + 5000;
  while (!until() && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 250)); // a few ticks
  stop.abort();
  await running;
  return { pipeline, ticks };
}

Deno.test("FlowSource feeds softflowd's NetFlow v9 records, weighted, to the pipeline", async () => {
  const source = await FlowSource.open({ bind: "127.0.0.1", port: 0, protocol: "netflow_v9" });
  try {
    assert(source.port > 0);
    assertEquals(source.name, `flow netflow_v9 127.0.0.1:${source.port}`);
    const datagrams = flowDatagrams("netflow_v9").map((d) => d.bytes);
    const { pipeline, ticks } = await collect(
      source,
      () => send(source.port, datagrams),
      () => source.stats().datagrams === datagrams.length,
    );
    const stats = source.stats();
    assertEquals([stats.datagrams, stats.flows, stats.notAllowed], [14, 412, 0]);
    assertEquals(stats.drops, {});
    assertEquals(stats.exporters, 1);
    assertEquals(stats.flowPackets, 10_618); // tshark's sum of the records' packets
    // Records are spread over their length (up to 10 s): what the run's end left is not counted.
    assert(pipeline.packets > 0 && pipeline.packets <= 10_618, String(pipeline.packets));
    assert(ticks >= 2, `ticks ${ticks}`);
  } finally {
    source.close();
    source.close(); // twice is fine
  }
});

Deno.test("FlowSource drops datagrams of exporters not in flow_source_ips with a count", async () => {
  const source = await FlowSource.open({ bind: "127.0.0.1", port: 0, sourceIps: ["198.18.0.9"] });
  try {
    const datagrams = flowDatagrams("ipfix").map((d) => d.bytes);
    const { pipeline } = await collect(
      source,
      () => send(source.port, datagrams),
      () => source.stats().datagrams === datagrams.length,
    );
    const stats = source.stats();
    assertEquals([stats.datagrams, stats.notAllowed, stats.flows], [14, 14, 0]);
    assertEquals(stats.dropped, 14);
    assertEquals(pipeline.packets, 0);
  } finally {
    source.close();
  }
});

Deno.test("FlowSource counts sFlow samples at their sampling rate", async () => {
  const source = await FlowSource.open({ bind: "127.0.0.1", port: 0, protocol: "sflow" });
  try {
    const datagrams = flowDatagrams("sflow").map((d) => d.bytes);
    const { pipeline } = await collect(
      source,
      () => send(source.port, datagrams),
      () => source.stats().datagrams === datagrams.length,
    );
    const stats = source.stats();
    assertEquals([stats.datagrams, stats.samples, stats.flowPackets], [48, 361, 722]);
    assertEquals(pipeline.packets, 2 * 361); // rate 2
  } finally {
    source.close();
  }
});

Deno.test("FlowSource.open() says in one line why it cannot bind", async () => {
  const first = await FlowSource.open({ bind: "127.0.0.1", port: 0 });
  try {
    let message = "";
    try {
      await FlowSource.open({ bind: "127.0.0.1", port: first.port });
    } catch (err) {
      message = (err as Error).message;
    }
    assert(message.startsWith(`flow collector on 127.0.0.1:${first.port}: `), message);
    assert(!message.includes("\n"), message);
  } finally {
    first.close();
  }
  assertEquals(FLOW_DEFAULT_PORTS.ipfix, 4739);
});

Deno.test("The flow config keys have the Flowtriq agent's names and defaults", () => {
  const c = defaultConfig();
  assertEquals(
    [c.flow_enabled, c.flow_protocol, c.flow_port, c.flow_bind, c.flow_sample_rate],
    [false, "auto", 0, "0.0.0.0", 0],
  );
  assertEquals(c.flow_source_ips, []);
  const set = parseConfig({ flow_enabled: true, flow_protocol: "ipfix", flow_source_ips: ["::1"] });
  assertEquals(set.config.flow_protocol, "ipfix");
  assertThrows(() => parseConfig({ flow_protocol: "netflow_v7" }), /"flow_protocol"/);
  assertThrows(() => parseConfig({ flow_bind: "eth0" }), /"flow_bind"/);
  assertThrows(() => parseConfig({ flow_source_ips: ["10.0.0.0/8"] }), /flow_source_ips/);
});
