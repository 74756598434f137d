import { CONFIG_KEYS, ConfigError, defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { loadConfigFile } from "../../../agent/config/mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../../support/assert.ts";
import { CORPUS, ftagent } from "../../support/cli.ts";

Deno.test("defaultConfig() holds every key with the documented defaults", () => {
  const c = defaultConfig();
  assertEquals(Object.keys(c).sort(), [...CONFIG_KEYS].sort());
  assertEquals(c.api_base, "https://flowtriq.com/api/v1");
  assertEquals(c.interface, "auto");
  assertEquals(c.pcap_max_packets, 10000);
  assertEquals(c.threshold_multiplier, 3.0);
  assertEquals(c.baseline_window_minutes, 60);
  assertEquals(c.dynamic_threshold, true);
  assertEquals(c.attack_holddown, 10);
  assertEquals(c.api_key, "");
});

Deno.test("parseConfig() names the key, the value and what is expected", () => {
  const err = assertThrows(
    () => parseConfig({ threshold_multiplier: "3" }),
    /config key "threshold_multiplier": "3" is invalid: .*number/,
  );
  assert(err instanceof ConfigError);
  assertThrows(() => parseConfig({ min_pps_threshold: -5 }), /"min_pps_threshold": -5 is invalid/);
  assertThrows(() => parseConfig({ log_level: "LOUD" }), /"log_level": "LOUD" is invalid/);
  assertThrows(
    () => parseConfig({ baseline_window_minutes: 20000 }),
    /"baseline_window_minutes": 20000/,
  );
  assertThrows(() => parseConfig([1, 2]), /must be a JSON object/);
  assertThrows(() => parseConfig(null), /must be a JSON object/);
});

Deno.test("parseConfig() warns about unknown keys instead of passing them silently", () => {
  const { config, warnings } = parseConfig({ treshold_multiplier: 5, pcap_enabled: false });
  assertEquals(warnings, ['unknown config key "treshold_multiplier" ignored (a typo?)']);
  assertEquals(config.pcap_enabled, false);
  assertEquals(config.threshold_multiplier, 3);
});

Deno.test("loadConfigFile() gives one line for a missing file and for bad JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, '{"pcap_enabled": tru');
    let msg = "";
    try {
      await loadConfigFile(`${dir}/bad.json`);
    } catch (e) {
      msg = (e as Error).message;
    }
    assertMatch(msg, /bad\.json: not valid JSON/);
    assertEquals(msg.split("\n").length, 1);
    try {
      await loadConfigFile(`${dir}/none.json`);
    } catch (e) {
      msg = (e as Error).message;
    }
    assertMatch(msg, /none\.json: no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay --config refuses a wrong value with one line and exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/c.json`,
      JSON.stringify({ confirm_seconds: "soon", extra: 1 }),
    );
    const out = await ftagent([
      "replay",
      `${CORPUS}amp.UDP.isakmp.pcap`,
      "--config",
      `${dir}/c.json`,
    ]);
    assertEquals(out.code, 1);
    assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
    assertMatch(out.stderr, /c\.json: config key "confirm_seconds": "soon" is invalid/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
