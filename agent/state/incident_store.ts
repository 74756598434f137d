/**
 * The local incident store: every incident in the agent's SQLite database (table `incidents`),
 * with the latest full event and the path of its PCAP, so a node without an account still
 * keeps its history (`ftagent incidents`). Rows older than the retention are deleted; a row
 * that cannot be read is reported as such, never a crash.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import { migrate } from "./state_db.ts";

/** Where an incident stands in the store. */
export type StoredState = "open" | "resolved" | "interrupted";

/** One incident as listed (the indexed columns). */
export interface StoredIncident {
  /** The incident's id. */
  id: string;
  /** Attack family. */
  family: string;
  /** Attack subtype. */
  subtype: string;
  /** `"interface"` or the attacked address. */
  target: string;
  /** ISO-8601 time it started. */
  startedAt: string;
  /** Start as ms since the epoch (for sorting and retention). */
  startedMs: number;
  /** ISO-8601 time it ended, or null. */
  endedAt: string | null;
  /** Peak packets per second. */
  peakPps: number;
  /** Peak bits per second. */
  peakBps: number;
  /** Seconds from start to the latest event (or to the end). */
  duration: number;
  /** Open, resolved, or interrupted (left open by a stopped agent). */
  state: StoredState;
  /** Kind of the latest event ("open", "update", "resolve"). */
  lastEvent: string;
  /** Where the incident's capture is written (null: PCAP off). */
  pcapPath: string | null;
  /** Wall time the row was last written (ms). */
  updatedMs: number;
}

/** One incident in full: its columns and the latest event (null when unreadable). */
export interface StoredIncidentDetail extends StoredIncident {
  /** The latest full event (null when unreadable). */
  event: IncidentEvent | null;
  /** Why `event` is null. */
  error: string | null;
}

/** The result of looking an incident up by id or id prefix. */
export type IncidentLookup =
  | { found: StoredIncidentDetail }
  | { found: null; matches: string[] };

const MIGRATIONS = [
  `CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    subtype TEXT NOT NULL,
    target TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_at TEXT,
    peak_pps REAL NOT NULL,
    peak_bps REAL NOT NULL,
    duration REAL NOT NULL,
    state TEXT NOT NULL,
    last_event TEXT NOT NULL,
    pcap_path TEXT,
    updated_ms INTEGER NOT NULL,
    event_json TEXT NOT NULL
  );
  CREATE INDEX incidents_started ON incidents (started_ms DESC);
  CREATE INDEX incidents_updated ON incidents (updated_ms);`,
];

const COLUMNS = "id, family, subtype, target, started_at, started_ms, ended_at, peak_pps, " +
  "peak_bps, duration, state, last_event, pcap_path, updated_ms";

/** Keeps incidents in the state database. */
export class IncidentStore {
  readonly #db: DatabaseSync;

  /** Uses `db` (creating or migrating the `incidents` table). */
  constructor(db: DatabaseSync) {
    this.#db = db;
    migrate(db, "incidents", MIGRATIONS);
  }

  /**
   * Records an incident event (open, update or resolve): the row is created or replaced by the
   * latest event. `pcapPath` is where its capture goes (null: none); `nowMs` is the wall time.
   */
  record(event: IncidentEvent, pcapPath: string | null, nowMs: number): void {
    const startedAt = text(event.started_at) ?? text(event.detected_at) ?? "";
    const parsed = Date.parse(startedAt);
    const state: StoredState = event.event === "resolve" ? "resolved" : "open";
    this.#db.prepare(
      `INSERT INTO incidents (${COLUMNS}, event_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET family = excluded.family, subtype = excluded.subtype,
         target = excluded.target, started_at = excluded.started_at,
         started_ms = excluded.started_ms, ended_at = excluded.ended_at,
         peak_pps = excluded.peak_pps, peak_bps = excluded.peak_bps,
         duration = excluded.duration, state = excluded.state,
         last_event = excluded.last_event, pcap_path = excluded.pcap_path,
         updated_ms = excluded.updated_ms, event_json = excluded.event_json`,
    ).run(
      event.id,
      text(event.attack_family) ?? "unknown",
      text(event.attack_subtype) ?? "unknown",
      text(event.target) ?? "",
      startedAt,
      Number.isFinite(parsed) ? parsed : nowMs,
      text(event.ended_at),
      num(event.peak_pps),
      num(event.peak_bps),
      num(event.duration_seconds ?? event.duration),
      state,
      event.event,
      pcapPath,
      Math.floor(nowMs),
      JSON.stringify(event),
    );
  }

  /**
   * The latest stored event of every incident still open (the agent stopped without resolving
   * it: killed, crashed, power cut), oldest first; rows whose event is unreadable are skipped.
   */
  leftOpen(): { event: IncidentEvent; updatedMs: number }[] {
    const rows = this.#read(
      `SELECT ${COLUMNS}, event_json FROM incidents WHERE state = 'open' ORDER BY started_ms, id`,
    ).all();
    const out: { event: IncidentEvent; updatedMs: number }[] = [];
    for (const row of rows) {
      const { event } = parseEvent(row.event_json);
      if (event !== null && typeof event.id === "string") {
        out.push({ event, updatedMs: num(row.updated_ms) });
      }
    }
    return out;
  }

  /** Marks incidents still open (the agent stopped without resolving them) as interrupted. */
  closeInterrupted(): number {
    return Number(
      this.#db.prepare("UPDATE incidents SET state = 'interrupted' WHERE state = 'open'").run()
        .changes,
    );
  }

  /** Deletes incidents last written more than `days` ago; returns how many. */
  prune(days: number, nowMs: number): number {
    return Number(
      this.#db.prepare("DELETE FROM incidents WHERE updated_ms < ?").run(
        Math.floor(nowMs - days * 86_400_000),
      ).changes,
    );
  }

  /** The newest `limit` incidents, newest first. */
  list(limit: number): StoredIncident[] {
    const rows = this.#read(
      `SELECT ${COLUMNS} FROM incidents ORDER BY started_ms DESC, id LIMIT ?`,
    ).all(Math.max(0, Math.floor(limit)));
    return rows.map(toIncident);
  }

  // Integers read as bigints: a bad row's huge value must not throw.
  #read(sql: string): StatementSync {
    const statement = this.#db.prepare(sql);
    statement.setReadBigInts(true);
    return statement;
  }

  /** The incident whose id is `idOrPrefix` or the only one starting with it. */
  find(idOrPrefix: string): IncidentLookup {
    const like = idOrPrefix.toLowerCase().replace(/[\\%_]/g, (c) => "\\" + c) + "%";
    const rows = this.#read(
      `SELECT ${COLUMNS}, event_json FROM incidents WHERE lower(id) LIKE ? ESCAPE '\\'
       ORDER BY started_ms DESC LIMIT 10`,
    ).all(like);
    const exact = rows.find((r) => r.id === idOrPrefix);
    const row = exact ?? (rows.length === 1 ? rows[0] : undefined);
    if (row === undefined) return { found: null, matches: rows.map((r) => String(r.id)) };
    return { found: { ...toIncident(row), ...parseEvent(row.event_json) } };
  }
}

type Row = Record<string, SQLInputValue>;

function toIncident(row: Row): StoredIncident {
  const state = String(row.state);
  return {
    id: String(row.id),
    family: String(row.family ?? "unknown"),
    subtype: String(row.subtype ?? "unknown"),
    target: String(row.target ?? ""),
    startedAt: String(row.started_at ?? ""),
    startedMs: num(row.started_ms),
    endedAt: row.ended_at == null ? null : String(row.ended_at),
    peakPps: num(row.peak_pps),
    peakBps: num(row.peak_bps),
    duration: num(row.duration),
    state: state === "open" || state === "resolved" ? state : "interrupted",
    lastEvent: String(row.last_event ?? ""),
    pcapPath: row.pcap_path == null ? null : String(row.pcap_path),
    updatedMs: num(row.updated_ms),
  };
}

function parseEvent(json: SQLInputValue): { event: IncidentEvent | null; error: string | null } {
  try {
    const event = JSON.parse(String(json));
    if (typeof event === "object" && event !== null && !Array.isArray(event)) {
      return { event, error: null };
    }
    return { event: null, error: "the stored event is not a JSON object" };
  } catch (err) {
    return { event: null, error: `the stored event is not JSON: ${(err as Error).message}` };
  }
}

function text(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function num(v: unknown): number {
  const n = typeof v === "bigint" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}
