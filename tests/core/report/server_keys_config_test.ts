import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { defaultConfig } from "../../../core/config/mod.ts";
import {
  applyRemoteConfig,
  parseRemoteConfig,
  type RemoteConfig,
  settingText,
} from "../../../core/report/mod.ts";

function parsed(input: Record<string, unknown>): { config: RemoteConfig; refused: string[] } {
  const r = parseRemoteConfig(input);
  assert(r.ok);
  for (const x of r.refused) assert(!x.message.includes("\n"), x.message);
  return { config: r.config, refused: r.refused.map((x) => x.message) };
}

Deno.test("parseRemoteConfig() refuses suspended, velocity_detection, gre_mode and ip_blocklist values of the wrong type or size with one line each", () => {
  const { config, refused } = parsed({
    suspended: "yes",
    velocity_detection: 1,
    gre_mode: "strip",
    ip_blocklist: Array.from({ length: 50_001 }, () => ({ indicator: "198.18.0.1" })),
  });
  assertEquals(config, {});
  assertEquals(refused.length, 4);
  assertMatch(refused[0], /^remote config key "suspended" ignored: "yes" is invalid/);
  assertMatch(refused.join("\n"), /"velocity_detection" ignored: 1 is invalid/);
  assertMatch(refused.join("\n"), /"gre_mode" ignored: "strip" is invalid/);
  assertMatch(refused.join("\n"), /"ip_blocklist" ignored: a list is invalid/);
  const long = parsed({ ip_blocklist: [{ indicator: "1".repeat(65) }] });
  assertMatch(long.refused[0], /"ip_blocklist" ignored: a list is invalid \(not a list of at most/);
  const ok = parsed({
    suspended: false,
    velocity_detection: true,
    gre_mode: true,
    ip_blocklist: [{ indicator: "198.18.7.0/24" }],
  });
  assertEquals(ok.refused, []);
});

Deno.test("applyRemoteConfig() sets velocity_detection and gre_mode and adds the server's ip_blocklist to the local one", () => {
  const local = { ...defaultConfig(), ip_blocklist: ["203.0.113.9"], gre_mode: "auto" as const };
  const merged = applyRemoteConfig(local, {
    velocity_detection: true,
    gre_mode: false,
    ip_blocklist: [{ indicator: "198.18.7.0/24" }],
  });
  assertEquals(merged.velocity_detection, true);
  assertEquals(merged.gre_mode, "disabled");
  assertEquals(merged.ip_blocklist, ["203.0.113.9", "198.18.7.0/24"]);
  assertEquals(applyRemoteConfig(local, { gre_mode: true }).gre_mode, "enabled");
  assertEquals(applyRemoteConfig(local, { gre_mode: "auto" }).gre_mode, "auto");
  // Keys the server stops sending fall back to the file's values.
  const back = applyRemoteConfig(local, {});
  assertEquals([back.velocity_detection, back.gre_mode, back.ip_blocklist], [
    false,
    "auto",
    ["203.0.113.9"],
  ]);
});

Deno.test("settingText() logs a long list as its length", () => {
  assertEquals(settingText(["a", "b"]), '["a","b"]');
  assertEquals(settingText(Array(50_000).fill("198.18.0.1")), "[50000 entries]");
  assertEquals(settingText(true), "true");
});
