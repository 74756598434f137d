/**
 * Rates, sizes and durations as people read them ("1.24 Mpps", "3.1 Gbit/s", "2m 05s"), for
 * alert messages and command output.
 *
 * @module
 */

const PREFIXES = ["", "k", "M", "G", "T", "P"];

/** `x` with an SI prefix and three significant digits (`1240000` -> "1.24 M"). */
function si(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  let v = Math.abs(x);
  let i = 0;
  while (v >= 999.5 && i < PREFIXES.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = i === 0 && Number.isInteger(v) ? 0 : v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
  return `${x < 0 ? "-" : ""}${v.toFixed(digits)} ${PREFIXES[i]}`;
}

/** Packets per second (`1240000` -> "1.24 Mpps"). */
export function formatPps(pps: number): string {
  return `${si(pps)}pps`;
}

/** Bits per second (`3.1e9` -> "3.10 Gbit/s"). */
export function formatBps(bps: number): string {
  return `${si(bps)}bit/s`;
}

/** Seconds as "45s", "2m 05s", "3h 02m", "2d 04h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}
