import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import {
  MAX_OPEN_DELAY_SECONDS,
  runSelfTest,
  SELF_TEST_PLAN,
  SELF_TEST_TARGET,
  selfTestDetection,
} from "../../agent/mod.ts";

const OK_LINE =
  /^ok: detection: a synthetic SYN flood through parser, pipeline and detector: syn_flood\/syn_flood opened \d\.\d s after onset, resolved; incident id [0-9a-f-]{36}$/m;

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
    `FAIL: detection: no incident opened for a 5000 pps SYN flood on ${SELF_TEST_TARGET}`,
  );
});
