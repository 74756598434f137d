/**
 * Incident reports from the local store: the incident, its mitigation records and its
 * capture's SHA-256 (read from the file in chunks, never the whole file in memory), rendered
 * by {@linkcode incidentReportHtml}. `ftagent incidents report` and the local listener's
 * `/incidents/<id>/report` make the same page.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { describeAction, type MitigationAction } from "../../core/mitigate/mod.ts";
import {
  incidentReportHtml,
  type ReportAction,
  type ReportCapture,
} from "../../core/report/mod.ts";
import type { ActionState, IncidentStore, MitigationStore } from "../state/mod.ts";

/** The path the local listener serves a report on: `/incidents/<id>/report`. */
export const REPORT_PATH = /^\/incidents\/([0-9A-Za-z-]{1,64})\/report$/;

/** The path of incident `id`'s report (appended to a base URL, or the local listener). */
export function reportPath(id: string): string {
  return `/incidents/${encodeURIComponent(id)}/report`;
}

/** An incident that cannot be reported: none with that id, or the id is ambiguous. */
export class ReportNotFound extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "ReportNotFound";
  }
}

const STATES: ActionState[] = ["proposed", "dry_run", "applied", "undone", "failed", "refused"];

/** Makes incident reports from the state database's stores. */
export class IncidentReports {
  readonly #incidents: IncidentStore;
  readonly #mitigations: MitigationStore | null;
  readonly #host: string;
  readonly #version: string;

  /** Reads `incidents` and `mitigations` (null: no mitigation records); names `host`. */
  constructor(opts: {
    incidents: IncidentStore;
    mitigations: MitigationStore | null;
    host: string;
    version: string;
  }) {
    this.#incidents = opts.incidents;
    this.#mitigations = opts.mitigations;
    this.#host = opts.host;
    this.#version = opts.version;
  }

  /**
   * The report of the incident whose id is `idOrPrefix` (or the only one starting with it),
   * made at `nowMs`, with its full id. Throws {@linkcode ReportNotFound} when there is none or
   * several.
   */
  async report(idOrPrefix: string, nowMs: number): Promise<{ id: string; html: string }> {
    const lookup = this.#incidents.find(idOrPrefix);
    if (lookup.found === null) {
      if (lookup.matches.length === 0) throw new ReportNotFound(`no incident ${idOrPrefix}`);
      throw new ReportNotFound(`"${idOrPrefix}" is ambiguous: ${lookup.matches.join(", ")}`);
    }
    const incident = lookup.found;
    const html = incidentReportHtml({
      incident,
      actions: this.#actions(incident.id),
      capture: incident.pcapPath === null ? null : await captureFacts(incident.pcapPath),
      host: this.#host,
      version: this.#version,
      generatedMs: nowMs,
    });
    return { id: incident.id, html };
  }

  /**
   * The answer to `GET /incidents/<id>/report`, or null for any other request: the page (no
   * script may run in it), 404 naming why there is none, 500 when the store cannot be read.
   */
  route(url: URL, method: string): Promise<Response> | null {
    const m = REPORT_PATH.exec(url.pathname);
    if (m === null || (method !== "GET" && method !== "HEAD")) return null;
    return this.#respond(m[1]);
  }

  async #respond(id: string): Promise<Response> {
    try {
      return new Response((await this.report(id, Date.now())).html, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
          "x-content-type-options": "nosniff",
        },
      });
    } catch (err) {
      const status = err instanceof ReportNotFound ? 404 : 500;
      return new Response(`${(err as Error).message}\n`, {
        status,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
  }

  #actions(id: string): ReportAction[] {
    if (this.#mitigations === null) return [];
    const records = STATES.flatMap((s) => this.#mitigations!.ofIncident(id, s))
      .sort((a, b) => a.id - b.id);
    return records.map((r) => ({
      what: describe(r.action),
      state: r.state,
      mode: r.mode,
      backend: r.backend,
      createdMs: r.created_at,
      appliedMs: r.applied_at,
      undoneMs: r.undone_at,
      result: r.result,
    }));
  }
}

/** Size and SHA-256 of the capture at `path` (read in chunks), or why it cannot be read. */
export async function captureFacts(path: string): Promise<ReportCapture> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    const problem = err instanceof Deno.errors.NotFound
      ? "not on disk (deleted by retention, or never written)"
      : (err as Error).message.split("\n")[0];
    return { path, sha256: null, bytes: null, problem };
  }
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    const chunk = new Uint8Array(1 << 20);
    for (;;) {
      const n = await file.read(chunk);
      if (n === null) break;
      hash.update(chunk.subarray(0, n));
      bytes += n;
    }
  } catch (err) {
    return { path, sha256: null, bytes: null, problem: (err as Error).message.split("\n")[0] };
  } finally {
    file.close();
  }
  return { path, sha256: hash.digest("hex"), bytes, problem: null };
}

function describe(action: MitigationAction): string {
  try {
    return describeAction(action);
  } catch {
    return JSON.stringify(action); // a record from another version
  }
}

/** Extra paths of the local listener: a response, or null for "not mine". */
type Routes = (url: URL, request: Request) => Response | Promise<Response> | null;

/** `routes` with `/incidents/<id>/report` answered first by `reports` (when there are). */
export function withReportRoute(
  reports: IncidentReports | null | undefined,
  routes: Routes,
): Routes {
  if (!reports) return routes;
  return (url, request) => reports.route(url, request.method) ?? routes(url, request);
}
