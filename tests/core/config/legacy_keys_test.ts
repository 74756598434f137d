import { ConfigError, defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../../support/assert.ts";

/** The Python agent's defaults of its keys (ftagent 1.9.x DEFAULT_CONFIG and test configs). */
const PYTHON_DEFAULTS = {
  pcap_mode: "tcpdump",
  baseline_window: 300,
  health_port: 9100,
  flow_enabled: false,
  flow_protocol: "auto",
  flow_port: 0,
  flow_bind: "0.0.0.0",
  flow_sample_rate: 0,
  flow_source_ips: [],
  gre_mode: "auto",
  gre_max_depth: 3,
  hypervisor_mode: false,
  vm_labels: {},
  velocity_detection: false,
  agones_sidecar: false,
  pcap_lazy: false,
};

Deno.test("parseConfig() takes the Python agent's defaults with no unknown key", () => {
  const { config, warnings } = parseConfig(PYTHON_DEFAULTS);
  assertEquals(warnings.filter((w) => w.includes("unknown")), []);
  // Each line names its key once; off values ask for nothing and say nothing.
  assertEquals(warnings.map((w) => w.match(/^config key "(\w+)"/)?.[1]).sort(), [
    "gre_max_depth",
    "health_port",
    "pcap_mode",
  ]);
  for (const w of warnings) assertMatch(w, /not supported by this agent: /);
  assertEquals(config.baseline_window_minutes, 5);
  assertEquals(config.metrics_port, 9847);
  assertEquals(config.gre_mode, "auto");
  assertEquals(config.velocity_detection, false);
});

Deno.test("parseConfig() reads legacy keys onto ours unless our key is set", () => {
  const { config, warnings } = parseConfig({
    pcap_max_disk_mb: 512,
    baseline_window: 3600,
    health_port: 9200,
    preferred_firewall: "iptables",
  });
  assertEquals(warnings, []);
  assertEquals(config.pcap_max_total_mb, 512);
  assertEquals(config.baseline_window_minutes, 60);
  assertEquals(config.metrics_port, 9200);
  assertEquals(config.mitigation.backend, "iptables");
  const both = parseConfig({
    pcap_max_disk_mb: 512,
    pcap_max_total_mb: 100,
    preferred_firewall: "nftables",
    mitigation: { backend: "iptables" },
  });
  assertEquals(both.config.pcap_max_total_mb, 100);
  assertEquals(both.config.mitigation.backend, "iptables");
  assertEquals(both.warnings, [
    'config key "pcap_max_disk_mb" ignored: "pcap_max_total_mb" is set (100)',
    'config key "preferred_firewall" ignored: "mitigation.backend" is set ("iptables")',
  ]);
});

Deno.test("parseConfig() says once why each asked-for legacy feature is not supported", () => {
  const { warnings } = parseConfig({
    pcap_lazy: true,
    pcap_snaplen: 128,
    hypervisor_mode: true,
    vm_labels: { "198.18.0.5": "Customer A" },
    agones_sidecar: true,
    preferred_firewall: "ufw",
  });
  assertEquals(warnings.length, 6);
  for (const key of ["pcap_lazy", "pcap_snaplen", "hypervisor_mode", "vm_labels"]) {
    assertEquals(warnings.filter((w) => w.startsWith(`config key "${key}" accepted`)).length, 1);
  }
  assertMatch(warnings.join("\n"), /"agones_sidecar" accepted, not supported by this agent: /);
  assertMatch(warnings.join("\n"), /"ufw" is not a firewall this agent drives/);
});

Deno.test("parseConfig() refuses a legacy key of the wrong type with one line", () => {
  const err = assertThrows(
    () => parseConfig({ pcap_lazy: "yes" }),
    /^config key "pcap_lazy": "yes" is invalid: .*boolean/,
  );
  assert(err instanceof ConfigError);
  assertThrows(() => parseConfig({ health_port: 70000 }), /"health_port": 70000 is invalid/);
  assertThrows(() => parseConfig({ pcap_max_disk_mb: -1 }), /"pcap_max_disk_mb": -1 is invalid/);
  assertThrows(() => parseConfig({ gre_mode: "strip" }), /"gre_mode": "strip" is invalid/);
});

Deno.test("parseConfig() still calls a real typo an unknown key", () => {
  const { warnings } = parseConfig({ gre_mdoe: "enabled", pcap_lazzy: true });
  assertEquals(warnings, [
    'unknown config key "gre_mdoe" ignored (a typo?)',
    'unknown config key "pcap_lazzy" ignored (a typo?)',
  ]);
});

Deno.test("parseConfig() takes ip_blocklist as addresses, CIDRs or {indicator} objects", () => {
  const { config } = parseConfig({
    velocity_detection: true,
    ip_blocklist: ["198.18.0.7", "198.19.0.0/16", { indicator: "2001:2::/48" }],
  });
  assertEquals(config.velocity_detection, true);
  assertEquals(config.ip_blocklist, ["198.18.0.7", "198.19.0.0/16", "2001:2::/48"]);
  assertThrows(
    () => parseConfig({ ip_blocklist: ["not-an-ip"] }),
    /"ip_blocklist.0": "not-an-ip" is invalid/,
  );
  assertThrows(
    () => parseConfig({ ip_blocklist: Array(50_001).fill("198.18.0.1") }),
    /"ip_blocklist"/,
  );
  assertEquals(defaultConfig().ip_blocklist, []);
});
