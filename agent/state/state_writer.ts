/**
 * The agent's writes to its state database, never waiting on it: each write is a job queued in
 * memory, in order, and written at once in one short transaction when the database answers.
 * The agent's connection never waits for a lock (busy timeout 0, see `failFast`, set once the
 * agent has started): when another process holds the database
 * (SQLITE_BUSY/LOCKED) or the disk is full or failing (SQLITE_FULL, IOERR, READONLY...), the
 * batch is rolled back, the jobs stay queued, and the writer retries on a timer with backoff
 * (50 ms doubling to 2 s), so capture and detection never wait on disk. The real cause is
 * logged once when the fault starts (never the ROLLBACK's own error) and once when writes
 * resume. Jobs with the same key replace each other while waiting (an incident's row holds only
 * its latest event). The queue is bounded ({@linkcode DEFAULT_MAX_PENDING} jobs): past it the
 * newest job is refused, counted and logged (at powers of two), never dropped silently.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "@logtape/logtape";

/** Most jobs waiting before new ones are refused (counted and logged). */
export const DEFAULT_MAX_PENDING = 10_000;
/** First retry delay after a fault (ms); doubles up to {@linkcode RETRY_MAX_MS}. */
const RETRY_MIN_MS = 50;
/** Longest retry delay (ms). */
const RETRY_MAX_MS = 2000;
/** Most jobs in one transaction (keeps each turn short). */
const BATCH = 500;

/** One queued write: `run` does its SQL on the database (inside the writer's transaction). */
interface Job {
  key: string | null;
  label: string;
  run: (db: DatabaseSync) => void;
  /** Called after the commit (true), or when the job failed for good (false). */
  written?: (ok: boolean) => void;
}

/** Counters of a {@linkcode StateWriter}. */
export interface StateWriterStats {
  /** Jobs waiting. */
  pending: number;
  /** Jobs written. */
  written: number;
  /** Jobs refused because the queue was full. */
  refused: number;
  /** Jobs that failed for good (a bad statement, not a fault of the database). */
  failed: number;
  /** The fault writes are waiting on (e.g. "database or disk is full"), or null. */
  fault: string | null;
}

/** Errors of the database or its disk: the jobs wait and are retried. */
const TRANSIENT =
  /database is locked|database table is locked|busy|disk is full|SQLITE_FULL|disk I\/O error|readonly database|unable to open|out of memory|no space/i;

/** True for a transient fault (locked, full, I/O): the write is retried, not dropped. */
export function isTransientDbError(err: unknown): boolean {
  return TRANSIENT.test(err instanceof Error ? err.message : String(err));
}

/** SQLite's result code names of its fault messages (the log names the code). */
const CODES: [RegExp, string][] = [
  [/database table is locked/i, "SQLITE_LOCKED"],
  [/database is locked|busy/i, "SQLITE_BUSY"],
  [/disk is full/i, "SQLITE_FULL"],
  [/disk I\/O error/i, "SQLITE_IOERR"],
  [/readonly database/i, "SQLITE_READONLY"],
  [/unable to open/i, "SQLITE_CANTOPEN"],
];

/** The error's one-line message, prefixed with SQLite's code name when known. */
export function describeDbError(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  const code = CODES.find(([re]) => re.test(message))?.[1];
  return code === undefined ? message : `${code}: ${message}`;
}

const writers = new WeakMap<DatabaseSync, StateWriter>();

/** The one writer of `db` (created on first use: every component shares its order). */
export function stateWriter(db: DatabaseSync, log?: Logger): StateWriter {
  let writer = writers.get(db);
  if (writer === undefined) {
    writer = new StateWriter(db, { log });
    writers.set(db, writer);
  } else if (log !== undefined) writer.log = log;
  return writer;
}

/** The ordered, bounded, retrying write queue of one database. */
export class StateWriter {
  /** Where faults are told (once per fault) and refusals counted. */
  log: Logger | undefined;
  /** Most jobs waiting. */
  readonly maxPending: number;
  readonly #db: DatabaseSync;
  readonly #jobs: Job[] = [];
  readonly #keyed = new Map<string, Job>();
  readonly #idle = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delay = 0;
  #faultSince = 0;
  #closed = false;
  #draining = false;
  readonly #stats = { written: 0, refused: 0, failed: 0, fault: null as string | null };

  /** Writes to `db` (its busy timeout is set to 0: the writer never waits for a lock). */
  constructor(db: DatabaseSync, options: { log?: Logger; maxPending?: number } = {}) {
    this.#db = db;
    this.log = options.log;
    this.maxPending = Math.max(1, options.maxPending ?? DEFAULT_MAX_PENDING);
  }

  /**
   * Queues a write and writes it at once unless the database is in a fault (then the retry
   * timer does); returns false when the queue is full (counted and logged). With a `key`, a
   * waiting job of the same key is replaced in its place. `written` hears the commit.
   */
  write(
    label: string,
    run: (db: DatabaseSync) => void,
    key: string | null = null,
    written?: (ok: boolean) => void,
  ): boolean {
    if (key !== null) {
      const waiting = this.#keyed.get(key);
      if (waiting !== undefined) {
        Object.assign(waiting, { run, label, written });
        this.#kick();
        return true;
      }
    }
    if (this.#closed || this.#jobs.length >= this.maxPending) {
      const n = ++this.#stats.refused;
      if ((n & (n - 1)) === 0) {
        this.log?.error(
          "state database: {n} writes refused, {pending} waiting (the bound), latest {label}",
          { n, pending: this.#jobs.length, label },
        );
      }
      return false;
    }
    const job: Job = { key, label, run, written };
    this.#jobs.push(job);
    if (key !== null) this.#keyed.set(key, job);
    this.#kick();
    return true;
  }

  /** Writes now when the database is not in a fault (then the retry timer is running). */
  #kick(): void {
    if (this.#draining || this.#closed) return;
    if (this.#stats.fault === null) this.#drain();
    else this.#schedule(this.#delay);
  }

  /** True while a job with `key` waits. */
  waiting(key: string): boolean {
    return this.#keyed.has(key);
  }

  /** Counters and the current fault. */
  stats(): StateWriterStats {
    return { pending: this.#jobs.length, ...this.#stats };
  }

  /**
   * Writes what waits now, on this turn (start, stop, tests); true when nothing is left. A
   * fault leaves the jobs queued and the retry timer running.
   */
  writeNow(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#drain();
    return this.#jobs.length === 0;
  }

  /** Waits until every job is written, or `timeoutMs` passed; true when all were written. */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.writeNow()) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done: (() => void) | undefined;
    const idle = new Promise<boolean>((resolve) => {
      done = () => resolve(true);
      this.#idle.add(done);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await idle;
    } finally {
      clearTimeout(timer);
      this.#idle.delete(done!);
    }
  }

  /** Stops the retry timer and refuses new jobs; what still waits is reported and left. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#jobs.length > 0) {
      this.log?.error("state database: {n} writes not written at stop ({fault})", {
        n: this.#jobs.length,
        fault: this.#stats.fault ?? "no answer",
      });
    }
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, ms);
  }

  #drain(): void {
    if (this.#draining) return;
    const caughtUp = this.#jobs.length;
    if (!this.#db.isOpen) {
      this.close(); // the agent closed the database: what still waits is reported
      return;
    }
    this.#draining = true;
    try {
      while (this.#jobs.length > 0) {
        const batch = this.#jobs.slice(0, BATCH);
        const result = this.#runBatch(batch);
        if (!Array.isArray(result)) {
          this.#fault(result);
          return;
        }
        this.#jobs.splice(0, batch.length);
        for (const job of batch) {
          if (job.key !== null && this.#keyed.get(job.key) === job) this.#keyed.delete(job.key);
        }
        this.#stats.written += batch.length;
        for (let i = 0; i < batch.length; i++) batch[i].written?.(result[i]);
      }
    } finally {
      this.#draining = false;
    }
    if (this.#stats.fault !== null) {
      this.log?.info("state database: writing again after {s} s, {n} writes caught up", {
        s: Math.round((Date.now() - this.#faultSince) / 100) / 10,
        n: caughtUp,
      });
      this.#stats.fault = null;
    }
    this.#delay = 0;
    for (const done of this.#idle) done();
  }

  /**
   * Runs `batch` in one transaction; returns whether each job was written, or the fault that
   * stopped the batch (nothing written).
   */
  #runBatch(batch: Job[]): boolean[] | { fault: unknown } {
    const db = this.#db;
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      return { fault: err };
    }
    const ok: boolean[] = [];
    try {
      for (const job of batch) {
        db.exec("SAVEPOINT job");
        try {
          job.run(db);
          db.exec("RELEASE job");
          ok.push(true);
        } catch (err) {
          if (isTransientDbError(err)) throw err;
          db.exec("ROLLBACK TO job");
          db.exec("RELEASE job");
          ok.push(false);
          this.#stats.failed++;
          this.log?.error("state database: {label} not written: {error}", {
            label: job.label,
            error: (err as Error).message,
          });
        }
      }
      db.exec("COMMIT");
      return ok;
    } catch (err) {
      // The real cause is kept: SQLite may already have rolled back (a full disk does).
      try {
        if (db.isTransaction) db.exec("ROLLBACK");
      } catch { /* the transaction is gone either way */ }
      return { fault: err };
    }
  }

  #fault(result: { fault: unknown }): void {
    const message = describeDbError(result.fault);
    if (this.#stats.fault === null) this.#faultSince = Date.now();
    if (this.#stats.fault !== message) {
      this.log?.warn(
        "state database: cannot write ({error}); {n} writes wait in memory and are retried",
        { error: message, n: this.#jobs.length },
      );
    }
    this.#stats.fault = message;
    this.#delay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.#delay * 2));
    this.#schedule(this.#delay);
  }
}
