/**
 * JSON-lines access logs, two shapes:
 *
 * - **flat keys**, as nginx `log_format ... escape=json` users write them (`remote_addr`,
 *   `time_iso8601` or `time_local` or `msec`, `request` or `request_method` + `request_uri`,
 *   `status`, `body_bytes_sent`, `http_user_agent`, `request_time`, `server_protocol`...);
 * - **Caddy**: `ts` (epoch seconds), `status`, `size`, `duration` (seconds), and a nested
 *   `request` object with `client_ip` (or `remote_ip`), `method`, `uri`, `proto`, `host` and
 *   `headers` (`User-Agent` as a list).
 *
 * Response times are read in the unit the key declares: `request_time`, `duration`,
 * `response_time`, `upstream_response_time` in seconds; keys ending `_ms` in milliseconds;
 * `_us`/`_usec` in microseconds. The client address is the connection's (`remote_addr`,
 * `client_ip`...), never the Host header.
 *
 * @module
 */

import {
  clearRecord,
  httpVersion,
  type LogRecord,
  parseClfTime,
  type ParseOptions,
  splitRequest,
  splitTarget,
} from "./_log_fields.ts";

type Obj = Record<string, unknown>;

const IP_KEYS = ["remote_addr", "client_ip", "clientip", "remote_ip", "ip", "client", "src_ip"];
const TIME_KEYS = ["time_iso8601", "time_local", "time", "timestamp", "@timestamp", "ts", "msec"];
const UA_KEYS = ["http_user_agent", "user_agent", "ua", "agent", "useragent"];
const REFERER_KEYS = ["http_referer", "referer", "referrer"];
const BYTES_KEYS = ["body_bytes_sent", "bytes_sent", "bytes", "size", "response_size"];
const METHOD_KEYS = ["request_method", "method", "verb"];
const URI_KEYS = ["request_uri", "uri", "url", "path"];
const QUERY_KEYS = ["args", "query_string", "query"];
const PROTO_KEYS = ["server_protocol", "protocol", "proto", "http_version"];
const HOST_KEYS = ["host", "http_host", "server_name", "vhost"];
/** Response time keys and their factor to ms. */
const DURATION_KEYS: [string, number][] = [
  ["request_time", 1000],
  ["duration", 1000],
  ["response_time", 1000],
  ["upstream_response_time", 1000],
  ["request_time_ms", 1],
  ["duration_ms", 1],
  ["response_time_ms", 1],
  ["latency_ms", 1],
  ["request_time_us", 0.001],
  ["duration_us", 0.001],
  ["request_time_usec", 0.001],
];

/** Parses one JSON access log line into `out`; "" or the reason it is rejected. Never throws. */
export function parseJsonLine(line: string, out: LogRecord, options: ParseOptions): string {
  clearRecord(out);
  if (line.charCodeAt(0) !== 123) return "not a JSON object"; // "{"
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return "bad JSON";
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return "not a JSON object";
  const o = obj as Obj;
  const req = o.request;
  if (typeof req === "object" && req !== null && !Array.isArray(req)) {
    return caddy(o, req as Obj, out, options);
  }
  return flat(o, out, options);
}

function caddy(o: Obj, req: Obj, out: LogRecord, options: ParseOptions): string {
  out.clientIp = str(req.client_ip) || str(req.remote_ip) || str(req.remote_addr);
  if (out.clientIp === "") return "no client address";
  out.timeMs = time(o.ts ?? o.time ?? o.timestamp, options);
  if (Number.isNaN(out.timeMs)) return "bad time";
  out.method = str(req.method);
  splitTarget(str(req.uri), out);
  out.protocol = httpVersion(str(req.proto));
  out.host = str(req.host);
  const headers = req.headers;
  if (typeof headers === "object" && headers !== null) {
    out.userAgent = header(headers as Obj, "User-Agent");
    out.referer = header(headers as Obj, "Referer");
  }
  out.status = int(o.status);
  out.bytes = int(o.size);
  out.responseMs = seconds(o.duration) * 1000;
  return "";
}

function flat(o: Obj, out: LogRecord, options: ParseOptions): string {
  out.clientIp = first(o, IP_KEYS);
  if (out.clientIp === "" || out.clientIp === "-") return "no client address";
  out.timeMs = NaN;
  for (const k of TIME_KEYS) {
    if (o[k] !== undefined) {
      out.timeMs = time(o[k], options);
      break;
    }
  }
  if (Number.isNaN(out.timeMs)) return "bad time";
  const request = o.request;
  if (typeof request === "string" && request !== "") {
    splitRequest(request, out);
  } else {
    out.method = first(o, METHOD_KEYS);
    splitTarget(first(o, URI_KEYS), out);
  }
  if (out.query === "") {
    const q = first(o, QUERY_KEYS);
    if (q !== "" && q !== "-") out.query = q;
  }
  const proto = first(o, PROTO_KEYS);
  if (proto !== "") out.protocol = httpVersion(proto) || proto.replace(/^HTTP\//, "");
  out.status = int(o.status ?? o.status_code ?? o.response_code);
  for (const k of BYTES_KEYS) {
    if (o[k] !== undefined) {
      out.bytes = int(o[k]);
      break;
    }
  }
  out.userAgent = dash(first(o, UA_KEYS));
  out.referer = dash(first(o, REFERER_KEYS));
  out.host = first(o, HOST_KEYS);
  for (const [k, toMs] of DURATION_KEYS) {
    if (o[k] !== undefined) {
      const v = seconds(o[k]);
      if (Number.isFinite(v)) {
        out.responseMs = v * toMs;
        break;
      }
    }
  }
  return "";
}

/** The first key of `keys` holding a string or number, as a string ("" when none). */
function first(o: Obj, keys: string[]): string {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "string") return v;
    if (typeof v === "number") return String(v);
  }
  return "";
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function dash(s: string): string {
  return s === "-" ? "" : s;
}

function int(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" ? parseInt(v, 10) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

/** A number or numeric string (nginx logs "0.005"; "-" when there is none): NaN otherwise. */
function seconds(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v !== "" && v !== "-") return parseFloat(v);
  return NaN;
}

/** Caddy headers: `{"User-Agent": ["curl/8"]}` (any case of the name). */
function header(headers: Obj, name: string): string {
  const v = headers[name] ?? headers[name.toLowerCase()];
  if (Array.isArray(v)) return typeof v[0] === "string" ? v[0] : "";
  return typeof v === "string" ? v : "";
}

/**
 * A time value: epoch seconds (number or numeric string, ms when above 1e11), ISO-8601, or
 * CLF (`10/Oct/2000:13:55:36 +0000`); ms since the epoch or NaN.
 */
function time(v: unknown, options: ParseOptions): number {
  if (typeof v === "number") return Number.isFinite(v) ? (v > 1e11 ? v : v * 1000) : NaN;
  if (typeof v !== "string" || v === "") return NaN;
  const c = v.charCodeAt(2);
  if (c === 47) return parseClfTime(v, 0, options.utcOffsetMinutes); // "10/Oct/..."
  if (/^\d+(\.\d+)?$/.test(v)) return time(parseFloat(v), options);
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : NaN;
}
