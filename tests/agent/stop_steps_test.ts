import { DatabaseSync } from "node:sqlite";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { runStopSteps } from "../../agent/stop_steps.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";

Deno.test("runStopSteps() runs every step after one throws and logs one line for the failure", async () => {
  const lines: string[] = [];
  await configure({
    sinks: { mem: (r: LogRecord) => lines.push(r.message.map(String).join("")) },
    loggers: [
      { category: ["stop-test"], sinks: ["mem"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  const dir = await Deno.makeTempDir({ prefix: "fta-stop-" });
  const db = new DatabaseSync(`${dir}/state.db`);
  try {
    db.exec("CREATE TABLE t (x INTEGER)");
    const failed = await runStopSteps(getLogger(["stop-test"]), [
      { name: "save the baseline", run: () => Deno.writeTextFile(`${dir}/baseline.json`, "{}") },
      // A real failure: the file the step needs is gone.
      { name: "resolve open incidents", run: () => Deno.readTextFile(`${dir}/missing/file`) },
      { name: "throw synchronously", run: () => JSON.parse("{") },
      { name: "close the PCAP captures", run: () => Deno.writeTextFile(`${dir}/pcap`, "x") },
      { name: "close the state database", run: () => db.close() },
    ]);
    assertEquals(failed, ["resolve open incidents", "throw synchronously"]);
    assertEquals(await Deno.readTextFile(`${dir}/baseline.json`), "{}");
    assertEquals(await Deno.readTextFile(`${dir}/pcap`), "x");
    assert(!db.isOpen, "the database was closed after the failures");
    assertEquals(lines.length, 2, lines.join("\n"));
    assertMatch(lines[0], /^stop: resolve open incidents failed, going on: No such file/);
    assertMatch(lines[1], /^stop: throw synchronously failed, going on: /);
    assert(lines.every((l) => !l.includes("\n")), "one line each");
  } finally {
    if (db.isOpen) db.close();
    await Deno.remove(dir, { recursive: true });
    await reset();
  }
});
