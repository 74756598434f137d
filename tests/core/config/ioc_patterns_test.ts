import { defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";

const MIRAI = { pattern: "/bin/busybox MIRAI", attack_name: "mirai", attack_family: "botnet" };

Deno.test("parseConfig() takes ioc_patterns in the control plane's shape, none by default", () => {
  assertEquals(defaultConfig().ioc_patterns, []);
  assertEquals(parseConfig({ ioc_patterns: [MIRAI, { pattern: "LOIC" }] }).config.ioc_patterns, [
    MIRAI,
    { pattern: "LOIC" },
  ]);
});

Deno.test("parseConfig() refuses ioc_patterns of the wrong shape with one line naming the key", () => {
  assertThrows(
    () => parseConfig({ ioc_patterns: MIRAI }),
    /config key "ioc_patterns": .* is invalid/,
  );
  assertThrows(
    () => parseConfig({ ioc_patterns: [{ pattern: "" }] }),
    /config key "ioc_patterns\.0\.pattern": "" is invalid/,
  );
  assertThrows(
    () => parseConfig({ ioc_patterns: [{ pattern: "x".repeat(513) }] }),
    /config key "ioc_patterns\.0\.pattern"/,
  );
  assertThrows(
    () => parseConfig({ ioc_patterns: [{ pattern: "x", name: "typo" }] }),
    /config key "ioc_patterns\.0": .* is invalid/,
  );
  assertThrows(
    () => parseConfig({ ioc_patterns: Array(1001).fill({ pattern: "x" }) }),
    /config key "ioc_patterns"/,
  );
});
