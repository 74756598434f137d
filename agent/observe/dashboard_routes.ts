/**
 * The dashboard's paths on the local endpoint: `/` and `/dashboard` (the page),
 * `/dashboard.json?since=T` (the data; history samples after packet time T only) and
 * `/incidents/<id>/pcap` (the incident's capture, found by its id in `pcap_dir`, never by a
 * path taken from the URL). `/incidents/<id>/report` is left to the report's route.
 *
 * @module
 */

import type { DashboardData } from "../../core/report/mod.ts";
import { DASHBOARD_HTML } from "./_dashboard_page.ts";
import type { Routes } from "./metrics_server.ts";

/** An incident id as the detector makes them (UUID-like: hex and dashes). */
const ID = /^[0-9a-f][0-9a-f-]{7,63}$/i;

/** What the routes read. */
export interface DashboardSource {
  /** The document, with history samples after packet time `sinceT`. */
  data(sinceT: number): DashboardData;
  /** The directory incident captures are written to (null: PCAP off). */
  pcapDir: string | null;
  /** Whether an incident with exactly this id is known (open or in the store). */
  known(id: string): boolean;
}

/** The dashboard's routes for the metrics server. */
export function dashboardRoutes(source: DashboardSource): Routes {
  const page = new TextEncoder().encode(DASHBOARD_HTML);
  return (url, request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const path = url.pathname;
    if (path === "/" || path === "/dashboard") {
      return new Response(page, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "content-security-policy":
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
            "connect-src 'self'; img-src 'self'",
          "x-content-type-options": "nosniff",
        },
      });
    }
    if (path === "/dashboard.json") {
      const since = Number(url.searchParams.get("since") ?? "-1");
      return Response.json(source.data(Number.isFinite(since) ? since : -1), {
        headers: { "cache-control": "no-store" },
      });
    }
    const pcap = /^\/incidents\/([^/]+)\/pcap$/.exec(path);
    if (pcap !== null) return pcapResponse(source, decodeURIComponent(pcap[1]));
    return null;
  };
}

async function pcapResponse(source: DashboardSource, id: string): Promise<Response> {
  if (!ID.test(id)) return text("not an incident id\n", 400);
  if (source.pcapDir === null) return text("PCAP evidence is off (pcap_enabled)\n", 404);
  if (!source.known(id)) return text("no such incident\n", 404);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${source.pcapDir}/${id}.pcap`, { read: true });
  } catch (err) {
    return err instanceof Deno.errors.NotFound
      ? text("no capture for this incident (pruned, or none recorded)\n", 404)
      : text(`cannot read the capture: ${(err as Error).message.split("\n")[0]}\n`, 500);
  }
  const size = (await file.stat()).size;
  return new Response(file.readable, {
    headers: {
      "content-type": "application/vnd.tcpdump.pcap",
      "content-length": String(size),
      "content-disposition": `attachment; filename="${id}.pcap"`,
    },
  });
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
