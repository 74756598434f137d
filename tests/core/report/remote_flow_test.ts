import { defaultConfig } from "../../../core/config/mod.ts";
import {
  applyRemoteConfig,
  changedKeys,
  flowActive,
  flowMetrics,
  type FlowSnapshot,
  parseRemoteConfig,
} from "../../../core/report/mod.ts";
import { dropsByReason } from "../../../core/flow/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";

Deno.test("parseRemoteConfig() judges the flow block key by key and applyRemoteConfig() maps it onto the flow_* keys", () => {
  const r = parseRemoteConfig({
    flow: {
      enabled: true,
      protocol: "sflow",
      port: 6343,
      sample_rate: 512,
      source_ips: ["198.18.0.1", "2001:2::1"],
      node_ip: "198.18.0.2",
    },
  });
  assert(r.ok);
  assertEquals(r.warnings, []);
  const local = defaultConfig();
  const c = applyRemoteConfig(local, r.config);
  assertEquals(
    [c.flow_enabled, c.flow_protocol, c.flow_port, c.flow_sample_rate, c.flow_source_ips],
    [true, "sflow", 6343, 512, ["198.18.0.1", "2001:2::1"]],
  );
  assertEquals(changedKeys(local, c), [
    "flow_enabled",
    "flow_protocol",
    "flow_port",
    "flow_sample_rate",
    "flow_source_ips",
  ]);
  // Null: the local value stays.
  const unset = { protocol: null, port: null, sample_rate: null, source_ips: null, node_ip: null };
  assertEquals(applyRemoteConfig(local, { flow: unset }), local);
});

Deno.test("parseRemoteConfig() refuses bad flow values one line each and keeps the good ones", () => {
  const r = parseRemoteConfig({
    flow: {
      enabled: "yes",
      protocol: "netflow_v7",
      port: 0,
      sample_rate: 1.5,
      source_ips: ["198.18.0.0/15"],
      node_ip: "eth0",
    },
  });
  assert(r.ok);
  assertEquals(r.refused.map((x) => x.key), [
    "flow.enabled",
    "flow.protocol",
    "flow.port",
    "flow.sample_rate",
    "flow.source_ips",
    "flow.node_ip",
  ]);
  for (const w of r.warnings) assertMatch(w, /^remote config key "flow\.\w+(\.\d+)?" ignored: /);
  assertEquals(r.config.flow, {});
  const list = parseRemoteConfig({ flow: ["sflow"] });
  assert(list.ok);
  assertEquals(list.refused.map((x) => x.key), ["flow"]);
});

Deno.test("flowActive() needs a running collector with a valid datagram in the last 120 s, and flowMetrics() names every malformed reason", () => {
  const s: FlowSnapshot = {
    source: "flow ipfix 127.0.0.1:4739",
    protocol: "ipfix",
    port: 4739,
    running: true,
    lastValidMs: 1_000_000,
    datagrams: 10,
    notAllowed: 1,
    flows: 30,
    samples: 0,
    counters: 0,
    packets: 300,
    malformed: dropsByReason({ bad_version: 2 }),
    templates: 3,
    exporters: 1,
    heldSets: 0,
    kernelDrops: 0,
    sampleRate: 10,
    restarts: 0,
  };
  assertEquals(flowActive(s, 1_000_000 + 120_000), true);
  assertEquals(flowActive(s, 1_000_000 + 120_001), false);
  assertEquals(flowActive({ ...s, running: false }, 1_000_000), false);
  assertEquals(flowActive({ ...s, lastValidMs: null }, 1_000_000), false);
  assertEquals(flowActive(null, 1_000_000), false);
  const families = flowMetrics(s, 1_000_500);
  const malformed = families.find((f) => f.name === "ftagent_flow_malformed_total")!;
  assertEquals(malformed.samples.length, 14);
  assertEquals(malformed.samples.find((x) => x.labels?.reason === "bad_version")?.value, 2);
  for (const f of families) {
    assert(f.type === "gauge" || f.name.endsWith("_total"), f.name);
    assert(f.name.startsWith("ftagent_flow_"), f.name);
  }
});
