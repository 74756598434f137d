/**
 * The durable outbox: every outgoing event (incident events, metrics, heartbeats, command
 * acknowledgements, PCAP uploads, alerts) is written here first, in the agent's SQLite
 * database, and delivered from here by a sender per channel. Each channel is one ordered lane;
 * each entry has an idempotency key (enqueueing a key the channel already holds, delivered or
 * not, does nothing) and its event time. The outbox is bounded: when full, the oldest metrics
 * go first, then heartbeats, PCAP uploads, alerts, acknowledgements, and incident events last;
 * what was dropped is counted by kind (and survives restarts).
 *
 * The waiting entries live in memory (their bodies only until written), so queueing and the
 * senders' `next()` never wait on disk: every change is written behind, in order, through the
 * database's {@linkcode StateWriter}; while the database is locked or its disk full, the
 * changes wait in memory (at most `maxItems` entries, the same bound) and are written when it
 * answers. An entry is delivered once whether or not it was written yet.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { migrate } from "./state_db.ts";
import { type StateWriter, stateWriter } from "./state_writer.ts";

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

/** A waiting entry as the outbox keeps it in memory (its body only until it is written). */
interface Waiting {
  seq: number;
  channel: string;
  kind: OutboxKind;
  key: string;
  eventUs: number;
  attempts: number;
  lastError: string | null;
  /** The JSON body until the entry is written, then null (read back by seq when delivered). */
  body: string | null;
}

/** A change of the outbox not yet written to the database, in order. */
type Op =
  | { t: "insert"; w: Waiting; skip: boolean }
  | { t: "done" | "dead" | "delete"; seq: number; reason?: string; deadUs?: number }
  | { t: "drop"; kind: OutboxKind };

/** The outbox: waiting entries in memory, written behind to the state database. */
export class Outbox {
  /** Most entries kept; beyond, the least important go first. */
  readonly maxItems: number;
  readonly #maxDone: number;
  readonly #listeners = new Set<(channel: string) => void>();
  readonly #q: Record<string, StatementSync>;
  readonly #writer: StateWriter;
  readonly #all = new Map<number, Waiting>();
  readonly #lanes = new Map<string, Waiting[]>();
  readonly #keys = new Map<string, Waiting>();
  /** Keys delivered or dead whose record is not written yet. */
  readonly #gone = new Set<string>();
  /** Attempts of written entries not written yet. */
  readonly #failed = new Map<number, Waiting>();
  readonly #dropped: Record<OutboxKind, number>;
  #ops: Op[] = [];
  /** How many of `#ops` the last write applied. */
  #applied = 0;
  #lastSeq: number;

  /** Creates the tables when missing and loads the waiting entries; `maxItems` bounds them. */
  constructor(db: DatabaseSync, options: OutboxOptions = {}) {
    migrate(db, "outbox", MIGRATIONS);
    this.#writer = stateWriter(db);
    this.maxItems = Math.max(1, options.maxItems ?? DEFAULT_MAX_ITEMS);
    this.#maxDone = Math.max(1, options.maxDeliveredKeys ?? 100_000);
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      known: p(
        "SELECT 1 FROM outbox_done WHERE channel = ?1 AND key = ?2 UNION ALL " +
          "SELECT 1 FROM outbox_dead WHERE channel = ?1 AND key = ?2 LIMIT 1",
      ),
      insert: p(
        "INSERT INTO outbox (seq, channel, kind, key, event_us, body, attempts, last_error) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      body: p("SELECT body FROM outbox WHERE seq = ?"),
      delete: p("DELETE FROM outbox WHERE seq = ?"),
      drop: p(
        "INSERT INTO outbox_dropped (kind, count) VALUES (?, 1) " +
          "ON CONFLICT (kind) DO UPDATE SET count = count + 1",
      ),
      done: p(
        "INSERT OR REPLACE INTO outbox_done (channel, key, done_seq) " +
          "SELECT channel, key, seq FROM outbox WHERE seq = ?",
      ),
      trimDone: p(
        "DELETE FROM outbox_done WHERE done_seq <= " +
          "(SELECT done_seq FROM outbox_done ORDER BY done_seq DESC LIMIT 1 OFFSET ?)",
      ),
      failed: p("UPDATE outbox SET attempts = ?, last_error = ? WHERE seq = ?"),
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
    };
    this.#dropped = Object.fromEntries(DROP_ORDER.map((k) => [k, 0])) as Record<
      OutboxKind,
      number
    >;
    for (const r of p("SELECT kind, count FROM outbox_dropped").all()) {
      if (String(r.kind) in this.#dropped) this.#dropped[r.kind as OutboxKind] = Number(r.count);
    }
    const rows = p(
      "SELECT seq, channel, kind, key, event_us, attempts, last_error FROM outbox ORDER BY seq",
    ).all() as unknown as (Row & { last_error: string | null })[];
    for (const r of rows) {
      this.#add({
        ...r,
        kind: r.kind as OutboxKind,
        eventUs: r.event_us,
        lastError: r.last_error,
        body: null,
      });
    }
    const top = p(
      "SELECT MAX(s) AS s FROM (SELECT seq AS s FROM sqlite_sequence WHERE name = 'outbox' " +
        "UNION ALL SELECT MAX(seq) FROM outbox UNION ALL SELECT MAX(seq) FROM outbox_dead " +
        "UNION ALL SELECT MAX(done_seq) FROM outbox_done)",
    ).get() as { s: number | null };
    this.#lastSeq = Number(top.s ?? 0);
  }

  /**
   * Keeps `entry` for delivery (in memory at once; written to the database at once, or when it
   * answers again); false when its key is already known on its channel (waiting, delivered or
   * dead), or when the outbox is full of entries that matter more (the entry is then counted
   * as dropped). With `supersede`, waiting entries of the same kind on the same channel are
   * removed (a newer heartbeat replaces an older one).
   */
  enqueue(entry: OutboxEntry, options: { supersede?: boolean } = {}): boolean {
    if (this.has(entry.channel, entry.key)) return false;
    const body = JSON.stringify(entry.body ?? null);
    if (!this.#makeRoom(entry.kind)) {
      this.#save();
      return false;
    }
    const w: Waiting = {
      seq: ++this.#lastSeq,
      channel: entry.channel,
      kind: entry.kind,
      key: entry.key,
      eventUs: Math.round(entry.eventUs),
      attempts: 0,
      lastError: null,
      body,
    };
    if (options.supersede) {
      for (const old of [...this.#lanes.get(entry.channel) ?? []]) {
        if (old.kind === entry.kind) this.#remove(old);
      }
    }
    this.#add(w);
    this.#ops.push({ t: "insert", w, skip: false });
    this.#save();
    for (const fn of this.#listeners) fn(entry.channel);
    return true;
  }

  /** True when `key` is known on `channel` (waiting, delivered or dead). */
  has(channel: string, key: string): boolean {
    const k = `${channel}\n${key}`;
    if (this.#keys.has(k) || this.#gone.has(k)) return true;
    try {
      return this.#q.known.get(channel, key) !== undefined;
    } catch {
      return false; // the database does not answer: what memory knows
    }
  }

  /** The oldest waiting entry of `channel`, or null (throws when its body cannot be read). */
  next(channel: string): OutboxItem | null {
    const w = this.#lanes.get(channel)?.[0];
    if (w === undefined) return null;
    let body = w.body;
    if (body === null) {
      const row = this.#q.body.get(w.seq) as { body: string } | undefined;
      if (row === undefined) throw new Error(`outbox entry ${w.seq} is missing from the database`);
      body = row.body;
    }
    return toItem({ ...w, event_us: w.eventUs, body });
  }

  /** Entry `seq` was delivered: it leaves the outbox; its key is remembered. */
  done(seq: number): void {
    this.#leave(seq, { t: "done", seq });
  }

  /** A delivery attempt of `seq` failed (it stays first in its lane). */
  failed(seq: number, error: string): void {
    const w = this.#all.get(seq);
    if (w === undefined) return;
    w.attempts++;
    w.lastError = error.slice(0, 500);
    if (w.body === null) this.#failed.set(seq, w); // written: update its row
    this.#save();
  }

  /** Entry `seq` can never be delivered: it moves to the dead letters with `reason`. */
  dead(seq: number, reason: string, nowUs: number): void {
    this.#leave(seq, { t: "dead", seq, reason: reason.slice(0, 500), deadUs: Math.round(nowUs) });
  }

  /** The dead letters written (the latest 1000), oldest first. */
  deadLetters(): DeadLetter[] {
    return (this.#q.deadList.all() as unknown as (Row & { reason: string; dead_us: number })[])
      .map((r) => ({ ...toItem(r), reason: r.reason, deadUs: r.dead_us }));
  }

  /** Entries waiting on `channel`. */
  depth(channel: string): number {
    return this.#lanes.get(channel)?.length ?? 0;
  }

  /** Depth of all channels and the drop counters. */
  stats(): OutboxStats {
    return { depth: this.#all.size, dropped: { ...this.#dropped } };
  }

  /** Changes not yet written to the database (0 when it is up to date). */
  unwritten(): number {
    return this.#ops.length + this.#failed.size;
  }

  /** Calls `fn(channel)` after each entry is added; returns the function that unsubscribes. */
  onEnqueue(fn: (channel: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #add(w: Waiting): void {
    this.#all.set(w.seq, w);
    this.#keys.set(`${w.channel}\n${w.key}`, w);
    let lane = this.#lanes.get(w.channel);
    if (lane === undefined) this.#lanes.set(w.channel, lane = []);
    lane.push(w);
  }

  /**
   * Takes `w` out of memory. Unless `kept` (delivered or dead: the caller records it), its row
   * is deleted when written, its insert skipped when not.
   */
  #remove(w: Waiting, kept = false): void {
    this.#all.delete(w.seq);
    this.#keys.delete(`${w.channel}\n${w.key}`);
    this.#failed.delete(w.seq);
    const lane = this.#lanes.get(w.channel)!;
    lane.splice(lane.indexOf(w), 1);
    if (lane.length === 0) this.#lanes.delete(w.channel);
    if (kept) return;
    if (w.body === null) {
      this.#ops.push({ t: "delete", seq: w.seq });
      return;
    }
    const insert = this.#ops.find((op) => op.t === "insert" && op.w === w);
    if (insert?.t === "insert") insert.skip = true;
  }

  #leave(seq: number, op: Op & { t: "done" | "dead" }): void {
    const w = this.#all.get(seq);
    if (w === undefined) return;
    this.#remove(w, true);
    this.#gone.add(`${w.channel}\n${w.key}`);
    this.#ops.push(op);
    this.#save();
  }

  /** Makes room for one entry of `kind`; false when it must be dropped (counted). */
  #makeRoom(kind: OutboxKind): boolean {
    const rank = DROP_ORDER.indexOf(kind);
    while (this.#all.size >= this.maxItems) {
      let victim: Waiting | undefined;
      for (let r = 0; r <= rank && victim === undefined; r++) {
        for (const w of this.#all.values()) {
          if (w.kind === DROP_ORDER[r]) {
            victim = w;
            break;
          }
        }
      }
      const dropped = victim?.kind ?? kind;
      this.#dropped[dropped]++;
      this.#ops.push({ t: "drop", kind: dropped });
      if (victim === undefined) return false;
      this.#remove(victim);
    }
    return true;
  }

  /** Queues the write of what changed (one job for the outbox, in order). */
  #save(): void {
    this.#writer.write("outbox", (db) => this.#write(db), "outbox", (ok) => this.#written(ok));
  }

  /** Writes the changes (inside the writer's transaction). */
  #write(_db: DatabaseSync): void {
    const q = this.#q;
    for (const w of this.#failed.values()) q.failed.run(w.attempts, w.lastError, w.seq);
    let trim = false;
    for (const op of this.#ops) {
      if (op.t === "insert") {
        if (op.skip) continue;
        const w = op.w;
        q.insert.run(w.seq, w.channel, w.kind, w.key, w.eventUs, w.body!, w.attempts, w.lastError);
      } else if (op.t === "drop") q.drop.run(op.kind);
      else if (op.t === "delete") q.delete.run(op.seq);
      else {
        if (op.t === "done") q.done.run(op.seq);
        else q.dead.run(op.reason!, op.deadUs!, op.seq);
        q.delete.run(op.seq);
        trim = true;
      }
    }
    if (trim) {
      q.trimDone.run(this.#maxDone);
      q.trimDead.run(DEAD_KEPT);
    }
    this.#applied = this.#ops.length;
  }

  /** The changes were committed (or refused for good): memory lets go of them. */
  #written(ok: boolean): void {
    for (const op of this.#ops.splice(0, this.#applied)) {
      if (ok && op.t === "insert" && !op.skip) op.w.body = null;
    }
    this.#applied = 0;
    this.#failed.clear();
    if (this.#ops.length === 0) this.#gone.clear();
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
