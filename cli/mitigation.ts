/**
 * `ftagent mitigation list`: the recorded mitigation actions (applied, proposed, dry-run,
 * refused, undone), newest first; `ftagent mitigation approve ID`: applies the proposal of a
 * manual-mode incident.
 *
 * Approve runs in this process, not in the agent: it applies the proposal through the same
 * backend and marks it applied in the state database, where the running agent's undo (on
 * resolve, expiry, shutdown or next start) finds it. The kernel timeouts bound it either way.
 *
 * @module
 */

import { existsSync } from "node:fs";
import {
  type ActionRecord,
  MitigationStore,
  openStateDb,
  stateDbPath,
} from "../agent/state/mod.ts";
import { describeAction } from "../core/mitigate/mod.ts";
import { UsageError } from "./_args.ts";
import { storeCommand } from "./_store_command.ts";
import { setupLogging } from "./_logging.ts";
import { mitigatorFor } from "../agent/mitigate/mod.ts";

/** Usage text of `mitigation`. */
export const MITIGATION_USAGE = `ftagent mitigation list [--config PATH] [--limit N] [--json]
ftagent mitigation approve INCIDENT_ID [--config PATH]

"list" prints the recorded mitigation actions, newest first (state, incident, action, times,
result); "approve" applies the actions proposed for an incident in manual mode (the running
agent undoes them when the incident resolves, and they expire by their time-to-live).
  --limit N       at most N actions (default 50)
  --json          JSON lines`;

/** Runs `mitigation`; returns the process exit code. */
export async function mitigationCommand(args: string[]): Promise<number> {
  const { config, positionals, ...values } = await storeCommand(args);
  const [sub, id, ...extra] = positionals;
  if (sub !== "list" && sub !== "approve") {
    throw new UsageError(`mitigation needs "list" or "approve", not ${JSON.stringify(sub ?? "")}`);
  }
  if (sub === "approve" && (id === undefined || extra.length > 0)) {
    throw new UsageError("mitigation approve takes exactly one incident id");
  }
  if (sub === "list" && id !== undefined) throw new UsageError(`unknown argument "${id}"`);
  const path = stateDbPath(config.state_dir);
  if (!existsSync(path)) {
    if (sub === "approve") throw new Error(`nothing to approve: no state database at ${path}`);
    if (!values.json) console.log(`no mitigation actions recorded (no state database at ${path})`);
    return 0;
  }
  const db = openStateDb(path);
  try {
    if (sub === "list") {
      const rows = new MitigationStore(db).recent(values.limit);
      if (values.json) { for (const row of rows) console.log(JSON.stringify(row)); }
      else if (rows.length === 0) console.log("no mitigation actions recorded");
      else for (const row of rows) console.log(line(row));
      return 0;
    }
    const log = await setupLogging({ level: "info", file: config.log_file });
    const runtime = mitigatorFor(config, db, log);
    const result = await runtime.approve(id!);
    if (result.applied + result.failed === 0) {
      throw new Error(`no proposed actions for incident ${id} (see ftagent mitigation list)`);
    }
    console.log(`incident ${id}: ${result.applied} applied, ${result.failed} failed`);
    return result.failed === 0 ? 0 : 1;
  } finally {
    db.close();
  }
}

function line(r: ActionRecord): string {
  const t = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());
  return [
    `#${r.id}`,
    r.state.padEnd(8),
    r.incident,
    describeAction(r.action),
    `[${r.backend}]`,
    `applied ${t(r.applied_at)}`,
    `undone ${t(r.undone_at)}`,
    r.result ?? "",
  ].join("  ");
}
