/**
 * `ftagent incidents`: the local incident store (state_dir/ftagent.db), newest first, and
 * `ftagent incidents show ID` for one incident in full with its evidence, `ftagent incidents
 * report ID` for its HTML report.
 *
 * @module
 */

import { existsSync } from "node:fs";
import {
  IncidentStore,
  openStateDb,
  stateDbPath,
  type StoredIncident,
} from "../agent/state/mod.ts";
import { formatBps, formatDuration, formatPps } from "../core/report/mod.ts";
import { splitCommand, UsageError } from "./_args.ts";
import { storeCommand } from "./_store_command.ts";
import { incidentReportCommand, REPORT_USAGE } from "./incident_report.ts";
import { incidentDetail } from "./_incident_text.ts";

/** Usage text of `incidents`. */
export const INCIDENTS_USAGE = `ftagent incidents [--config PATH] [--limit N] [--json]
ftagent incidents show ID [--config PATH] [--json]

Lists the incidents kept in state_dir/ftagent.db, newest first (family, target, peak,
duration, state, id); "show" prints one in full with its evidence and its capture file
(ID may be an unambiguous prefix).
  --limit N       at most N incidents (default 50)
  --json          JSON lines (list) or one JSON object (show)

${REPORT_USAGE}`;

/** Runs `incidents`; returns the process exit code. */
export async function incidents(args: string[]): Promise<number> {
  const report = splitCommand(args, new Set(["report"]), new Set());
  if (report.command === "report") return await incidentReportCommand(report.rest);
  const { config, positionals, ...values } = await storeCommand(args);
  const [sub, id, ...extra] = positionals;
  if (sub !== undefined && sub !== "show") throw new UsageError(`unknown argument "${sub}"`);
  if (sub === "show" && (id === undefined || extra.length > 0)) {
    throw new UsageError("incidents show takes exactly one incident id");
  }
  const path = stateDbPath(config.state_dir);
  if (!existsSync(path)) {
    if (sub === "show") throw new Error(`no incident ${id}: no incident store at ${path}`);
    if (!values.json) console.log(`no incidents recorded (no incident store at ${path})`);
    return 0;
  }
  const db = openStateDb(path);
  try {
    const store = new IncidentStore(db);
    if (sub === "show") return show(store, id!, values.json);
    const list = store.list(values.limit);
    if (values.json) {
      for (const incident of list) console.log(JSON.stringify(jsonRow(incident)));
    } else if (list.length === 0) {
      console.log("no incidents recorded");
    } else {
      printTable(list);
    }
    return 0;
  } finally {
    db.close();
  }
}

function show(store: IncidentStore, id: string, json: boolean): number {
  const lookup = store.find(id);
  if (lookup.found === null) {
    if (lookup.matches.length === 0) throw new Error(`no incident ${id}`);
    throw new Error(`"${id}" is ambiguous: ${lookup.matches.join(", ")}`);
  }
  const incident = lookup.found;
  const pcapExists = incident.pcapPath !== null && existsSync(incident.pcapPath);
  if (json) {
    console.log(JSON.stringify({
      ...jsonRow(incident),
      pcap_exists: pcapExists,
      event: incident.event,
      error: incident.error,
    }));
  } else {
    console.log(incidentDetail(incident, pcapExists));
  }
  return 0;
}

/** A stored incident with the event's field names, as `--json` prints it. */
function jsonRow(i: StoredIncident): Record<string, unknown> {
  return {
    id: i.id,
    attack_family: i.family,
    attack_subtype: i.subtype,
    target: i.target,
    started_at: i.startedAt,
    ended_at: i.endedAt,
    peak_pps: i.peakPps,
    peak_bps: i.peakBps,
    duration: i.duration,
    state: i.state,
    last_event: i.lastEvent,
    pcap_path: i.pcapPath,
  };
}

function printTable(list: StoredIncident[]): void {
  const rows = list.map((i) => [
    i.startedAt.slice(0, 19).replace("T", " "),
    `${i.family}/${i.subtype}`,
    i.target,
    formatPps(i.peakPps),
    formatBps(i.peakBps),
    formatDuration(i.duration),
    i.state,
    i.id,
  ]);
  const header = ["STARTED (UTC)", "ATTACK", "TARGET", "PEAK PPS", "PEAK BPS", "DURATION", "STATE"];
  const all = [[...header, "ID"], ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  for (const row of all) {
    console.log(
      row.map((cell, c) => (c < widths.length ? cell.padEnd(widths[c]) : cell)).join("  "),
    );
  }
}
