import { defaultConfig, parseConfig } from "../../../core/config/mod.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";

Deno.test("capture_sample_above_pps samples above 100,000 packets/s by default and 0 turns it off", () => {
  assertEquals(defaultConfig().capture_sample_above_pps, 100_000);
  assertEquals(parseConfig({ capture_sample_above_pps: 0 }).config.capture_sample_above_pps, 0);
  assertEquals(
    parseConfig({ capture_sample_above_pps: 250_000 }).config.capture_sample_above_pps,
    250_000,
  );
});

Deno.test("capture_sample_above_pps refuses a negative or fractional rate in one line", () => {
  for (const bad of [-1, 1.5, "fast"]) {
    assertThrows(
      () => parseConfig({ capture_sample_above_pps: bad }),
      /capture_sample_above_pps/,
    );
  }
});
