/**
 * `ftagent incidents report ID [--output FILE]`: one incident as a self-contained HTML page
 * (inline SVG charts, no script, no external URL) to mail; stdout without `--output`.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { DEFAULT_CONFIG_PATH, loadConfigOrDefaults } from "../agent/config/mod.ts";
import { IncidentReports } from "../agent/report/mod.ts";
import { IncidentStore, MitigationStore, openStateDb, stateDbPath } from "../agent/state/mod.ts";
import { VERSION } from "../agent/version.ts";
import { parseCommand, UsageError } from "./_args.ts";

/** Usage text of `incidents report` (part of the `incidents` usage). */
export const REPORT_USAGE = `ftagent incidents report ID [--output FILE] [--config PATH]

Writes one incident as a self-contained HTML page to mail (rate curve with baseline and
threshold, traffic mix, sources, evidence, mitigation, the capture's SHA-256); ID may be an
unambiguous prefix.
  --output FILE   write the page to FILE (default: stdout)`;

const Options = z.object({
  config: z.string().min(1).optional(),
  output: z.string().min(1).optional(),
});

/** Runs `incidents report` (`args` without the word "report"); returns the exit code. */
export async function incidentReportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    config: { type: "string" },
    output: { type: "string", short: "o" },
  }, Options);
  if (positionals.length !== 1) {
    throw new UsageError("incidents report takes exactly one incident id");
  }
  const [id] = positionals;
  const { config } = await loadConfigOrDefaults(
    values.config ?? DEFAULT_CONFIG_PATH,
    values.config !== undefined,
  );
  const path = stateDbPath(config.state_dir);
  if (!existsSync(path)) throw new Error(`no incident ${id}: no incident store at ${path}`);
  const db = openStateDb(path);
  let report: { id: string; html: string };
  try {
    const reports = new IncidentReports({
      incidents: new IncidentStore(db),
      mitigations: new MitigationStore(db),
      host: config.alerts.host_name !== "" ? config.alerts.host_name : Deno.hostname(),
      version: VERSION,
    });
    report = await reports.report(id, Date.now());
  } finally {
    db.close();
  }
  if (values.output === undefined) {
    await Deno.stdout.write(new TextEncoder().encode(report.html));
    return 0;
  }
  await writeAtomically(values.output, report.html);
  console.log(`wrote the report of incident ${report.id} to ${values.output}`);
  return 0;
}

/** Writes `text` to `file` through a temporary file beside it (never half a report). */
async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${Deno.pid}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, file);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    const reason = err instanceof Deno.errors.NotFound
      ? `${dirname(file)} does not exist`
      : (err as Error).message.split("\n")[0];
    throw new Error(`cannot write ${file}: ${reason}`);
  }
}
