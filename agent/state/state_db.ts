/**
 * The agent's one SQLite database (`<state_dir>/ftagent.db`, WAL): incidents, the outbox and
 * applied mitigations live in it, each component owning its own tables. Opening it applies each
 * component's schema migrations once, in order.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

/** File name of the database inside `state_dir`. */
const STATE_DB_FILE = "ftagent.db";

/**
 * Opens (creating when missing) the database at `path` with WAL and a busy timeout. The file
 * is the agent's alone (0600; SQLite gives its -wal and -shm files the same mode).
 */
export function openStateDb(path: string): DatabaseSync {
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: 0o600 }).close();
  } catch {
    // It exists (tightened when it is ours: an older version made it 0644), or cannot be made
    // (SQLite says why below).
    try {
      Deno.chmodSync(path, 0o600);
    } catch { /* another user's file: read as it is */ }
  }
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
    );
  } catch (err) {
    db.close();
    throw new Error(`cannot open the state database ${path}: ${(err as Error).message}`);
  }
  return db;
}

/** Opens the database in `stateDir`, creating the directory (mode 0700) when missing. */
export async function openAgentDb(stateDir: string): Promise<DatabaseSync> {
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create state_dir ${stateDir}: ${(err as Error).message}`);
  }
  return openStateDb(stateDbPath(stateDir));
}

/**
 * From now on the agent's connection never waits for a lock (busy timeout 0): its writes go
 * through the {@linkcode StateWriter}, which keeps them in memory and retries. Set once the
 * agent has started (the start itself may wait up to 5 s per statement for another process).
 */
export function failFast(db: DatabaseSync): void {
  db.exec("PRAGMA busy_timeout = 0");
}

/** Path of the database in `stateDir`. */
export function stateDbPath(stateDir: string): string {
  return join(stateDir, STATE_DB_FILE);
}

/**
 * Brings `component`'s tables to the latest version: `steps[i]` is the SQL that moves version i
 * to i + 1. Each step runs in a transaction with its version bump, so a crash never leaves a
 * half-applied step.
 */
export function migrate(db: DatabaseSync, component: string, steps: readonly string[]): void {
  const row = db.prepare("SELECT version FROM schema_versions WHERE component = ?").get(
    component,
  ) as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current > steps.length) {
    throw new Error(
      `the state database has ${component} schema version ${current}, newer than this agent knows (${steps.length})`,
    );
  }
  for (let v = current; v < steps.length; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(steps[v]);
      db.prepare(
        "INSERT INTO schema_versions (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version",
      ).run(component, v + 1);
      db.exec("COMMIT");
    } catch (err) {
      try {
        if (db.isTransaction) db.exec("ROLLBACK");
      } catch { /* the real cause is the step's error */ }
      throw new Error(`migrating ${component} to version ${v + 1}: ${(err as Error).message}`);
    }
  }
}
