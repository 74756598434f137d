import { assert, assertEquals } from "../../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import {
  describeDbError,
  failFast,
  openStateDb,
  Outbox,
  StateWriter,
  stateWriter,
} from "../../../agent/state/mod.ts";

async function withDb(fn: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-writer-" });
  try {
    await fn(`${dir}/ftagent.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A second connection holding the database's write lock until `release()`. */
function holdLock(path: string): { release: () => void } {
  const other = new DatabaseSync(path);
  other.exec("BEGIN EXCLUSIVE");
  other.exec("CREATE TABLE IF NOT EXISTS other_side (x)");
  return {
    release: () => {
      other.exec("COMMIT");
      other.close();
    },
  };
}

async function logRecords(): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ftwriter"], sinks: ["mem"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  return records;
}

Deno.test("StateWriter keeps writes in order in memory while another connection holds the database, without waiting, and writes them when it is free", async () => {
  const records = await logRecords();
  await withDb(async (path) => {
    const db = openStateDb(path);
    db.exec("CREATE TABLE t (n INTEGER)");
    failFast(db);
    const writer = stateWriter(db, getLogger(["ftwriter"]));
    const lock = holdLock(path);
    const started = performance.now();
    for (let n = 1; n <= 100; n++) {
      writer.write(`row ${n}`, (d) => d.prepare("INSERT INTO t VALUES (?)").run(n));
    }
    const tookMs = performance.now() - started;
    assert(tookMs < 500, `queueing took ${tookMs} ms`);
    assertEquals(writer.stats().pending, 100);
    assert(writer.stats().fault?.startsWith("SQLITE_BUSY"), String(writer.stats().fault));
    lock.release();
    assertEquals(await writer.flush(5000), true);
    const rows = db.prepare("SELECT n FROM t ORDER BY rowid").all().map((r) => Number(r.n));
    assertEquals(rows, Array.from({ length: 100 }, (_, i) => i + 1));
    const text = records.map((r) => r.message.join(""));
    assertEquals(text.filter((l) => l.includes("cannot write")).length, 1, text.join("\n"));
    assert(text.some((l) => l.includes("writing again")), text.join("\n"));
    db.close();
  });
  await reset();
});

Deno.test("StateWriter refuses writes past its bound, counts and logs them, and replaces a waiting write of the same key", async () => {
  const records = await logRecords();
  await withDb(async (path) => {
    const db = openStateDb(path);
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
    failFast(db);
    const writer = new StateWriter(db, { log: getLogger(["ftwriter"]), maxPending: 3 });
    const lock = holdLock(path);
    const put = (k: string, v: number) =>
      writer.write(
        `put ${k}`,
        (d) => d.prepare("INSERT OR REPLACE INTO t VALUES (?, ?)").run(k, v),
        k,
      );
    assertEquals([put("a", 1), put("b", 1), put("a", 2), put("c", 1)], [true, true, true, true]);
    assertEquals(put("d", 1), false);
    assertEquals(put("e", 1), false);
    assertEquals(writer.stats().refused, 2);
    lock.release();
    assertEquals(await writer.flush(5000), true);
    assertEquals(
      db.prepare("SELECT k, v FROM t ORDER BY k").all().map((r) => `${r.k}=${r.v}`),
      ["a=2", "b=1", "c=1"],
    );
    const refusals = records.map((r) => r.message.join("")).filter((l) => l.includes("refused"));
    assertEquals(refusals.length, 2, "logged at the first refusal and the second (powers of two)");
    writer.close();
    db.close();
  });
  await reset();
});

Deno.test("Outbox delivers entries queued while the database is locked once each, and writes what is left in order when it is free", async () => {
  await withDb(async (path) => {
    const db = openStateDb(path);
    const box = new Outbox(db);
    failFast(db);
    box.enqueue({ channel: "flowtriq", kind: "incident", key: "before", eventUs: 1, body: 0 });
    const lock = holdLock(path);
    for (const k of ["a", "b", "c"]) {
      assertEquals(
        box.enqueue({ channel: "flowtriq", kind: "incident", key: k, eventUs: 2, body: { k } }),
        true,
      );
    }
    assertEquals(
      box.enqueue({ channel: "flowtriq", kind: "incident", key: "a", eventUs: 2, body: 0 }),
      false,
    );
    // Delivered while locked: "before" (written earlier, read back) and "a" (still in memory).
    const first = box.next("flowtriq")!;
    assertEquals(first.key, "before");
    box.done(first.seq);
    const second = box.next("flowtriq")!;
    assertEquals([second.key, second.body], ["a", { k: "a" }]);
    box.done(second.seq);
    box.failed(box.next("flowtriq")!.seq, "HTTP 503");
    assert(box.unwritten() > 0);
    lock.release();
    assertEquals(await stateWriter(db).flush(5000), true);
    assertEquals(box.unwritten(), 0);
    // A fresh outbox on the database sees exactly what the first one has.
    const reopened = new Outbox(db);
    const left = [reopened.next("flowtriq")!];
    assertEquals([left[0].key, left[0].attempts, left[0].body], ["b", 1, { k: "b" }]);
    assertEquals(reopened.stats().depth, 2);
    assertEquals(reopened.has("flowtriq", "a"), true, "a delivered key is remembered");
    assertEquals(reopened.has("flowtriq", "before"), true);
    db.close();
  });
});

Deno.test("describeDbError() names SQLite's result code of a fault", () => {
  assertEquals(
    describeDbError(new Error("database or disk is full")),
    "SQLITE_FULL: database or disk is full",
  );
  assertEquals(describeDbError(new Error("database is locked")), "SQLITE_BUSY: database is locked");
  assertEquals(describeDbError(new Error("no such table: x")), "no such table: x");
});
