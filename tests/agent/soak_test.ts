// The soak benchmark's short form (bench/soak.ts runs it for an hour): the real agent over a
// paced capture against a stand-in control plane while one of each fault is injected (API
// answering 503, API port closed, another process holding the state database for 12 s, the
// state tmpfs filled to the last byte), a SYN flood inside each fault.
import { assert, assertEquals } from "../support/assert.ts";
import { runSoak } from "../support/soak.ts";
import { FAULT_CYCLE, shortSoakPlan } from "../support/soak_plan.ts";
import { formatSoak } from "../support/soak_report.ts";

/** RSS the agent may reach over the short soak (it runs near 150 MiB). */
const RSS_BOUND_MIB = 400;

Deno.test("the agent loses and duplicates no incident through an API outage, a closed API port, a 12 s database lock and a full state disk, answers /health during each and keeps its memory bounded", async () => {
  const report = await runSoak(shortSoakPlan());
  const text = formatSoak(report).join("\n");
  console.log(text);
  assertEquals(report.exitCode, 0, text);
  assertEquals(report.faults.map((f) => f.kind), [...FAULT_CYCLE], text);
  assertEquals([report.expected, report.lost, report.duplicates], [4, 0, 0], text);
  assertEquals([report.created, report.resolved, report.stored], [4, 4, 4], text);
  assertEquals(report.unexpected, 0, text);
  for (const f of report.faults) {
    assert(f.answered >= 5, `/health answered ${f.answered} times during ${f.kind}\n${text}`);
    assertEquals(f.unanswered, 0, `/health unanswered during ${f.kind}\n${text}`);
    assert(f.slowestMs < 1000, `/health took ${f.slowestMs} ms during ${f.kind}\n${text}`);
  }
  // The lock always takes hold; a full disk only when SQLite must grow a file (its WAL may
  // have room left). Each fault that took hold is said once, and its end once.
  const said = report.log.stateFaults.length;
  assert(said >= 1 && said <= 2, text);
  assertEquals(report.log.resumed, said, text);
  assert(report.rss.maxMiB < RSS_BOUND_MIB, text);
  assert(report.rss.lastMedianMiB < report.rss.warmMedianMiB * 1.5, text);
});
