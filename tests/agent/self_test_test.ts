import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent } from "../support/cli.ts";
import {
  MAX_OPEN_DELAY_SECONDS,
  runSelfTest,
  SELF_TEST_PLAN,
  SELF_TEST_TARGET,
  selfTestDetection,
} from "../../agent/mod.ts";

const OK_LINE =
  /^OK: standalone detection works: syn_flood\/syn_flood opened \d\.\d s after onset, resolved; incident id [0-9a-f-]{36}$/m;

async function withConfig(
  config: Record<string, unknown>,
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-test-" });
  try {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    await fn(`${dir}/config.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the self-test finds the synthetic SYN flood soon after its onset and resolves it", () => {
  const result = runSelfTest();
  assert(result.ok, result.message);
  assertMatch(result.message, OK_LINE);
  const opens = result.events.filter((e) => e.event === "open");
  assertEquals(opens.length, 1);
  assertEquals(opens[0].target, SELF_TEST_TARGET);
  const delay = Number(result.message.match(/opened (\d+\.\d) s/)![1]);
  assert(delay <= MAX_OPEN_DELAY_SECONDS, result.message);
  assert(result.events.some((e) => e.event === "resolve" && e.id === opens[0].id));
  // Deterministic: the same capture gives the same incident.
  assertEquals(runSelfTest().message, result.message);
});

Deno.test("the self-test fails with the reason when nothing is detected", () => {
  const blind = {
    ...selfTestDetection(),
    min_pps_threshold: 1e9,
    min_bps_threshold: 1e12,
    min_syn_pps_threshold: 1e9,
  };
  const result = runSelfTest(SELF_TEST_PLAN, blind);
  assert(!result.ok);
  assertEquals(
    result.message,
    `FAIL: self-test: no incident opened for a 5000 pps SYN flood on ${SELF_TEST_TARGET}`,
  );
});

Deno.test("ftagent --test in standalone mode runs the synthetic detection and exits 0", async () => {
  await withConfig({ interface: "eth0" }, async (path) => {
    const out = await ftagent(["--test", "--config", path]);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, new RegExp(`config: ${path} is valid`));
    assertMatch(out.stdout, /mode: standalone \(no api_key\)/);
    assertMatch(out.stdout, OK_LINE);
  });
});

Deno.test("ftagent --test with an api_key names the control plane and runs the local test", async () => {
  await withConfig({ api_key: "k-123456789", node_uuid: "" }, async (path) => {
    const out = await ftagent(["--test", "--config", path]);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /the agent reports to https:\/\/flowtriq\.com\/api\/v1;/);
    assertMatch(out.stdout, /checks detection locally and sends nothing/);
    assertMatch(out.stdout, OK_LINE);
  });
});

Deno.test("ftagent --test with a wrong config value names the key and exits 1", async () => {
  await withConfig({ pcap_enabled: "yes" }, async (path) => {
    const out = await ftagent(["--test", "--config", path]);
    assertEquals(out.code, 1);
    assertMatch(out.stderr, /^ftagent: error: .*config key "pcap_enabled"/);
    assertEquals(out.stdout, "");
  });
});
