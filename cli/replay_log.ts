/**
 * `ftagent replay-log FILE`: runs L7 detection over an existing web server access log
 * (forensics, tuning) and prints one line per second of the log's own time, the incidents,
 * and a summary, through exactly the detector the agent runs on live logs.
 *
 * @module
 */

import { z } from "zod";
import {
  detectFormat,
  L7Detector,
  type L7Verdict,
  type L7WindowStats,
  LineSplitter,
  LOG_FORMATS,
  type LogFormat,
  LogParser,
} from "../core/l7/mod.ts";
import type { IncidentEvent } from "../core/detect/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";
import { offlineConfig } from "./_config.ts";

/** Usage text of `replay-log`. */
export const REPLAY_LOG_USAGE = `ftagent replay-log FILE [--format F] [--json] [--config PATH]

Runs HTTP flood (L7) detection over a web server access log and prints one line per second of
the log's time, the incidents, then a summary.
  --format F      ${["auto", ...LOG_FORMATS].join(", ")} (default auto: from the first lines)
  --json          JSON lines: {"type":"window",...} per second, {"type":"incident",...} per
                  incident event, {"type":"summary",...} last
  --config PATH   l7_* thresholds and timings from a config file (default: built-in defaults)`;

const Options = z.object({
  json: z.boolean().default(false),
  config: z.string().min(1).optional(),
  format: z.enum(["auto", ...LOG_FORMATS]).default("auto"),
});

const CHUNK = 1 << 20;
const SNIFF_BYTES = 64 * 1024;

/** Runs `replay-log`; returns the process exit code. */
export async function replayLog(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    json: { type: "boolean" },
    config: { type: "string" },
    format: { type: "string" },
  }, Options);
  if (positionals.length !== 1) throw new UsageError("replay-log takes exactly one log file");
  const path = positionals[0];
  const config = await offlineConfig(values.config);
  const out = new Output(values.json);
  let incidents = 0;
  const detector = new L7Detector(config, {
    onEvent: (event) => {
      if (event.event === "open") incidents++;
      out.incident(event);
    },
    onWindow: (stats, verdict, threshold) => out.window(stats, verdict, threshold),
  });
  const utcOffsetMinutes = -new Date().getTimezoneOffset();
  const format = values.format === "auto"
    ? (await sniffFormat(path, utcOffsetMinutes)) ?? "auto"
    : values.format;
  const parser = new LogParser(format, { utcOffsetMinutes });
  const splitter = new LineSplitter();
  let firstMs = NaN;
  const onLine = (line: string) => {
    const r = parser.parse(line);
    if (r === null) return;
    if (Number.isNaN(firstMs)) firstMs = r.timeMs;
    detector.add(r);
  };
  const started = performance.now();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      splitter.push(buf.subarray(0, n), onLine);
    }
    splitter.flush(onLine);
  } finally {
    file.close();
  }
  const lastSec = detector.second;
  detector.finish();
  if (splitter.tooLong > 0) parser.count("line too long", splitter.tooLong);
  if (splitter.binary > 0) parser.count("binary data", splitter.binary);
  const elapsed = (performance.now() - started) / 1000;
  out.summary({
    lines: parser.lines,
    parsed: parser.parsed,
    rejected: parser.rejectedTotal,
    rejected_by_reason: parser.rejected,
    format: parser.format ?? "unknown",
    seconds: Number.isNaN(firstMs) ? 0 : Math.max(0, lastSec + 1 - Math.floor(firstMs / 1000)),
    windows: detector.windows,
    incidents,
    lines_per_s: Math.round(parser.lines / Math.max(elapsed, 1e-6)),
  });
  if (parser.lines > 0 && parser.parsed === 0) {
    throw new Error(
      `no line of ${path} parsed as ${
        values.format === "auto" ? "any known format" : values.format
      }` +
        ` (first reason: ${Object.keys(parser.rejected)[0] ?? "none"})`,
    );
  }
  return 0;
}

/** The format most of the first lines of `path` parse with (null: none, or unreadable). */
async function sniffFormat(path: string, utcOffsetMinutes: number): Promise<LogFormat | null> {
  let head: Uint8Array;
  try {
    using file = await Deno.open(path);
    head = new Uint8Array(SNIFF_BYTES);
    const n = await file.read(head);
    head = head.subarray(0, n ?? 0);
  } catch {
    return null;
  }
  const lines = new TextDecoder().decode(head).split("\n").slice(0, 64);
  if (lines.length > 1) lines.pop(); // maybe cut
  return detectFormat(lines, { utcOffsetMinutes }).format;
}

/** Window, incident and summary lines, as JSON lines or a table. */
class Output {
  readonly #json: boolean;
  readonly #encoder = new TextEncoder();
  #rows = 0;

  constructor(json: boolean) {
    this.#json = json;
  }

  window(s: L7WindowStats, v: L7Verdict, threshold: number): void {
    if (this.#json) {
      this.#write(JSON.stringify({
        type: "window",
        ...s,
        threshold,
        signals: v.signals,
        suspicious: v.suspicious,
      }));
      return;
    }
    if (this.#rows++ % 40 === 0) this.#write(HEADER);
    const ip = s.top_ips[0];
    const path = s.top_paths[0];
    this.#write([
      new Date(s.t * 1000).toISOString().slice(0, 19).replace("T", " ").padEnd(20),
      String(s.rps).padStart(8),
      String(s.unique_ips).padStart(6),
      `${s.error_rate.toFixed(1)}`.padStart(6),
      ("  " + (ip ? `${ip.ip} (${ip.count})` : "-")).padEnd(30),
      (path ? `${path.path.slice(0, 28)} (${path.count})` : "-").padEnd(36),
      v.signals.map((g) => g.name).join(",") || "-",
    ].join(" "));
  }

  incident(e: IncidentEvent): void {
    if (this.#json) {
      this.#write(JSON.stringify(e));
      return;
    }
    const evidence = e.evidence as { summary?: string } | null;
    const parts = [
      `INCIDENT ${e.event.toUpperCase()}`,
      String(e.detected_at).slice(0, 19).replace("T", " "),
      `${e.attack_family}/${e.attack_subtype}`,
      `peak ${e.peak_rps} rps`,
      `confidence ${e.confidence}`,
    ];
    if (e.event === "open") parts.push(`(${e.opened_by})`);
    if (e.event === "resolve") parts.push(`after ${e.duration_seconds} s`);
    if (evidence?.summary) parts.push(`- ${evidence.summary}`);
    this.#write(parts.join("  "));
    this.#rows = 0;
  }

  summary(s: Record<string, unknown>): void {
    if (this.#json) {
      this.#write(JSON.stringify({ type: "summary", ...s }));
      return;
    }
    this.#write(
      Object.entries(s).map(([k, v]) =>
        `${k.replaceAll("_", " ")} ${typeof v === "object" ? JSON.stringify(v) : v}`
      ).join("  "),
    );
  }

  #write(line: string): void {
    Deno.stdout.writeSync(this.#encoder.encode(line + "\n"));
  }
}

const HEADER = [
  "time (UTC)".padEnd(20),
  "rps".padStart(8),
  "ips".padStart(6),
  "err%".padStart(6),
  "  top client".padEnd(30),
  "top path".padEnd(36),
  "signals",
].join(" ");
