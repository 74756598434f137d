/**
 * Retry timing for deliveries to remote services: exponential backoff with jitter (the random
 * source is passed in, so tests are deterministic) and `Retry-After` parsing with a cap, so a
 * hostile or buggy server cannot stall the agent.
 *
 * @module
 */

/** Longest wait a `Retry-After` may impose (seconds). */
export const RETRY_AFTER_CAP_S = 60;

/** Options of {@linkcode backoffMs}. */
export interface BackoffOptions {
  /** Delay of the first retry before jitter (ms, default 1000). */
  baseMs?: number;
  /** Largest delay (ms, default 60000). */
  maxMs?: number;
}

/**
 * Delay before retry number `attempt` (0 for the first retry): `base x 2^attempt`, capped at
 * `maxMs`, of which a random half is jittered away ("equal jitter": between 50% and 100%), so
 * many agents coming back after one outage do not all retry in the same second.
 * `random` returns a number in [0, 1).
 */
export function backoffMs(
  attempt: number,
  random: () => number,
  options: BackoffOptions = {},
): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 60_000;
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const full = Math.min(max, base * 2 ** exp);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(full / 2 + (full / 2) * r);
}

/**
 * Seconds a `Retry-After` header asks to wait (delta seconds or an HTTP date), capped at
 * `capS`; null when absent or unreadable. A date in the past means 0.
 */
export function parseRetryAfter(
  header: string | null | undefined,
  nowMs: number,
  capS: number = RETRY_AFTER_CAP_S,
): number | null {
  if (header === null || header === undefined) return null;
  const text = header.trim();
  if (text === "") return null;
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(text)) seconds = Number(text);
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at) || !/[a-z]/i.test(text)) return null;
    seconds = Math.max(0, (at - nowMs) / 1000);
  }
  if (!Number.isFinite(seconds)) return capS;
  return Math.min(seconds, capS);
}
