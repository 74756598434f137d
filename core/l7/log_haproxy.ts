/**
 * HAProxy `option httplog` lines, in a plain file or behind a syslog prefix
 * (`Feb  6 12:14:14 host haproxy[14389]: ` or an RFC 5424 header):
 *
 * ```
 * 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750
 *   - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"
 * ```
 *
 * The client address is the one before the accept date; the response time is the last timer
 * (`Ta`, or `Tt` in old versions), in milliseconds as HAProxy logs it. The accept date has no
 * zone: it is local time at `utcOffsetMinutes`. HAProxy logs no user agent unless a header
 * capture is configured; one captured value that looks like a browser or tool agent is used.
 *
 * @module
 */

import {
  clearRecord,
  type LogRecord,
  parseClfTime,
  type ParseOptions,
  splitRequest,
} from "./_log_fields.ts";

/** Parses one HAProxy httplog line into `out`; "" or the reason it is rejected. Never throws. */
export function parseHaproxy(line: string, out: LogRecord, options: ParseOptions): string {
  clearRecord(out);
  // The accept date: " [dd/Mon/yyyy:" (a syslog "haproxy[123]:" never has "/" there).
  let br = line.indexOf(" [");
  while (br >= 0 && line.charCodeAt(br + 4) !== 47) br = line.indexOf(" [", br + 1);
  if (br < 0) return "no accept date";
  const start = line.lastIndexOf(" ", br - 1) + 1;
  const colon = line.lastIndexOf(":", br);
  if (colon <= start) return "no client address";
  let ip = line.slice(start, colon);
  if (ip.charCodeAt(0) === 91) ip = ip.slice(1, -1); // "[2001:db8::1]:port"
  out.clientIp = ip;
  const close = line.indexOf("] ", br);
  if (close < 0) return "no accept date";
  out.timeMs = parseClfTime(line, br + 2, options.utcOffsetMinutes);
  if (Number.isNaN(out.timeMs)) return "bad time";
  const quote = line.indexOf(' "', close);
  // frontend backend/server timers status bytes ...
  let i = close + 2;
  const fe = line.indexOf(" ", i);
  const be = fe < 0 ? -1 : line.indexOf(" ", fe + 1);
  const tm = be < 0 ? -1 : line.indexOf(" ", be + 1);
  const st = tm < 0 ? -1 : line.indexOf(" ", tm + 1);
  const slash = fe < 0 ? -1 : line.indexOf("/", fe);
  if (st < 0 || slash < 0 || slash > be) return "not an httplog line";
  const timers = line.slice(be + 1, tm);
  const lastSlash = timers.lastIndexOf("/");
  if (lastSlash < 0) return "not an httplog line";
  const total = parseInt(timers.slice(lastSlash + 1).replace("+", ""), 10);
  out.responseMs = total >= 0 ? total : NaN;
  const status = parseInt(line.slice(tm + 1, st), 10);
  if (!(status >= -1 && status <= 999)) return "bad status";
  out.status = status < 0 ? 0 : status;
  i = st + 1;
  const bytesEnd = line.indexOf(" ", i);
  const bytes = parseInt(line.slice(i, bytesEnd < 0 ? line.length : bytesEnd).replace("+", ""), 10);
  out.bytes = bytes >= 0 ? bytes : 0;
  if (quote < 0) return "no request field";
  // Captured headers between "{...}" before the request: a user agent if one looks like it.
  const capture = line.indexOf(" {", st);
  if (capture >= 0 && capture < quote) {
    out.userAgent = capturedAgent(line.slice(capture + 2, quote));
  }
  const reqEnd = line.lastIndexOf('"');
  splitRequest(line.slice(quote + 2, reqEnd > quote + 1 ? reqEnd : line.length), out);
  if (out.path === "<BADREQ>" || out.method === "<BADREQ>") {
    out.method = "";
    out.path = "";
  }
  return "";
}

/** A captured header value that looks like a user agent ("Mozilla/5.0 ...", "curl/8.1"). */
function capturedAgent(block: string): string {
  for (const part of block.replace(/[{}]/g, "|").split("|")) {
    const v = part.trim();
    if (/^[A-Za-z][\w.-]*\/\d/.test(v)) return v;
  }
  return "";
}
