/**
 * Web server access logs: the record one line becomes, the formats the agent reads, format
 * auto-detection, and {@linkcode LogParser}, which parses a stream of lines into one reused
 * record and counts the lines it rejects by reason. Pure: no I/O, no clock; a bad line never
 * throws.
 *
 * Formats (the parsers live in one module per family):
 * - `combined`, `common`, `vhost_combined`: nginx, Apache, LiteSpeed ({@linkcode ./log_clf.ts});
 * - `json`: JSON lines, flat keys as nginx `escape=json` formats write them, or Caddy's nested
 *   `request` object ({@linkcode ./log_json.ts});
 * - `haproxy`: HAProxy `httplog` lines, plain or behind a syslog prefix
 *   ({@linkcode ./log_haproxy.ts}).
 *
 * @module
 */

import { emptyRecord, type LineParser, type LogRecord, type ParseOptions } from "./_log_fields.ts";
import { parseClf } from "./log_clf.ts";
import { parseHaproxy } from "./log_haproxy.ts";
import { parseJsonLine } from "./log_json.ts";

export type { LineParser, LogRecord, ParseOptions } from "./_log_fields.ts";
export { emptyRecord } from "./_log_fields.ts";

/** Formats a parser can be forced to. */
export const LOG_FORMATS = [
  "combined",
  "common",
  "vhost_combined",
  "json",
  "caddy",
  "haproxy",
] as const;

/** A concrete log format. */
export type LogFormat = typeof LOG_FORMATS[number];

/** A format or `"auto"` (decided from the first parsable line). */
export type LogFormatOption = LogFormat | "auto";

/** The parser of a format family. */
function parserOf(format: LogFormat): LineParser {
  switch (format) {
    case "json":
    case "caddy":
      return parseJsonLine;
    case "haproxy":
      return parseHaproxy;
    default:
      return parseClf;
  }
}

/** Longest line considered (longer lines are rejected as "line too long"). */
export const MAX_LINE_CHARS = 65536;

/**
 * Names the format of a parsed line: for the CLF family, vhost_combined when a vhost was
 * logged, combined when referer and user agent fields follow the request, common otherwise.
 */
function nameOf(family: LogFormat, line: string, r: LogRecord): LogFormat {
  if (family === "json" || family === "caddy") {
    return line.includes('"request":{') ? "caddy" : "json";
  }
  if (family === "haproxy") return "haproxy";
  if (r.host !== "") return "vhost_combined";
  return countQuotes(line) >= 6 ? "combined" : "common";
}

function countQuotes(line: string): number {
  let n = 0;
  for (let i = line.indexOf('"'); i >= 0; i = line.indexOf('"', i + 1)) n++;
  return n;
}

/** Order formats are tried in (JSON lines first: cheap to tell; CLF last: the most lenient). */
const DETECT_ORDER: LogFormat[] = ["json", "haproxy", "combined"];

/** What {@linkcode detectFormat} found. */
export interface DetectedFormat {
  /** The format, or null when no line parsed. */
  format: LogFormat | null;
  /** Lines of the sample that parse with it. */
  matched: number;
  /** Non-empty lines in the sample. */
  lines: number;
}

/** Decides the format of a sample of lines (the first lines of a log): the one most of them parse with. */
export function detectFormat(lines: readonly string[], options?: ParseOptions): DetectedFormat {
  const opts = options ?? { utcOffsetMinutes: 0 };
  const r = emptyRecord();
  let best: LogFormat | null = null;
  let bestCount = 0;
  let total = 0;
  for (const line of lines) if (line.trim() !== "") total++;
  for (const family of DETECT_ORDER) {
    const parse = parserOf(family);
    let count = 0;
    let name: LogFormat | null = null;
    for (const line of lines) {
      if (line.trim() === "" || line.length > MAX_LINE_CHARS) continue;
      if (parse(line, r, opts) === "") {
        count++;
        name ??= nameOf(family, line, r);
      }
    }
    if (count > bestCount) {
      bestCount = count;
      best = name;
    }
  }
  return { format: best, matched: bestCount, lines: total };
}

/**
 * Parses a stream of lines of one log into one reused {@linkcode LogRecord}; counts parsed and
 * rejected lines (by reason). In `"auto"` mode the first line that parses with some format
 * fixes the format for the rest of the stream.
 *
 * @example Requests of an nginx access log line
 * ```ts
 * import { LogParser } from "./mod.ts";
 *
 * const parser = new LogParser("auto");
 * const r = parser.parse(
 *   '198.18.0.7 - - [07/Dec/2026:10:00:00 +0000] "GET /login?u=a HTTP/1.1" 401 12 "-" "curl/8.5"',
 * );
 * if (r === null) console.log("skipped:", parser.lastError);
 * else console.log(r.clientIp, r.method, r.path, r.status, parser.format);
 * ```
 */
export class LogParser {
  /** The record the last successful {@linkcode parse} filled (reused: copy what you keep). */
  readonly record: LogRecord = emptyRecord();
  /** Lines seen, lines parsed. */
  lines = 0;
  /** Lines parsed into a record. */
  parsed = 0;
  /** Rejected lines by reason. */
  readonly rejected: Record<string, number> = {};
  /** Why the last rejected line was rejected. */
  lastError = "";
  #format: LogFormat | null;
  #parse: LineParser | null;
  readonly #options: ParseOptions;

  /** A parser for `format` (`"auto"`: decided by the first parsable line). */
  constructor(format: LogFormatOption = "auto", options?: Partial<ParseOptions>) {
    this.#format = format === "auto" ? null : format;
    this.#parse = this.#format === null ? null : parserOf(this.#format);
    this.#options = { utcOffsetMinutes: options?.utcOffsetMinutes ?? 0 };
  }

  /** The format in use (null while auto-detection has not seen a parsable line). */
  get format(): LogFormat | null {
    return this.#format;
  }

  /** Total rejected lines. */
  get rejectedTotal(): number {
    return this.lines - this.parsed;
  }

  /** Parses one line (without its newline); the record, or null (counted with its reason). */
  parse(line: string): LogRecord | null {
    this.lines++;
    if (line.length > MAX_LINE_CHARS) return this.#reject("line too long");
    if (line.length === 0) return this.#reject("empty line");
    const r = this.record;
    if (this.#parse !== null) {
      const err = this.#parse(line, r, this.#options);
      if (err !== "") return this.#reject(err);
      this.parsed++;
      return r;
    }
    for (const family of DETECT_ORDER) {
      const parse = parserOf(family);
      if (parse(line, r, this.#options) === "") {
        this.#format = nameOf(family, line, r);
        this.#parse = parse;
        this.parsed++;
        return r;
      }
    }
    return this.#reject("unknown format");
  }

  /** Counts `n` lines rejected before parsing (too long, binary) under `reason`. */
  count(reason: string, n = 1): void {
    this.lines += n;
    this.rejected[reason] = (this.rejected[reason] ?? 0) + n;
  }

  #reject(reason: string): null {
    this.lastError = reason;
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    return null;
  }
}
