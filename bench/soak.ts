/**
 * `deno task bench:soak [MINUTES]` (default 60): the real agent (`ftagent --pcap` over a
 * generated capture at the recorded pace) against a stand-in control plane in this process,
 * for MINUTES, while faults are cycled minute after minute: the API answering 503, the API's
 * port closed, another process holding the state database (python3 sqlite3, BEGIN EXCLUSIVE,
 * 12 s), the state disk (a tmpfs) filled to the last byte; a SYN flood inside each fault and
 * one between faults. Prints incidents expected/created/resolved/stored, lost, duplicates,
 * /health during the faults and the agent's RSS curve with the "flat" verdict; exits 1 when an
 * incident was lost or duplicated or RSS grew. Needs root (tmpfs) and python3.
 *
 * @module
 */

import { runSoak } from "../tests/support/soak.ts";
import { soakPlan } from "../tests/support/soak_plan.ts";
import { formatSoak } from "../tests/support/soak_report.ts";

const minutes = Number(Deno.args[0] ?? 60);
if (!(minutes >= 3)) {
  console.error(`bench:soak: MINUTES must be a number >= 3 (got ${Deno.args[0]})`);
  Deno.exit(2);
}
const stop = new AbortController();
const onSignal = () => stop.abort();
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
const started = new Date().toISOString();
console.log(`soak: ${minutes} min from ${started}`);
const report = await runSoak(soakPlan(minutes), (line) => console.log(line), stop.signal);
Deno.removeSignalListener("SIGINT", onSignal);
Deno.removeSignalListener("SIGTERM", onSignal);
for (const line of formatSoak(report)) console.log(line);
const failed = report.lost > 0 || report.duplicates > 0 || report.unexpected > 0 ||
  !report.rss.flat || stop.signal.aborted;
Deno.exit(failed ? 1 : 0);
