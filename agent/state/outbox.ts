/**
 * The durable outbox: every outgoing event (incident events, metrics, heartbeats, command
 * acknowledgements, PCAP uploads, alerts) is written here first, in the agent's SQLite
 * database, and delivered from here by a sender per channel. Each channel is one ordered lane;
 * each entry has an idempotency key (enqueueing a key the channel already holds, delivered or
 * not, does nothing) and its event time. The outbox is bounded: when full, the oldest metrics
 * go first, then heartbeats, PCAP uploads, alerts, acknowledgements, and incident events last;
 * what was dropped is counted by kind (and survives restarts).
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { migrate } from "./state_db.ts";

/** What an entry is; also its drop priority when the outbox is full (see the module docs). */
export type OutboxKind = "metrics" | "heartbeat" | "ack" | "pcap" | "alert" | "incident";

/** Kinds in the order they are dropped when the outbox is full (first dropped first). */
const DROP_ORDER: readonly OutboxKind[] = [
  "metrics",
  "heartbeat",
  "pcap",
  "alert",
  "ack",
  "incident",
];

/** An event to deliver. */
export interface OutboxEntry {
  /** Lane: "flowtriq", "alert:slack", ... (entries of one channel are delivered in order). */
  channel: string;
  /** What it is: incident, pcap, alert, ack, heartbeat or metrics (the drop order). */
  kind: OutboxKind;
  /** Idempotency key, unique per channel. */
  key: string;
  /** Event time, µs since the epoch. */
  eventUs: number;
  /** JSON-serialisable payload. */
  body: unknown;
}

/** A stored entry: its position in the outbox and the delivery attempts so far. */
export interface OutboxItem extends OutboxEntry {
  /** Position in the outbox (delivery order within a channel). */
  seq: number;
  /** Delivery attempts so far. */
  attempts: number;
}

/** Depth and drop counters. */
export interface OutboxStats {
  /** Entries waiting, all channels. */
  depth: number;
  /** Entries dropped because the outbox was full, by kind. */
  dropped: Record<OutboxKind, number>;
}

/** A permanently failed entry, kept with the reason. */
export interface DeadLetter extends OutboxItem {
  /** Why it was refused for good. */
  reason: string;
  /** When it was refused, µs since the epoch. */
  deadUs: number;
}

/** Options of an {@linkcode Outbox}. */
export interface OutboxOptions {
  /** Most entries waiting (all channels) before the lowest-priority ones are dropped. */
  maxItems?: number;
  /** Delivered keys remembered per channel for idempotency (default 100000). */
  maxDeliveredKeys?: number;
}

const MIGRATIONS = [
  `CREATE TABLE outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     channel TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
     event_us INTEGER NOT NULL, body TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
     UNIQUE (channel, key));
   CREATE INDEX outbox_lane ON outbox (channel, seq);
   CREATE INDEX outbox_kind ON outbox (kind, seq);
   CREATE TABLE outbox_done (
     channel TEXT NOT NULL, key TEXT NOT NULL, done_seq INTEGER NOT NULL,
     PRIMARY KEY (channel, key));
   CREATE INDEX outbox_done_seq ON outbox_done (done_seq);
   CREATE TABLE outbox_dead (
     seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
     event_us INTEGER NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,
     reason TEXT NOT NULL, dead_us INTEGER NOT NULL);
   CREATE TABLE outbox_dropped (kind TEXT PRIMARY KEY, count INTEGER NOT NULL);`,
];

const DEFAULT_MAX_ITEMS = 50_000;
const DEAD_KEPT = 1000;

interface Row {
  seq: number;
  channel: string;
  kind: string;
  key: string;
  event_us: number;
  body: string;
  attempts: number;
}

/** The outbox tables of the state database. */
export class Outbox {
  /** Most entries kept; beyond, the least important go first. */
  readonly maxItems: number;
  readonly #db: DatabaseSync;
  readonly #maxDone: number;
  readonly #listeners = new Set<(channel: string) => void>();
  readonly #q: Record<string, StatementSync>;
  #depth: number;

  /** Creates the tables when missing; `maxItems` bounds the waiting entries. */
  constructor(db: DatabaseSync, options: OutboxOptions = {}) {
    migrate(db, "outbox", MIGRATIONS);
    this.#db = db;
    this.maxItems = Math.max(1, options.maxItems ?? DEFAULT_MAX_ITEMS);
    this.#maxDone = Math.max(1, options.maxDeliveredKeys ?? 100_000);
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      count: p("SELECT COUNT(*) AS n FROM outbox"),
      has: p(
        "SELECT 1 FROM outbox WHERE channel = ?1 AND key = ?2 UNION ALL " +
          "SELECT 1 FROM outbox_done WHERE channel = ?1 AND key = ?2 UNION ALL " +
          "SELECT 1 FROM outbox_dead WHERE channel = ?1 AND key = ?2 LIMIT 1",
      ),
      insert: p(
        "INSERT INTO outbox (channel, kind, key, event_us, body) VALUES (?, ?, ?, ?, ?)",
      ),
      oldestOfKind: p("SELECT seq FROM outbox WHERE kind = ? ORDER BY seq LIMIT 1"),
      delete: p("DELETE FROM outbox WHERE seq = ?"),
      drop: p(
        "INSERT INTO outbox_dropped (kind, count) VALUES (?, 1) " +
          "ON CONFLICT (kind) DO UPDATE SET count = count + 1",
      ),
      dropped: p("SELECT kind, count FROM outbox_dropped"),
      next: p(
        "SELECT seq, channel, kind, key, event_us, body, attempts FROM outbox " +
          "WHERE channel = ? ORDER BY seq LIMIT 1",
      ),
      done: p(
        "INSERT OR REPLACE INTO outbox_done (channel, key, done_seq) " +
          "SELECT channel, key, seq FROM outbox WHERE seq = ?",
      ),
      trimDone: p(
        "DELETE FROM outbox_done WHERE done_seq <= " +
          "(SELECT done_seq FROM outbox_done ORDER BY done_seq DESC LIMIT 1 OFFSET ?)",
      ),
      failed: p("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?"),
      dead: p(
        "INSERT OR REPLACE INTO outbox_dead (seq, channel, kind, key, event_us, body, attempts, reason, dead_us) " +
          "SELECT seq, channel, kind, key, event_us, body, attempts + 1, ?, ? FROM outbox WHERE seq = ?",
      ),
      trimDead: p(
        "DELETE FROM outbox_dead WHERE seq <= " +
          "(SELECT seq FROM outbox_dead ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      ),
      deadList: p(
        "SELECT seq, channel, kind, key, event_us, body, attempts, reason, dead_us FROM outbox_dead " +
          "ORDER BY seq",
      ),
      deadCount: p("SELECT COUNT(*) AS n FROM outbox_dead"),
      laneDepth: p("SELECT COUNT(*) AS n FROM outbox WHERE channel = ?"),
      supersede: p("DELETE FROM outbox WHERE channel = ? AND kind = ? AND seq < ?"),
    };
    this.#depth = (this.#q.count.get() as { n: number }).n;
  }

  /**
   * Stores `entry` for delivery; false when its key is already known on its channel (waiting,
   * delivered or dead), or when the outbox is full of entries that matter more (the entry is
   * then counted as dropped). With `supersede`, waiting entries of the same kind on the same
   * channel are removed (a newer heartbeat replaces an older one).
   */
  enqueue(entry: OutboxEntry, options: { supersede?: boolean } = {}): boolean {
    const body = JSON.stringify(entry.body ?? null);
    const db = this.#db;
    let added = false;
    db.exec("BEGIN IMMEDIATE");
    try {
      if (this.#q.has.get(entry.channel, entry.key) === undefined) {
        added = this.#makeRoom(entry.kind);
        if (added) {
          const r = this.#q.insert.run(
            entry.channel,
            entry.kind,
            entry.key,
            Math.round(entry.eventUs),
            body,
          );
          this.#depth++;
          if (options.supersede) {
            const removed = this.#q.supersede.run(entry.channel, entry.kind, r.lastInsertRowid);
            this.#depth -= Number(removed.changes);
          }
        }
      }
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      this.#depth = (this.#q.count.get() as { n: number }).n;
      throw err;
    }
    if (added) { for (const fn of this.#listeners) fn(entry.channel); }
    return added;
  }

  /** True when `key` is known on `channel` (waiting, delivered or dead). */
  has(channel: string, key: string): boolean {
    return this.#q.has.get(channel, key) !== undefined;
  }

  /** The oldest waiting entry of `channel`, or null. */
  next(channel: string): OutboxItem | null {
    const row = this.#q.next.get(channel) as Row | undefined;
    return row === undefined ? null : toItem(row);
  }

  /** Entry `seq` was delivered: it leaves the outbox; its key is remembered. */
  done(seq: number): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#q.done.run(seq);
      this.#depth -= Number(this.#q.delete.run(seq).changes);
      this.#q.trimDone.run(this.#maxDone);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** A delivery attempt of `seq` failed (it stays first in its lane). */
  failed(seq: number, error: string): void {
    this.#q.failed.run(error.slice(0, 500), seq);
  }

  /** Entry `seq` can never be delivered: it moves to the dead letters with `reason`. */
  dead(seq: number, reason: string, nowUs: number): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#q.dead.run(reason.slice(0, 500), Math.round(nowUs), seq);
      this.#depth -= Number(this.#q.delete.run(seq).changes);
      this.#q.trimDead.run(DEAD_KEPT);
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** The dead letters kept (the latest 1000), oldest first. */
  deadLetters(): DeadLetter[] {
    return (this.#q.deadList.all() as unknown as (Row & { reason: string; dead_us: number })[])
      .map((r) => ({ ...toItem(r), reason: r.reason, deadUs: r.dead_us }));
  }

  /** Entries waiting on `channel`. */
  depth(channel: string): number {
    return (this.#q.laneDepth.get(channel) as { n: number }).n;
  }

  /** Depth of all channels and the drop counters. */
  stats(): OutboxStats {
    const dropped = Object.fromEntries(DROP_ORDER.map((k) => [k, 0])) as Record<
      OutboxKind,
      number
    >;
    for (const r of this.#q.dropped.all() as { kind: string; count: number }[]) {
      if (r.kind in dropped) dropped[r.kind as OutboxKind] = r.count;
    }
    return { depth: this.#depth, dropped };
  }

  /** Calls `fn(channel)` after each entry is added; returns the function that unsubscribes. */
  onEnqueue(fn: (channel: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Makes room for one entry of `kind` (in a transaction); false when it must be dropped. */
  #makeRoom(kind: OutboxKind): boolean {
    const rank = DROP_ORDER.indexOf(kind);
    while (this.#depth >= this.maxItems) {
      let victim: number | null = null;
      for (let r = 0; r <= rank && victim === null; r++) {
        const row = this.#q.oldestOfKind.get(DROP_ORDER[r]) as { seq: number } | undefined;
        if (row !== undefined) {
          victim = row.seq;
          this.#q.delete.run(victim);
          this.#q.drop.run(DROP_ORDER[r]);
          this.#depth--;
        }
      }
      if (victim === null) {
        this.#q.drop.run(kind);
        return false;
      }
    }
    return true;
  }
}

function toItem(row: Row): OutboxItem {
  return {
    seq: row.seq,
    channel: row.channel,
    kind: row.kind as OutboxKind,
    key: row.key,
    eventUs: row.event_us,
    body: JSON.parse(row.body),
    attempts: row.attempts,
  };
}
