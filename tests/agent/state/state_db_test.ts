import { assertEquals, assertThrows } from "../../support/assert.ts";
import { migrate, openStateDb } from "../../../agent/state/mod.ts";

Deno.test("migrate() applies each step once, also across reopenings", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/ftagent.db`;
  try {
    const steps = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT"];
    let db = openStateDb(path);
    migrate(db, "test", steps.slice(0, 1));
    db.close();
    db = openStateDb(path);
    migrate(db, "test", steps);
    migrate(db, "test", steps);
    db.prepare("INSERT INTO a (x, y) VALUES (1, 'one')").run();
    assertEquals(db.prepare("SELECT x, y FROM a").all().map((r) => ({ ...r })), [{
      x: 1,
      y: "one",
    }]);
    assertEquals(
      (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("migrate() rolls back a failing step and names it", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const db = openStateDb(`${dir}/ftagent.db`);
    assertThrows(
      () => migrate(db, "test", ["CREATE TABLE b (x INTEGER)", "NOT SQL AT ALL"]),
      /migrating test to version 2/,
    );
    const version = db.prepare("SELECT version FROM schema_versions WHERE component = 'test'")
      .get() as { version: number };
    assertEquals(version.version, 1);
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
