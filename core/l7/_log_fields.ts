// The record an access log line becomes and the field helpers the format parsers share
// (time, request line, HTTP version). Private to access_log.ts and its parsers.

/** One request as an access log line tells it (fields a format lacks are "" / NaN / 0). */
export interface LogRecord {
  /** When the request was logged, ms since the epoch (the log's own time). */
  timeMs: number;
  /** The client address as the server saw it (never the Host header). */
  clientIp: string;
  /** Request method ("" when the request line was not HTTP). */
  method: string;
  /** Path without the query string ("" when unknown). */
  path: string;
  /** Query string without the "?" ("" when none). */
  query: string;
  /** HTTP version: "1.0", "1.1", "2", "3" ("" when unknown). */
  protocol: string;
  /** Status code (0 when unknown; 499: client closed the request). */
  status: number;
  /** Response bytes (0 when unknown). */
  bytes: number;
  /** User-Agent header ("" when not logged or "-"). */
  userAgent: string;
  /** Referer header ("" when not logged or "-"). */
  referer: string;
  /** Time to serve the request in ms (NaN when the format does not log it). */
  responseMs: number;
  /** Virtual host when logged ("" otherwise). */
  host: string;
}

/** Options the parsers share. */
export interface ParseOptions {
  /** Offset (minutes) of the local time of formats without a zone (HAProxy). */
  utcOffsetMinutes: number;
}

/**
 * A parser of one format family: fills `out` and returns "" on success, else a short reason
 * ("bad time", "not JSON"...). Never throws.
 */
export type LineParser = (line: string, out: LogRecord, options: ParseOptions) => string;

/** An empty record (reused by {@linkcode LogParser}; the parsers overwrite every field). */
export function emptyRecord(): LogRecord {
  return {
    timeMs: NaN,
    clientIp: "",
    method: "",
    path: "",
    query: "",
    protocol: "",
    status: 0,
    bytes: 0,
    userAgent: "",
    referer: "",
    responseMs: NaN,
    host: "",
  };
}

/** Resets every field of `r` (the parsers call it first). */
export function clearRecord(r: LogRecord): void {
  r.timeMs = NaN;
  r.clientIp = "";
  r.method = "";
  r.path = "";
  r.query = "";
  r.protocol = "";
  r.status = 0;
  r.bytes = 0;
  r.userAgent = "";
  r.referer = "";
  r.responseMs = NaN;
  r.host = "";
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(at + i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses a CLF time `10/Oct/2000:13:55:36 -0700` (optional `.mmm` fraction after the seconds,
 * optional zone) starting at `at`; ms since the epoch, or NaN. Without a zone the time is
 * local time at `utcOffsetMinutes`.
 */
export function parseClfTime(s: string, at: number, utcOffsetMinutes: number): number {
  if (s.length < at + 20 || s.charCodeAt(at + 2) !== 47 || s.charCodeAt(at + 6) !== 47) return NaN;
  const day = digits(s, at, 2);
  const mon = MONTHS.indexOf(s.substr(at + 3, 3));
  const year = digits(s, at + 7, 4);
  const hh = digits(s, at + 12, 2);
  const mm = digits(s, at + 15, 2);
  const ss = digits(s, at + 18, 2);
  if (mon < 0 || mon % 3 !== 0 || !(day >= 1 && hh <= 23 && mm <= 59 && ss <= 60)) return NaN;
  let i = at + 20;
  let frac = 0;
  if (s.charCodeAt(i) === 46) { // "."
    let scale = 100;
    i++;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      frac += c * scale;
      scale /= 10;
    }
  }
  let offset = utcOffsetMinutes;
  if (s.charCodeAt(i) === 32 && (s.charCodeAt(i + 1) === 43 || s.charCodeAt(i + 1) === 45)) {
    const zh = digits(s, i + 2, 2);
    const zm = digits(s, i + 4, 2);
    if (Number.isNaN(zh) || Number.isNaN(zm)) return NaN;
    offset = (s.charCodeAt(i + 1) === 45 ? -1 : 1) * (zh * 60 + zm);
  }
  return Date.UTC(year, mon / 3, day, hh, mm, ss) + frac - offset * 60_000;
}

/** "HTTP/1.1" -> "1.1", "HTTP/2.0" -> "2", "HTTP/3" -> "3"; "" when not HTTP. */
export function httpVersion(s: string): string {
  if (!s.startsWith("HTTP/")) return "";
  switch (s.charCodeAt(5)) {
    case 49: // 1
      return s.charCodeAt(7) === 48 ? "1.0" : "1.1";
    case 50:
      return "2";
    case 51:
      return "3";
    case 48:
      return "0.9";
    default:
      return "";
  }
}

/**
 * Splits a request line `GET /a?b HTTP/1.1` into `out`'s method, path, query and protocol.
 * Anything else (a TLS handshake on a plain port, "-") leaves them empty: still a request.
 */
export function splitRequest(req: string, out: LogRecord): void {
  const sp1 = req.indexOf(" ");
  if (sp1 <= 0) return;
  const sp2 = req.lastIndexOf(" ");
  out.method = req.slice(0, sp1);
  const target = sp2 > sp1 ? req.slice(sp1 + 1, sp2) : req.slice(sp1 + 1);
  if (sp2 > sp1) out.protocol = httpVersion(req.slice(sp2 + 1));
  splitTarget(target, out);
}

/** Splits a request target into path and query. */
export function splitTarget(target: string, out: LogRecord): void {
  const q = target.indexOf("?");
  if (q < 0) {
    out.path = target;
  } else {
    out.path = target.slice(0, q);
    out.query = target.slice(q + 1);
  }
}
