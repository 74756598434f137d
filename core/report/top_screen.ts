/**
 * `ftagent top`'s screen as text: the rates with a sparkline of the last seconds, the tracked
 * targets, the open incidents and the last events, cut to the terminal's width and height
 * (sane on 80x24), with ANSI colour only when asked. Pure: the document and the size in.
 *
 * @module
 */

import type { DashboardData } from "./dashboard_feed.ts";
import { formatBps, formatPps } from "./human_units.ts";

/** How to draw. */
export interface TopScreenOptions {
  /** Terminal columns. */
  width: number;
  /** Terminal rows. */
  height: number;
  /** ANSI colour (off with NO_COLOR or when not a terminal). */
  color: boolean;
  /** Why the data is stale ("agent not answering"), or null. */
  problem?: string | null;
}

const BARS = "▁▂▃▄▅▆▇█";

/** A sparkline of `values` (the last `width` of them), scaled to their maximum (or `top`). */
export function sparkline(values: readonly number[], width: number, top = 0): string {
  const tail = values.slice(Math.max(0, values.length - Math.max(0, width)));
  const max = Math.max(top, ...tail);
  return tail.map((v) => max > 0 ? BARS[Math.min(7, Math.floor((v / max) * 7.999))] : BARS[0])
    .join("");
}

/** The screen for `data`: exactly `height` lines, none wider than `width`, `q quit` last. */
export function topScreen(data: DashboardData, opts: TopScreenOptions): string[] {
  const width = Math.max(20, opts.width);
  const height = Math.max(8, opts.height);
  const c = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const cut = (s: string) => (visible(s).length > width ? clip(s, width, opts.color) : s);
  const h = data.history;
  const n = h.pps.length;
  const pps = n > 0 ? h.pps[n - 1] : 0;
  const bps = n > 0 ? h.bps[n - 1] : 0;
  const time = new Date(data.nowMs).toISOString().slice(11, 19);
  const health = data.problems.length === 0
    ? c("32", "healthy")
    : c("31;1", `UNHEALTHY: ${data.problems.join("; ")}`);
  const head = `ftagent ${data.version}  ${health}  ${time} UTC  on ${data.source}`;
  const lines = [cut(head)];
  if (opts.problem) lines.push(cut(c("31;1", opts.problem)));
  const thr = (v: number | null | undefined, f: (x: number) => string) =>
    v === null || v === undefined ? "" : ` thr ${f(v)}`;
  const sparkWidth = Math.max(0, width - 34);
  const ppsLabel = `pps   ${formatPps(pps).padEnd(12)}`;
  const bpsLabel = `bit/s ${formatBps(bps).padEnd(12)}`;
  lines.push(
    cut(
      `${ppsLabel}${c("36", sparkline(h.pps, sparkWidth, data.thresholds.pps ?? 0))}` +
        thr(data.thresholds.pps, formatPps),
    ),
    cut(
      `${bpsLabel}${c("36", sparkline(h.bps, sparkWidth, data.thresholds.bps ?? 0))}` +
        thr(data.thresholds.bps, formatBps),
    ),
    cut(
      "      " +
        (["tcp", "udp", "icmp", "other"] as const).map((p) =>
          `${p} ${formatPps(h.ppsBy[p]?.[n - 1] ?? 0)}`
        ).join("  "),
    ),
  );

  // The rest of the screen: targets, open incidents, events, each at least its heading.
  const room = height - lines.length;
  const incidentLines = data.open.flatMap((i) => [
    cut(
      `  ${c("31;1", `${i.family}/${i.subtype}`)} on ${i.target}  peak ${formatPps(i.peakPps)} ` +
        `${formatBps(i.peakBps)}  since ${i.startedAt.slice(11, 19)}`,
    ),
    cut(`    mitigation ${i.mitigation}${i.evidence === "" ? "" : `: ${i.evidence}`}`),
  ]);
  const targetLines = data.targets.map((t) => {
    const state = t.state.padEnd(8);
    return cut(
      `  ${t.target.padEnd(24)} ${t.state === "active" ? c("31;1", state) : state} ` +
        `${formatPps(t.pps).padStart(11)} ${formatBps(t.bps).padStart(13)}` +
        thr(t.thresholds.pps, formatPps),
    );
  });
  const eventLines = data.events.map((e) =>
    cut(`  ${new Date(e.atMs).toISOString().slice(11, 19)} ${e.text}`)
  );
  const sections: [string, string[]][] = [
    [`Open incidents (${data.open.length})`, incidentLines],
    [`Targets (${data.targets.length})`, targetLines],
    ["Last events", eventLines],
  ];
  const budget = share(room - sections.length, sections.map(([, l]) => l.length));
  sections.forEach(([title, body], k) => {
    lines.push(c("1", title));
    const shown = body.slice(0, budget[k]);
    if (shown.length < body.length && shown.length > 0) {
      shown[shown.length - 1] = `  ... ${body.length - shown.length + 1} more`;
    }
    lines.push(...shown);
  });
  const body = lines.slice(0, height - 1);
  while (body.length < height - 1) body.push("");
  return body.concat(cut(c("2", "q quit")));
}

/** Splits `rows` among sections wanting `wants` rows, in order, each getting its turn. */
function share(rows: number, wants: number[]): number[] {
  const got = wants.map(() => 0);
  let left = Math.max(0, rows);
  while (left > 0 && got.some((g, k) => g < wants[k])) {
    for (let k = 0; k < wants.length && left > 0; k++) {
      if (got[k] < wants[k]) {
        got[k]++;
        left--;
      }
    }
  }
  return got;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
// deno-lint-ignore no-control-regex
const ANSI_SPLIT = /(\x1b\[[0-9;]*m)/;

function visible(s: string): string {
  return s.replace(ANSI, "");
}

function clip(s: string, width: number, color: boolean): string {
  let out = "";
  let shown = 0;
  for (const part of s.split(ANSI_SPLIT)) {
    if (part.startsWith("\x1b[")) out += part;
    else {
      const take = [...part].slice(0, width - shown);
      out += take.join("");
      shown += take.length;
    }
  }
  return color ? out + "\x1b[0m" : out;
}
