// The flow collector changed while it runs (the server's `flow` block, a reload): real UDP
// sockets on loopback, real exporters' datagrams (tests/fixtures/flows/), a real pipeline and
// detector.
import { createSocket, type Socket } from "node:dgram";
import { applyFlowConfig, FlowSource } from "../../../agent/capture/mod.ts";
import { defaultConfig } from "../../../core/config/mod.ts";
import { Detector } from "../../../core/detect/mod.ts";
import { flowActive } from "../../../core/report/mod.ts";
import { Pipeline } from "../../../core/traffic/mod.ts";
import { flowDatagrams } from "../../support/flow_fixtures.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";

/** A UDP port nothing listens on right now. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

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

/** Polls `until()` every 20 ms for at most 5 s. */
async function settle(until: () => boolean): Promise<void> {
  const end = performance.now() + 5000;
  while (!until() && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** Runs `source` into a real pipeline with detection; `stop()` ends the run. */
function running(source: FlowSource) {
  const pipeline = new Pipeline(() => {}, {
    detector: new Detector(defaultConfig(), { onEvent: () => {} }),
  });
  const stop = new AbortController();
  const done = source.run(pipeline, { signal: stop.signal });
  return {
    pipeline,
    stop: async () => {
      stop.abort();
      await done;
    },
  };
}

Deno.test("FlowSource.reconfigure() moves reading to a new port and protocol while running and keeps the totals", async () => {
  const [p1, p2] = [await freeUdpPort(), await freeUdpPort()];
  const source = await FlowSource.open({ bind: "127.0.0.1", port: p1, protocol: "sflow" });
  const run = running(source);
  try {
    const sflow = flowDatagrams("sflow").map((d) => d.bytes);
    await send(p1, sflow);
    await settle(() => source.stats().datagrams === sflow.length);
    const changed = await source.reconfigure({ bind: "127.0.0.1", port: p2, protocol: "ipfix" });
    assertEquals(changed, [
      `collector moved from sflow 127.0.0.1:${p1} to ipfix 127.0.0.1:${p2}`,
    ]);
    assertEquals([source.name, source.port], [`flow ipfix 127.0.0.1:${p2}`, p2]);
    const ipfix = flowDatagrams("ipfix").map((d) => d.bytes);
    await send(p2, ipfix);
    await send(p1, sflow); // the old port is closed: nothing arrives
    await settle(() => source.stats().datagrams === sflow.length + ipfix.length);
    await new Promise((r) => setTimeout(r, 100));
    const s = source.flowSnapshot();
    assertEquals(
      [s.datagrams, s.samples, s.flows, s.restarts, s.protocol, s.port, s.running],
      [48 + 14, 361, 410, 1, "ipfix", p2, true],
    );
    // Malformed so far: only pmacct's own (none in these two files).
    assertEquals(Object.values(s.malformed).reduce((a, b) => a + b, 0), 0);
    // Same settings again: nothing to do.
    assertEquals(
      await source.reconfigure({ bind: "127.0.0.1", port: p2, protocol: "ipfix" }),
      [],
    );
  } finally {
    await run.stop();
    source.close();
  }
  assertEquals(source.flowSnapshot().running, false);
});

Deno.test("FlowSource.reconfigure() keeps the running socket when the new port is taken, and applies the rate and allowlist at once", async () => {
  const p1 = await freeUdpPort();
  const taken: Socket = createSocket("udp4");
  await new Promise<void>((resolve) => taken.bind(0, "127.0.0.1", resolve));
  const source = await FlowSource.open({ bind: "127.0.0.1", port: p1, protocol: "netflow_v9" });
  const run = running(source);
  try {
    let message = "";
    try {
      await source.reconfigure({ bind: "127.0.0.1", port: taken.address().port });
    } catch (err) {
      message = (err as Error).message;
    }
    assertMatch(
      message,
      new RegExp(`^flow collector on 127\\.0\\.0\\.1:${taken.address().port}: `),
    );
    assert(!message.includes("\n"), message);
    assertEquals(source.name, `flow netflow_v9 127.0.0.1:${p1}`);
    // Sampling 1 in 10 from now on: softflowd's 10,618 packets count ten times.
    assertEquals(
      await source.reconfigure({
        bind: "127.0.0.1",
        port: p1,
        protocol: "netflow_v9",
        sampleRate: 10,
      }),
      ["sample rate 10"],
    );
    const v9 = flowDatagrams("netflow_v9").map((d) => d.bytes);
    await send(p1, v9);
    await settle(() => source.stats().flows === 412);
    assertEquals([source.stats().flowPackets, source.flowSnapshot().sampleRate], [106_180, 10]);
    // Another exporter only: the datagrams of 127.0.0.1 are counted and dropped unread.
    assertEquals(
      await source.reconfigure({
        bind: "127.0.0.1",
        port: p1,
        protocol: "netflow_v9",
        sourceIps: ["198.18.0.9"],
      }),
      ["sample rate from the exporter", "1 exporter allowed"],
    );
    await send(p1, v9);
    await settle(() => source.stats().datagrams === 2 * v9.length);
    const s = source.flowSnapshot();
    assertEquals([s.notAllowed, s.flows, s.restarts], [14, 412, 0]);
  } finally {
    await run.stop();
    source.close();
    await new Promise<void>((resolve) => taken.close(resolve));
  }
});

Deno.test("FlowSource.flowSnapshot() is active only after a valid datagram and counts malformed ones by reason", async () => {
  const port = await freeUdpPort();
  const source = await FlowSource.open({ bind: "127.0.0.1", port, protocol: "ipfix" });
  const run = running(source);
  try {
    const v5 = flowDatagrams("netflow_v5").map((d) => d.bytes);
    const junk = [new Uint8Array([0, 10]), new Uint8Array([0, 10, 0, 200, 1, 2, 3, 4]), ...v5];
    await send(source.port, junk);
    await settle(() => source.stats().datagrams === junk.length);
    let s = source.flowSnapshot();
    assertEquals(s.lastValidMs, null);
    assertEquals(flowActive(s, Date.now()), false);
    // Shorter than their header; NetFlow v5 to an IPFIX collector.
    assertEquals(s.malformed.truncated_header, 2);
    assertEquals(s.malformed.bad_version, v5.length);
    await send(source.port, flowDatagrams("ipfix").map((d) => d.bytes));
    await settle(() => source.flowSnapshot().flows === 410);
    s = source.flowSnapshot();
    const now = Date.now();
    assert(s.lastValidMs !== null && now - s.lastValidMs < 5000, String(s.lastValidMs));
    assertEquals(flowActive(s, now), true);
    assertEquals(flowActive(s, s.lastValidMs + 120_001), false); // nothing for over 120 s
    assertEquals([s.templates > 0, s.exporters, s.sampleRate], [true, 1, 1]);
  } finally {
    await run.stop();
    source.close();
  }
  assertEquals(flowActive(source.flowSnapshot(), Date.now()), false); // stopped
});

Deno.test("applyFlowConfig() says that flow_enabled changes at the next start and a failed move keeps the socket", async () => {
  const lines: string[] = [];
  const say = {
    info: (m: string) => lines.push(`info ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
  };
  await applyFlowConfig(null, { ...defaultConfig(), flow_enabled: true }, say);
  assertEquals(lines, [
    "warn flow_enabled=true applies at the next start (the agent now captures packets)",
  ]);
  const taken = await FlowSource.open({ bind: "127.0.0.1", port: await freeUdpPort() });
  const source = await FlowSource.open({ bind: "127.0.0.1", port: await freeUdpPort() });
  try {
    lines.length = 0;
    const c = { ...defaultConfig(), flow_enabled: true, flow_bind: "127.0.0.1" };
    await applyFlowConfig(source, { ...c, flow_port: taken.port }, say);
    assertEquals(lines.length, 1);
    assertMatch(
      lines[0],
      new RegExp(`^warn flow collector keeps flow auto 127\\.0\\.0\\.1:${source.port}: `),
    );
    lines.length = 0;
    await applyFlowConfig(source, { ...c, flow_port: source.port, flow_sample_rate: 100 }, say);
    assertEquals(lines, ["info flow collector: sample rate 100"]);
  } finally {
    source.close();
    taken.close();
  }
});

Deno.test("FlowSource.reconfigure() calls made at once apply one after the other, the last one winning", async () => {
  const [p1, p2, p3] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
  const source = await FlowSource.open({ bind: "127.0.0.1", port: p1 });
  const run = running(source);
  try {
    const [a, b] = await Promise.all([
      source.reconfigure({ bind: "127.0.0.1", port: p2 }),
      source.reconfigure({ bind: "127.0.0.1", port: p3, protocol: "sflow" }),
    ]);
    assertEquals(a, [`collector moved from auto 127.0.0.1:${p1} to auto 127.0.0.1:${p2}`]);
    assertEquals(b, [`collector moved from auto 127.0.0.1:${p2} to sflow 127.0.0.1:${p3}`]);
    const sflow = flowDatagrams("sflow").map((d) => d.bytes);
    await send(p3, sflow);
    await settle(() => source.flowSnapshot().samples === 361);
    assertEquals([source.flowSnapshot().samples, source.flowSnapshot().restarts], [361, 2]);
  } finally {
    await run.stop();
    source.close();
  }
});
