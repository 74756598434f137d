/**
 * Delivers alert messages from the outbox to Slack, Discord, Teams, PagerDuty and the generic
 * webhook: one POST per entry, and the HTTP outcome as a {@linkcode DeliveryResult} (2xx done;
 * 408, 429 and 5xx retried, honouring `Retry-After`; other 4xx permanent; network errors and
 * timeouts retried). The generic webhook is signed when it has a secret:
 *
 * - `X-Ftagent-Timestamp: <unix seconds>`
 * - `X-Ftagent-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`
 * - `X-Ftagent-Delivery: <outbox key>` (the same on every retry: receivers drop repeats)
 *
 * A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in
 * constant time, and refuses a timestamp more than a few minutes from its clock (replays).
 *
 * @module
 */

import type { AlertsConfig } from "../../core/config/mod.ts";
import type { OutboxItem } from "../state/mod.ts";
import type { Deliver, DeliveryResult } from "./sender.ts";
import { readCapped } from "./capped_body.ts";

/** The alert services. */
export type AlertKind = "slack" | "discord" | "teams" | "pagerduty" | "webhook";

/** Every alert service, in the order channels are started. */
export const ALERT_KINDS: readonly AlertKind[] = [
  "slack",
  "discord",
  "teams",
  "pagerduty",
  "webhook",
];

const TIMEOUT_MS = 10_000;
const ERROR_BODY_CHARS = 200;

/** Options of {@linkcode alertDeliver}. */
export interface AlertDeliverOptions {
  /** `User-Agent` header (e.g. `ftagent/0.1.0`). */
  userAgent: string;
  /** Longest wait for one POST (ms, default 10000). */
  timeoutMs?: number;
  /** Wall clock in ms (default Date.now): the signature timestamp and Retry-After dates. */
  now?: () => number;
}

/** The delivery function of one configured alert service (`alerts[kind]` must be set). */
export function alertDeliver(
  kind: AlertKind,
  alerts: AlertsConfig,
  options: AlertDeliverOptions,
): Deliver {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  return async (item: OutboxItem, signal: AbortSignal): Promise<DeliveryResult> => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": options.userAgent,
    };
    let url: string;
    let body = item.body;
    switch (kind) {
      case "pagerduty": {
        const pd = alerts.pagerduty!;
        url = pd.events_url;
        body = { routing_key: pd.routing_key, ...(item.body as Record<string, unknown>) };
        break;
      }
      case "webhook":
        url = alerts.webhook!.url;
        break;
      default:
        url = alerts[kind]!.webhook_url;
    }
    const raw = JSON.stringify(body);
    if (kind === "webhook") {
      const timestamp = String(Math.floor(now() / 1000));
      headers["x-ftagent-timestamp"] = timestamp;
      headers["x-ftagent-delivery"] = item.key;
      const secret = alerts.webhook!.secret;
      if (secret !== "") {
        headers["x-ftagent-signature"] = await webhookSignature(secret, timestamp, raw);
      }
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: raw,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      const reason = (err as Error).name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : (err as Error).message.split("\n")[0];
      return { ok: false, error: `${kind}: ${reason}` };
    }
    return await httpResult(kind, response, now());
  };
}

/** `sha256=<hex>` of HMAC-SHA256 over `"<timestamp>.<raw body>"` with `secret`. */
export async function webhookSignature(
  secret: string,
  timestamp: string,
  rawBody: string,
): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${rawBody}`));
  return "sha256=" + [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Seconds a `Retry-After` value asks to wait (delta seconds or an HTTP date), if readable. */
export function retryAfterSeconds(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = /GMT$/i.test(v) ? Date.parse(v) : NaN; // an HTTP date ends in GMT
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - nowMs) / 1000)) : undefined;
}

async function httpResult(
  kind: AlertKind,
  response: Response,
  nowMs: number,
): Promise<DeliveryResult> {
  let text = "";
  try {
    // Only the start is used (in an error message): a huge answer is not read whole.
    const body = await readCapped(response, 64 * 1024);
    text = (body ?? "(answer over 64 KiB, not read)").slice(0, ERROR_BODY_CHARS)
      .replace(/\s+/g, " ").trim();
  } catch {
    // the body is only for the error message
  }
  const status = response.status;
  if (status >= 200 && status < 300) return { ok: true };
  const error = `${kind}: HTTP ${status}${text === "" ? "" : `: ${text}`}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterS = retryAfterSeconds(response.headers.get("retry-after"), nowMs);
    return retryAfterS === undefined ? { ok: false, error } : { ok: false, error, retryAfterS };
  }
  if (status >= 400) return { ok: false, error, permanent: true };
  return { ok: false, error }; // 1xx/3xx that fetch did not resolve: try again later
}
