/**
 * The Common Log Format family, as nginx, Apache and LiteSpeed write it:
 *
 * - `common`: `%h %l %u %t "%r" %>s %b`
 * - `combined`: common + ` "%{Referer}i" "%{User-Agent}i"`
 * - `vhost_combined` (Apache's `other_vhosts_access.log`): `%v:%p ` + combined
 *
 * One parser reads all three (a vhost prefix is a fourth token before the time). Fields some
 * set-ups append after the user agent are ignored, except a response time logged as
 * `rt=SECONDS` or `request_time=SECONDS` (nginx `$request_time`) or `us=MICROSECONDS`
 * (Apache `%D`).
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

/** Parses one CLF-family line into `out`; "" or the reason it is rejected. Never throws. */
export function parseClf(line: string, out: LogRecord, options: ParseOptions): string {
  clearRecord(out);
  const br = line.indexOf(" [");
  if (br <= 0) return "no [time] field";
  // Tokens before the time: ip ident user, or vhost:port ip ident user.
  const s1 = line.indexOf(" ");
  const s2 = s1 < br ? line.indexOf(" ", s1 + 1) : -1;
  if (s2 < 0 || s2 > br) return "too few fields before the time";
  const s3 = line.indexOf(" ", s2 + 1);
  if (s3 >= 0 && s3 < br) {
    // Four tokens: a vhost ("example.com:443") comes first.
    const vhost = line.slice(0, s1);
    const colon = vhost.lastIndexOf(":");
    out.host = colon > 0 ? vhost.slice(0, colon) : vhost;
    out.clientIp = line.slice(s1 + 1, s2);
  } else {
    out.clientIp = line.slice(0, s1);
  }
  if (out.clientIp === "" || out.clientIp === "-") return "no client address";
  const close = line.indexOf("]", br + 2);
  if (close < 0) return "no [time] field";
  out.timeMs = parseClfTime(line, br + 2, options.utcOffsetMinutes);
  if (Number.isNaN(out.timeMs)) return "bad time";
  if (line.charCodeAt(close + 1) !== 32 || line.charCodeAt(close + 2) !== 34) {
    return "no request field";
  }
  const reqEnd = closingQuote(line, close + 3);
  if (reqEnd < 0) return "unterminated request field";
  splitRequest(line.slice(close + 3, reqEnd), out);
  // Status and bytes.
  let i = reqEnd + 1;
  if (line.charCodeAt(i) !== 32) return "no status";
  i++;
  let status = 0;
  let n = 0;
  for (; i < line.length; i++, n++) {
    const c = line.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    status = status * 10 + c;
  }
  if (n === 0 && line.charCodeAt(i) === 45) i++; // "-"
  else if (n === 0 || n > 3) return "bad status";
  out.status = status;
  if (line.charCodeAt(i) === 32) {
    i++;
    let bytes = 0;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      bytes = bytes * 10 + c;
    }
    if (line.charCodeAt(i) === 45) i++;
    out.bytes = bytes;
  }
  if (i >= line.length) return "";
  if (line.charCodeAt(i) !== 32) return "bad bytes";
  // Combined: "referer" "user agent".
  if (line.charCodeAt(i + 1) === 34) {
    const refEnd = closingQuote(line, i + 2);
    if (refEnd < 0) return "unterminated referer field";
    out.referer = dash(line.slice(i + 2, refEnd));
    i = refEnd + 1;
    if (line.charCodeAt(i) === 32 && line.charCodeAt(i + 1) === 34) {
      const uaEnd = closingQuote(line, i + 2);
      if (uaEnd < 0) return "unterminated user-agent field";
      out.userAgent = dash(line.slice(i + 2, uaEnd));
      i = uaEnd + 1;
    }
  }
  if (i < line.length) out.responseMs = trailingTime(line, i);
  return "";
}

/** "-" means absent. */
function dash(s: string): string {
  return s === "-" ? "" : s;
}

/**
 * Index of the quote closing a field that starts at `from`: a `"` not escaped by a backslash
 * (Apache writes `\"`, nginx `\x22`), followed by a space or the end of the line.
 */
function closingQuote(line: string, from: number): number {
  let j = line.indexOf('"', from);
  while (j >= 0) {
    let backslashes = 0;
    for (let k = j - 1; k >= from && line.charCodeAt(k) === 92; k--) backslashes++;
    const next = line.charCodeAt(j + 1);
    if (backslashes % 2 === 0 && (j + 1 === line.length || next === 32)) return j;
    j = line.indexOf('"', j + 1);
  }
  return -1;
}

/** A response time among the fields after the user agent (ms), or NaN. */
function trailingTime(line: string, from: number): number {
  if (line.indexOf("=", from) < 0) return NaN;
  for (const [key, toMs] of TIME_KEYS) {
    const at = line.indexOf(key, from);
    if (at < 0) continue;
    const v = parseFloat(line.slice(at + key.length, at + key.length + 24));
    if (Number.isFinite(v)) return v * toMs;
  }
  return NaN;
}

const TIME_KEYS: [string, number][] = [
  [" rt=", 1000],
  [" request_time=", 1000],
  [" us=", 0.001],
];
