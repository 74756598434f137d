import { defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";

Deno.test("metrics_address defaults to 127.0.0.1 and dashboard_token to none", () => {
  const c = defaultConfig();
  assertEquals([c.metrics_address, c.dashboard_token], ["127.0.0.1", ""]);
});

Deno.test("metrics_address takes an IPv4 or IPv6 address and dashboard_token printable ASCII", () => {
  const c = parseConfig({ metrics_address: "0.0.0.0", dashboard_token: "k3y-_.~!" }).config;
  assertEquals([c.metrics_address, c.dashboard_token], ["0.0.0.0", "k3y-_.~!"]);
  assertEquals(parseConfig({ metrics_address: "::" }).config.metrics_address, "::");
});

Deno.test("metrics_address as a host name and a dashboard_token with a space are refused in one line", () => {
  assertThrows(
    () => parseConfig({ metrics_address: "localhost" }),
    /^config key "metrics_address": "localhost" is invalid: /,
  );
  assertThrows(
    () => parseConfig({ dashboard_token: "two words" }),
    /^config key "dashboard_token": "two words" is invalid: printable ASCII, no spaces$/,
  );
});
