// The flow collector seen and steered from outside: a real `ftagent` process with flow_enabled,
// reporting to the stand-in control plane (Deno.serve), fed real exporters' datagrams over UDP
// on loopback. The server's `flow` block moves the collector at start; the heartbeat says
// `flow_active`; /metrics (checked by promtool) and `ftagent status` show the flow counters;
// bad `flow` values are refused one line each and the local settings stay.
import { createSocket } from "node:dgram";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent, killAgent, spawnFtagent } from "../support/cli.ts";
import { flowDatagrams } from "../support/flow_fixtures.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { promtool } from "../support/promtool.ts";
import { agentScratch } from "../support/scratch.ts";
import { waitFor } from "../support/stream.ts";

/** A port nothing listens on right now (TCP or UDP, as asked). */
async function freePort(udp: boolean): Promise<number> {
  if (!udp) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    return port;
  }
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

/** Sends `datagrams` to 127.0.0.1:`port`. */
async function send(port: number, datagrams: Uint8Array[]): Promise<void> {
  const socket = createSocket("udp4");
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) =>
      socket.send(d, port, "127.0.0.1", (err) => err ? reject(err) : resolve())
    );
  }
  await new Promise<void>((resolve) => socket.close(resolve));
}

/** The agent with flow_enabled on 127.0.0.1:`flowPort` (netflow_v9), reporting to `server`. */
async function flowAgent(server: FlowtriqServer, flowPort: number, metricsPort: number) {
  const scratch = await agentScratch("fta-flowctl-", {
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    heartbeat_interval: 1,
    metrics_interval: 1,
    metrics_port: metricsPort,
    flow_enabled: true,
    flow_protocol: "netflow_v9",
    flow_bind: "127.0.0.1",
    flow_port: flowPort,
  });
  const child = spawnFtagent(["--config", scratch.config]);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  return { ...scratch, child, reader };
}

Deno.test("the server's flow block moves the running collector; heartbeat flow_active, /metrics and ftagent status show the flows", async () => {
  const server = new FlowtriqServer();
  const [p1, p2, metricsPort] = [await freePort(true), await freePort(true), await freePort(false)];
  server.config = {
    flow: {
      enabled: true,
      protocol: "ipfix",
      port: p2,
      sample_rate: 2,
      source_ips: ["127.0.0.1"],
      node_ip: "198.18.0.2",
    },
  };
  server.up();
  const agent = await flowAgent(server, p1, metricsPort);
  let text = "";
  try {
    text = await waitFor(agent.reader, /flow collector: .*allowed/);
    assertMatch(text, new RegExp(`collecting flows: flow netflow_v9 127\\.0\\.0\\.1:${p1}`));
    assertMatch(
      text,
      /config from the server applied: .*flow_protocol="ipfix", flow_port=\d+, flow_sample_rate=2, flow_source_ips=\["127\.0\.0\.1"\]/,
    );
    assertMatch(
      text,
      new RegExp(
        `flow collector: collector moved from netflow_v9 127\\.0\\.0\\.1:${p1} to ipfix ` +
          `127\\.0\\.0\\.1:${p2}, sample rate 2, 1 exporter allowed`,
      ),
    );
    // Before any datagram the collector runs but is not active.
    const heartbeats = () => server.accepted(/\/agent\/heartbeat$/);
    assert(await server.waitFor(() => heartbeats().length > 0));
    assertEquals((heartbeats()[0].body as { flow_active: boolean }).flow_active, false);
    const ipfix = flowDatagrams("ipfix").map((d) => d.bytes);
    const junk = [new Uint8Array([0, 10]), ...flowDatagrams("netflow_v5").map((d) => d.bytes)];
    await send(p2, [...ipfix, ...junk]);
    const active = () =>
      heartbeats().some((h) => (h.body as { flow_active: boolean }).flow_active === true);
    assert(await server.waitFor(active), "no heartbeat with flow_active true");

    // flow_active turns true at the first datagram: read /metrics once all of them are counted.
    const sent = ipfix.length + junk.length;
    const valueIn = (text: string, series: string) =>
      Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    let metrics = "";
    for (let i = 0; i < 100; i++) {
      metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      if (valueIn(metrics, "ftagent_flow_datagrams_total") >= sent) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await promtool(["check", "metrics"], metrics), { code: 0, output: "" });
    const value = (series: string) => valueIn(metrics, series);
    assertEquals(value("ftagent_flow_active"), 1);
    assertEquals(value("ftagent_flow_datagrams_total"), sent);
    assertEquals(value('ftagent_flow_records_total{kind="flow"}'), 410);
    assertEquals(value("ftagent_flow_packets_total"), 2 * 10_616); // tshark's sum, times 2
    assertEquals(value('ftagent_flow_malformed_total{reason="truncated_header"}'), 1);
    assertEquals(value('ftagent_flow_malformed_total{reason="bad_version"}'), junk.length - 1);
    assertEquals(value('ftagent_flow_malformed_total{reason="unknown_template"}'), 0);
    assertEquals([value("ftagent_flow_exporters"), value("ftagent_flow_sample_rate")], [1, 2]);
    assert(value("ftagent_flow_templates") > 0, metrics);
    assertEquals(value("ftagent_flow_restarts_total"), 1);

    const status = await ftagent(["status", "--config", agent.config]);
    assertEquals(status.code, 0, status.stderr);
    assertMatch(
      status.stdout,
      new RegExp(
        `^flows +active on flow ipfix 127\\.0\\.0\\.1:${p2}, last valid datagram \\d+\\.\\d s ago$`,
        "m",
      ),
    );
    assertMatch(
      status.stdout,
      /^ {2}\d+ datagrams \(0 not allowed, 0 dropped by the kernel\), 410 flows, .*sampling 1:2$/m,
    );
    assertMatch(status.stdout, /^ {2}malformed truncated_header 1, bad_version \d+$/m);
    const json = JSON.parse((await ftagent(["status", "--json", "--config", agent.config])).stdout);
    assertEquals([json.flow.port, json.flow.flows, json.flow.protocol], [p2, 410, "ipfix"]);
    agent.child.kill("SIGTERM");
    assertEquals((await agent.child.status).code, 0);
  } finally {
    await killAgent(agent.child, agent.reader);
    await server.down();
    await Deno.remove(agent.dir, { recursive: true });
  }
});

Deno.test("bad values in the server's flow block are refused one line each and the collector stays", async () => {
  const server = new FlowtriqServer();
  const [p1, metricsPort] = [await freePort(true), await freePort(false)];
  server.config = {
    flow: {
      protocol: "netflow_v7",
      port: 70000,
      sample_rate: -1,
      source_ips: ["10.0.0.0/8"],
      node_ip: ["198.18.0.2"],
    },
  };
  server.up();
  const agent = await flowAgent(server, p1, metricsPort);
  let text = "";
  try {
    text = await waitFor(agent.reader, /flow\.node_ip.*said once/);
    for (const key of ["protocol", "port", "sample_rate", "source_ips", "node_ip"]) {
      const line = text.split("\n").find((l) => l.includes(`"flow.${key}`));
      assert(line !== undefined, `no line about flow.${key}:\n${text}`);
      assertMatch(line, /ignored: .* is invalid \(.*\); the previous value stays \(said once\)$/);
    }
    assert(!text.includes("flow collector:"), text);
    const v9 = flowDatagrams("netflow_v9").map((d) => d.bytes);
    await send(p1, v9);
    const heartbeats = () => server.accepted(/\/agent\/heartbeat$/);
    assert(
      await server.waitFor(() =>
        heartbeats().some((h) => (h.body as { flow_active: boolean }).flow_active === true)
      ),
      "the collector stayed on the local port",
    );
    agent.child.kill("SIGTERM");
    assertEquals((await agent.child.status).code, 0);
  } finally {
    await killAgent(agent.child, agent.reader);
    await server.down();
    await Deno.remove(agent.dir, { recursive: true });
  }
});
