/**
 * The record of every mitigation action in the state database (component "mitigation"): what
 * was proposed, applied, refused or only logged, for which incident, on which backend, when it
 * was undone and with what result. The agent's undo on resolve, on shutdown and at start reads
 * it, and so does `ftagent mitigation list|approve` from another process.
 *
 * Every record and change is written through the database's {@linkcode StateWriter} (ids are
 * given by this store: only the agent adds records), so mitigation never waits on disk: while
 * the database is locked or full, the latest state of each record waits in memory and every
 * read shows it; it is written, in order, when the database answers.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { MitigationAction } from "../../core/mitigate/mod.ts";
import { migrate } from "./state_db.ts";
import { type StateWriter, stateWriter } from "./state_writer.ts";

/** Where an action stands. */
export type ActionState = "proposed" | "dry_run" | "applied" | "undone" | "failed" | "refused";

/** One recorded action. */
export interface ActionRecord {
  /** Row id. */
  id: number;
  /** Incident id, or `command:<id>` for a server command. */
  incident: string;
  /** The action's key (one firewall state per key). */
  key: string;
  /** The action. */
  action: MitigationAction;
  /** Where it stands. */
  state: ActionState;
  /** The mode it was decided in. */
  mode: string;
  /** The backend that applies it. */
  backend: string;
  /** Times in ms since the epoch. */
  created_at: number;
  /** When it was applied, or null. */
  applied_at: number | null;
  /** When its time to live ends, or null. */
  expires_at: number | null;
  /** When it was undone, or null. */
  undone_at: number | null;
  /** Error, refusal reason, or how it ended. */
  result: string | null;
  /** What the undo needs (previous sysctl value, Cloudflare rule id). */
  detail: string | null;
}

const MIGRATIONS = [
  `CREATE TABLE mitigation_actions (
    id INTEGER PRIMARY KEY,
    incident TEXT NOT NULL,
    action_key TEXT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    mode TEXT NOT NULL,
    backend TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    applied_at INTEGER,
    expires_at INTEGER,
    undone_at INTEGER,
    result TEXT,
    detail TEXT
  );
  CREATE INDEX mitigation_actions_incident ON mitigation_actions (incident);
  CREATE INDEX mitigation_actions_state ON mitigation_actions (state, action_key);`,
];

/** Recorded mitigation actions. */
export class MitigationStore {
  readonly #writer: StateWriter;
  /** Records whose latest state is not written yet (the database was locked or full). */
  readonly #pending = new Map<number, ActionRecord>();
  #lastId: number;

  /** Opens the store in `db` (creating its tables). */
  constructor(readonly db: DatabaseSync) {
    migrate(db, "mitigation", MIGRATIONS);
    this.#writer = stateWriter(db);
    const row = db.prepare("SELECT MAX(id) AS id FROM mitigation_actions").get() as {
      id: number | null;
    };
    this.#lastId = Number(row.id ?? 0);
  }

  /** Records a new action in `state`; returns its id. */
  add(rec: {
    incident: string;
    key: string;
    action: MitigationAction;
    state: ActionState;
    mode: string;
    backend: string;
    at: number;
    result?: string | null;
  }): number {
    const id = ++this.#lastId;
    this.#save({
      id,
      incident: rec.incident,
      key: rec.key,
      action: rec.action,
      state: rec.state,
      mode: rec.mode,
      backend: rec.backend,
      created_at: rec.at,
      applied_at: null,
      expires_at: null,
      undone_at: null,
      result: rec.result ?? null,
      detail: null,
    });
    return id;
  }

  /** Marks an action applied until `expiresAt`. */
  applied(id: number, at: number, expiresAt: number, detail: string | null, result?: string): void {
    this.#change(id, {
      state: "applied",
      applied_at: at,
      expires_at: expiresAt,
      detail,
      result: result ?? null,
    });
  }

  /** Marks an action failed with the error. */
  failed(id: number, error: string): void {
    this.#change(id, { state: "failed", result: error });
  }

  /** Marks an action undone (how: "resolved", "expired", an error...). */
  undone(id: number, at: number, result: string): void {
    this.#change(id, { state: "undone", undone_at: at, result });
  }

  /** Actions of an incident in one state. */
  ofIncident(incident: string, state: ActionState): ActionRecord[] {
    return this.#rows(
      "WHERE incident = ? AND state = ? ORDER BY id",
      (r) => r.incident === incident && r.state === state,
      incident,
      state,
    );
  }

  /** Every applied action (optionally only those expired by `now`). */
  active(expiredBy?: number): ActionRecord[] {
    return expiredBy === undefined
      ? this.#rows("WHERE state = 'applied' ORDER BY id", (r) => r.state === "applied")
      : this.#rows(
        "WHERE state = 'applied' AND expires_at <= ? ORDER BY id",
        (r) => r.state === "applied" && r.expires_at !== null && r.expires_at <= expiredBy,
        expiredBy,
      );
  }

  /** Applied actions with this key (several incidents may hold the same block). */
  activeWithKey(key: string): ActionRecord[] {
    return this.#rows(
      "WHERE state = 'applied' AND action_key = ? ORDER BY id",
      (r) => r.state === "applied" && r.key === key,
      key,
    );
  }

  /** Number of applied actions that block a source (for the cap). */
  blockedSources(): number {
    const keys = this.active().map((r) => r.key).filter((k) =>
      k.startsWith("drop_source ") || k.startsWith("cloudflare_rule ")
    );
    return new Set(keys).size;
  }

  /** Keys of every action recorded for an incident (any state). */
  keysOf(incident: string): Set<string> {
    const rows = this.#rows("WHERE incident = ?", (r) => r.incident === incident, incident);
    return new Set(rows.map((r) => r.key));
  }

  /** One record by id, or null. */
  get(id: number): ActionRecord | null {
    return this.#pending.get(id) ?? this.#rows("WHERE id = ?", (r) => r.id === id, id)[0] ?? null;
  }

  /** The newest `limit` records, newest first. */
  recent(limit: number): ActionRecord[] {
    return this.#rows("ORDER BY id DESC LIMIT ?", () => true, limit).sort((a, b) => b.id - a.id)
      .slice(0, limit);
  }

  /** Applies `patch` to record `id` (ignored when there is no such record). */
  #change(id: number, patch: Partial<ActionRecord>): void {
    const current = this.get(id);
    if (current !== null) this.#save({ ...current, ...patch });
  }

  /** Keeps `rec` as the record's latest state and writes it (at once when the database answers). */
  #save(rec: ActionRecord): void {
    this.#pending.set(rec.id, rec);
    this.#writer.write(
      `mitigation #${rec.id} ${rec.state}`,
      (db) => {
        db.prepare(
          `INSERT OR REPLACE INTO mitigation_actions (id, incident, action_key, action, state, mode,
         backend, created_at, applied_at, expires_at, undone_at, result, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          rec.id,
          rec.incident,
          rec.key,
          JSON.stringify(rec.action),
          rec.state,
          rec.mode,
          rec.backend,
          rec.created_at,
          rec.applied_at,
          rec.expires_at,
          rec.undone_at,
          rec.result,
          rec.detail,
        );
      },
      `mitigation:${rec.id}`,
      () => {
        if (this.#pending.get(rec.id) === rec) this.#pending.delete(rec.id);
      },
    );
  }

  /**
   * The records `where` selects, with the pending (unwritten) states in place of the written
   * ones: `matches` is the same filter for them. Sorted by id.
   */
  #rows(
    where: string,
    matches: (r: ActionRecord) => boolean,
    ...params: (string | number)[]
  ): ActionRecord[] {
    const written = this.#read(where, params).filter((r) => !this.#pending.has(r.id));
    if (this.#pending.size === 0) return written;
    const waiting = [...this.#pending.values()].filter(matches);
    return [...written, ...waiting].sort((a, b) => a.id - b.id);
  }

  #read(where: string, params: (string | number)[]): ActionRecord[] {
    const rows = this.db.prepare(`SELECT * FROM mitigation_actions ${where}`).all(
      ...params,
    ) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: Number(r.id),
      incident: String(r.incident),
      key: String(r.action_key),
      action: JSON.parse(String(r.action)) as MitigationAction,
      state: String(r.state) as ActionState,
      mode: String(r.mode),
      backend: String(r.backend),
      created_at: Number(r.created_at),
      applied_at: r.applied_at === null ? null : Number(r.applied_at),
      expires_at: r.expires_at === null ? null : Number(r.expires_at),
      undone_at: r.undone_at === null ? null : Number(r.undone_at),
      result: r.result === null ? null : String(r.result),
      detail: r.detail === null ? null : String(r.detail),
    }));
  }
}
