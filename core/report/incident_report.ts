/**
 * The incident report: one self-contained HTML page (inline CSS and SVG, no script, no
 * external URL) that a person can mail to a customer or an upstream provider. What, when and
 * how big (the rate curve with its baseline and threshold, protocol and vector mix, packet
 * sizes, TTLs, top sources and ports, source count and spoofing verdict), why this family (the
 * classifier's evidence), what mitigation did, and the capture's name and SHA-256. Every
 * string from the incident is escaped: DNS names, user agents and paths come from attackers.
 *
 * @module
 */

import { formatBps, formatDuration, formatPps } from "./human_units.ts";
import { escapeHtml as esc, lineChart } from "./svg_chart.ts";
import {
  count,
  distributionSections,
  evidenceSection,
  num,
  sourceSections,
  table,
  utc,
} from "./_report_sections.ts";

/** The stored incident the report is about (the incident store's columns). */
export interface ReportIncident {
  /** The incident's id. */
  id: string;
  /** Attack family. */
  family: string;
  /** Attack subtype. */
  subtype: string;
  /** `"interface"` or the attacked address. */
  target: string;
  /** ISO-8601 start. */
  startedAt: string;
  /** ISO-8601 end, or null while open. */
  endedAt: string | null;
  /** Peak packets per second. */
  peakPps: number;
  /** Peak bits per second. */
  peakBps: number;
  /** Seconds from start to the latest event (or to the end). */
  duration: number;
  /** Open, resolved or interrupted. */
  state: string;
  /** The latest stored event (null when unreadable). */
  event: Record<string, unknown> | null;
}

/** One mitigation action of the incident, as recorded. */
export interface ReportAction {
  /** The action in words ("drop UDP from source port 500 towards 10.0.0.1 for 600 s"). */
  what: string;
  /** Proposed, dry_run, applied, undone, failed or refused. */
  state: string;
  /** The mode it was decided in. */
  mode: string;
  /** The backend that applies it. */
  backend: string;
  /** When it was recorded (ms since the epoch). */
  createdMs: number;
  /** When it was applied, or null. */
  appliedMs: number | null;
  /** When it was undone, or null. */
  undoneMs: number | null;
  /** Error, refusal reason or how it ended. */
  result: string | null;
}

/** The incident's capture file. */
export interface ReportCapture {
  /** Full path. */
  path: string;
  /** SHA-256 of the file (hex), or null when it could not be read. */
  sha256: string | null;
  /** Size in bytes, or null when it could not be read. */
  bytes: number | null;
  /** Why it could not be read ("not on disk"), or null. */
  problem: string | null;
}

/** Everything a report is made of; the time is passed in. */
export interface IncidentReportInput {
  /** The incident. */
  incident: ReportIncident;
  /** Its mitigation actions, oldest first. */
  actions: readonly ReportAction[];
  /** Its capture, or null when PCAP was off. */
  capture: ReportCapture | null;
  /** The host name shown. */
  host: string;
  /** The agent's version. */
  version: string;
  /** When the report is made (ms since the epoch). */
  generatedMs: number;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;
background:#fff}main{max-width:880px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:2px solid
#e4e7ec;padding-bottom:3px}h3{font-size:14px;margin:14px 0 4px}.sub{color:#555;margin:0 0 12px}
table{border-collapse:collapse;width:100%;margin:4px 0}td,th{text-align:left;padding:3px 8px;
border-bottom:1px solid #eef0f3;vertical-align:top}th{font-weight:600;color:#444;width:30%}
.num{text-align:right;font-variant-numeric:tabular-nums}thead th{width:auto}
.evidence{background:#f4f6fa;border-left:4px solid #3b5bdb;padding:8px 12px;margin:8px 0}
.mono,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
svg{display:block;width:100%;height:auto}svg .grid{stroke:#eef0f3}svg .axis{fill:#666;
font-size:11px}svg .label{fill:#1d2330;font-size:12px}svg .series{fill:none;stroke:#c62828;
stroke-width:2}svg .level{stroke-width:1.5;stroke-dasharray:6 4}svg .baseline{stroke:#2f9e44;
fill:#2f9e44}svg .threshold{stroke:#e67700;fill:#e67700}svg .bar{fill:#3b5bdb}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}.empty{color:#888}
.state-open{color:#c62828;font-weight:600}.state-resolved{color:#2f9e44;font-weight:600}
footer{color:#777;font-size:12px;margin-top:30px}@media print{main{padding:0}}`;

/** The report as one HTML document. */
export function incidentReportHtml(input: IncidentReportInput): string {
  const { incident: inc, host } = input;
  const e = inc.event ?? {};
  const what = inc.subtype === inc.family || inc.subtype === "unknown"
    ? inc.family
    : `${inc.family} / ${inc.subtype}`;
  const target = inc.target === "interface" ? "the whole interface" : inc.target;
  const title = `DDoS incident report: ${what} against ${target} on ${host}`;
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">Incident <code>${esc(inc.id)}</code>, ` +
    `<span class="state-${esc(inc.state)}">${esc(inc.state)}</span>.</p>`,
    summarySection(input),
    evidenceSection(e, inc.family),
    rateSection(e),
    distributionSections(e),
    sourceSections(e),
    mitigationSection(input.actions),
    captureSection(input.capture, inc.state === "open"),
    `<footer>Made by ftagent ${esc(input.version)} on ${esc(host)} at ` +
    `${esc(utc(new Date(input.generatedMs).toISOString()))} from its local incident store ` +
    `(<code>ftagent incidents report ${esc(inc.id)}</code>).</footer>`,
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="ftagent-incident" content="${esc(inc.id)}">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><main>
${body.join("\n")}
</main></body></html>
`;
}

function summarySection(input: IncidentReportInput): string {
  const inc = input.incident;
  const e = inc.event ?? {};
  const l7 = typeof e.peak_rps === "number";
  const rows: [string, string][] = [
    [
      "Attack",
      `${inc.family} / ${inc.subtype}` +
      (typeof e.confidence === "number" ? ` (confidence ${e.confidence}%)` : ""),
    ],
    ["Target", inc.target === "interface" ? "the whole interface" : inc.target],
    ["Host", input.host],
    ["Started", utc(inc.startedAt)],
    ["Ended", inc.endedAt === null ? "still open" : utc(inc.endedAt)],
    ["Duration", formatDuration(inc.duration)],
    [
      "Peak",
      l7 ? `${num(e.peak_rps)} requests/s` : `${formatPps(inc.peakPps)}, ${formatBps(inc.peakBps)}`,
    ],
  ];
  if (l7) rows.push(["Baseline", `${num(e.baseline_rps)} requests/s`]);
  else if (typeof e.baseline_pps === "number") {
    rows.push([
      "Baseline",
      e.baseline_pps > 0
        ? `${formatPps(e.baseline_pps)}, ${formatBps(num(e.baseline_bps))}`
        : "not learned yet when it started",
    ]);
  }
  if (typeof e.total_packets === "number" && e.total_packets > 0) {
    rows.push([
      "Traffic",
      `${count(e.total_packets)} packets, ${bytes(num(e.total_bytes))}` +
      (typeof e.avg_pkt_length === "number" ? `, ${e.avg_pkt_length} bytes on average` : ""),
    ]);
  }
  if (typeof e.total_requests === "number") rows.push(["Requests", count(e.total_requests)]);
  if (typeof e.opened_by === "string") rows.push(["Opened by", e.opened_by]);
  const trigger = e.trigger as Record<string, unknown> | undefined;
  if (trigger && typeof trigger === "object") {
    rows.push([
      "Trigger",
      `${trigger.metric} at ${trigger.rate}, threshold ${trigger.threshold}` +
      (typeof trigger.ratio === "number" ? ` (${trigger.ratio}x)` : ""),
    ]);
  }
  if (typeof e.network === "string") rows.push(["Network", e.network]);
  return `<h2>What, when, how big</h2>${table(rows)}`;
}

function rateSection(e: Record<string, unknown>): string {
  const curve = Array.isArray(e.velocity_curve) ? e.velocity_curve : [];
  const l7 = typeof e.peak_rps === "number";
  const points = curve.map((p: Record<string, unknown>) => ({
    t: num(p?.t),
    v: num(l7 ? p?.rps : p?.pps),
  }));
  const thresholds = (e.thresholds ?? {}) as Record<string, unknown>;
  const trigger = (e.trigger ?? {}) as Record<string, unknown>;
  const threshold = l7 ? num(trigger.threshold) : num(thresholds.pps);
  const baseline = l7 ? num(e.baseline_rps) : num(e.baseline_pps);
  const format = l7 ? (v: number) => `${round(v)} rps` : formatPps;
  const unit = l7 ? "requests per second" : "packets per second";
  const chart = lineChart(
    points,
    [
      { label: "baseline", value: baseline, cls: "baseline" },
      { label: "threshold", value: threshold, cls: "threshold" },
    ],
    format,
    `Rate curve (${unit})`,
  );
  return `<h2>Rate over time</h2><p>${esc(unit)}, one point per second (merged on long ` +
    `incidents); dashed: the learned baseline (green) and the detection threshold (orange).</p>` +
    `<figure id="rate-curve">${chart}</figure>`;
}

function mitigationSection(actions: readonly ReportAction[]): string {
  if (actions.length === 0) {
    return `<h2>What mitigation did</h2><p class="empty">No mitigation action was recorded ` +
      `for this incident (mitigation off, or nothing to do).</p>`;
  }
  const rows = actions.map((a) =>
    `<tr><td>${esc(a.what)}</td><td>${esc(a.state)}</td><td>${esc(a.mode)} / ` +
    `${esc(a.backend)}</td><td>${esc(ms(a.appliedMs ?? a.createdMs))}</td>` +
    `<td>${esc(ms(a.undoneMs))}</td><td>${esc(a.result ?? "")}</td></tr>`
  );
  return `<h2>What mitigation did</h2><table id="mitigation"><thead><tr><th>Action</th>` +
    `<th>State</th><th>Mode / backend</th><th>Applied (or proposed)</th><th>Undone</th>` +
    `<th>Result</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function captureSection(c: ReportCapture | null, open: boolean): string {
  if (c === null) {
    return `<h2>Packet capture</h2><p class="empty">None: PCAP evidence was off.</p>`;
  }
  const name = c.path.split("/").pop() ?? c.path;
  const rows: [string, string][] = [["File", name], ["Path on the host", c.path]];
  if (c.bytes !== null) rows.push(["Size", bytes(c.bytes)]);
  rows.push(["SHA-256", c.sha256 ?? `unknown (${c.problem ?? "unreadable"})`]);
  if (open && c.sha256 !== null) {
    rows.push([
      "Note",
      "the incident is open: the capture may still grow; hash of it as it is now",
    ]);
  }
  return `<h2>Packet capture</h2><div id="capture">${table(rows, new Set(["SHA-256"]))}</div>`;
}

function ms(t: number | null): string {
  return t === null ? "" : utc(new Date(t).toISOString());
}

function bytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${count(n)} bytes` : `${v.toFixed(1)} ${units[i]} (${count(n)} bytes)`;
}

function round(v: number): string {
  return v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}
