/**
 * Config keys of the standalone reporting parts: the local incident store, the agent's own
 * alerts (Slack, Discord, Teams, PagerDuty, a generic webhook) and the metrics endpoint.
 * `_reporting.ts` merges them into the reporting keys.
 *
 * @module
 */

import { z } from "zod";

/** Incident events an alert channel may be sent. */
export type AlertEventKind = "open" | "update" | "resolve";

const events = z.array(z.enum(["open", "update", "resolve"])).min(1)
  .default(["open", "resolve"]);
const url = z.string().url();

/** A Slack, Discord or Microsoft Teams incoming webhook. */
export interface ChatAlertConfig {
  /** The incoming webhook's URL. */
  webhook_url: string;
  /** Which incident events alert (default open and resolve). */
  events: AlertEventKind[];
}

/** PagerDuty Events API v2: trigger on open, resolve on resolve, dedup key = incident id. */
export interface PagerDutyAlertConfig {
  /** The integration's routing key. */
  routing_key: string;
  /** The Events API endpoint (default `https://events.pagerduty.com/v2/enqueue`). */
  events_url: string;
  /** Severity of the triggered alerts (default critical). */
  severity: "critical" | "error" | "warning" | "info";
  /** Which incident events alert (default open and resolve). */
  events: AlertEventKind[];
}

/** A generic JSON webhook, HMAC-SHA256 signed when `secret` is set. */
export interface WebhookAlertConfig {
  /** Where the alerts are POSTed. */
  url: string;
  /** HMAC-SHA256 key of the `X-Ftagent-Signature` header ("" = unsigned). */
  secret: string;
  /** Which incident events alert (default open and resolve). */
  events: AlertEventKind[];
}

/** Alert channels; a missing one is off. */
export interface AlertsConfig {
  /** Name of this host in messages ("" = the system host name). */
  host_name: string;
  /**
   * Public URL the local listener's reports are reachable under (a reverse proxy); alerts link
   * `<report_base_url>/incidents/<id>/report`. "" = alerts name `ftagent incidents report <id>`.
   */
  report_base_url: string;
  /** A Slack incoming webhook. */
  slack?: ChatAlertConfig;
  /** A Discord webhook. */
  discord?: ChatAlertConfig;
  /** A Microsoft Teams workflow webhook. */
  teams?: ChatAlertConfig;
  /** PagerDuty Events API v2. */
  pagerduty?: PagerDutyAlertConfig;
  /** A generic JSON webhook. */
  webhook?: WebhookAlertConfig;
}

const chat = z.strictObject({ webhook_url: url, events });

const AlertsSchema = z.strictObject({
  host_name: z.string().default(""),
  report_base_url: z.union([z.literal(""), url.regex(/^https?:\/\//i, "an http(s) URL")])
    .default("").transform((u) => u.replace(/\/+$/, "")),
  slack: chat.optional(),
  discord: chat.optional(),
  teams: chat.optional(),
  pagerduty: z.strictObject({
    routing_key: z.string().min(1),
    events_url: url.default("https://events.pagerduty.com/v2/enqueue"),
    severity: z.enum(["critical", "error", "warning", "info"]).default("critical"),
    events,
  }).optional(),
  webhook: z.strictObject({ url, secret: z.string().default(""), events }).optional(),
});

/** Validation and defaults of the standalone keys. */
export const StandaloneShape = {
  incident_retention_days: z.number().finite().positive().max(36500).default(90),
  metrics_port: z.number().int().min(0).max(65535)
    .refine((p) => p !== 9100, "9100 belongs to node_exporter").default(9847),
  metrics_address: z.union([z.ipv4(), z.ipv6()]).default("127.0.0.1"),
  dashboard_token: z.string().regex(/^[\x21-\x7e]*$/, "printable ASCII, no spaces").default(""),
  alerts: AlertsSchema.default({ host_name: "", report_base_url: "" }),
} satisfies z.ZodRawShape;

/** The standalone keys, every key present (must match {@linkcode StandaloneShape}). */
export interface StandaloneConfig {
  /** Days incidents are kept in the local store. */
  incident_retention_days: number;
  /** Port of the local metrics endpoint on 127.0.0.1 (0 = off; never 9100, node_exporter's). */
  metrics_port: number;
  /** Address the endpoint binds (default 127.0.0.1; another needs `dashboard_token`). */
  metrics_address: string;
  /** Token the endpoint asks for (`?token=` or `Authorization: Bearer`) off loopback. */
  dashboard_token: string;
  /** The agent's own alerts (channels left out are off). */
  alerts: AlertsConfig;
}
