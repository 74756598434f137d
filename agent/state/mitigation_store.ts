/**
 * The record of every mitigation action in the state database (component "mitigation"): what
 * was proposed, applied, refused or only logged, for which incident, on which backend, when it
 * was undone and with what result. The agent's undo on resolve, on shutdown and at start reads
 * it, and so does `ftagent mitigation list|approve` from another process.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { MitigationAction } from "../../core/mitigate/mod.ts";
import { migrate } from "./state_db.ts";

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
  /** Opens the store in `db` (creating its tables). */
  constructor(readonly db: DatabaseSync) {
    migrate(db, "mitigation", MIGRATIONS);
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
    const r = this.db.prepare(
      `INSERT INTO mitigation_actions (incident, action_key, action, state, mode, backend, created_at, result)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      rec.incident,
      rec.key,
      JSON.stringify(rec.action),
      rec.state,
      rec.mode,
      rec.backend,
      rec.at,
      rec.result ?? null,
    );
    return Number(r.lastInsertRowid);
  }

  /** Marks an action applied until `expiresAt`. */
  applied(id: number, at: number, expiresAt: number, detail: string | null, result?: string): void {
    this.db.prepare(
      `UPDATE mitigation_actions SET state = 'applied', applied_at = ?, expires_at = ?, detail = ?,
       result = ? WHERE id = ?`,
    ).run(at, expiresAt, detail, result ?? null, id);
  }

  /** Marks an action failed with the error. */
  failed(id: number, error: string): void {
    this.db.prepare("UPDATE mitigation_actions SET state = 'failed', result = ? WHERE id = ?")
      .run(error, id);
  }

  /** Marks an action undone (how: "resolved", "expired", an error...). */
  undone(id: number, at: number, result: string): void {
    this.db.prepare(
      "UPDATE mitigation_actions SET state = 'undone', undone_at = ?, result = ? WHERE id = ?",
    ).run(at, result, id);
  }

  /** Actions of an incident in one state. */
  ofIncident(incident: string, state: ActionState): ActionRecord[] {
    return this.#rows("WHERE incident = ? AND state = ? ORDER BY id", incident, state);
  }

  /** Every applied action (optionally only those expired by `now`). */
  active(expiredBy?: number): ActionRecord[] {
    return expiredBy === undefined
      ? this.#rows("WHERE state = 'applied' ORDER BY id")
      : this.#rows("WHERE state = 'applied' AND expires_at <= ? ORDER BY id", expiredBy);
  }

  /** Applied actions with this key (several incidents may hold the same block). */
  activeWithKey(key: string): ActionRecord[] {
    return this.#rows("WHERE state = 'applied' AND action_key = ? ORDER BY id", key);
  }

  /** Number of applied actions that block a source (for the cap). */
  blockedSources(): number {
    const row = this.db.prepare(
      `SELECT COUNT(DISTINCT action_key) AS n FROM mitigation_actions WHERE state = 'applied'
       AND (action_key LIKE 'drop_source %' OR action_key LIKE 'cloudflare_rule %')`,
    ).get() as { n: number };
    return Number(row.n);
  }

  /** Keys of every action recorded for an incident (any state). */
  keysOf(incident: string): Set<string> {
    const rows = this.db.prepare(
      "SELECT DISTINCT action_key FROM mitigation_actions WHERE incident = ?",
    ).all(incident) as { action_key: string }[];
    return new Set(rows.map((r) => r.action_key));
  }

  /** One record by id, or null. */
  get(id: number): ActionRecord | null {
    return this.#rows("WHERE id = ?", id)[0] ?? null;
  }

  /** The newest `limit` records, newest first. */
  recent(limit: number): ActionRecord[] {
    return this.#rows("ORDER BY id DESC LIMIT ?", limit);
  }

  #rows(where: string, ...params: (string | number)[]): ActionRecord[] {
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
