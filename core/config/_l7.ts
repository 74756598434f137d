/**
 * Config keys of the l7 layer: their zod shape (validation and defaults) and their type.
 * `config.ts` merges them into the whole config.
 *
 * @module
 */

import { z } from "zod";

/** Validation and defaults of the l7 keys. */
export const L7Shape = {
  l7_enabled: z.boolean().default(false),
  l7_log_paths: z.array(z.string().min(1)).max(64).default([]),
  l7_log_format: z.enum([
    "auto",
    "combined",
    "common",
    "vhost_combined",
    "json",
    "caddy",
    "haproxy",
  ])
    .default("auto"),
  l7_rps_threshold: z.number().finite().min(1).default(100),
  l7_error_rate_threshold: z.number().finite().min(1).max(100).default(50),
  l7_sensitivity: z.enum(["low", "medium", "high"]).default("medium"),
  l7_min_client_ips: z.number().int().min(1).max(1_000_000).default(3),
  l7_confirm_seconds: z.number().int().min(1).max(600).default(2),
  l7_calm_seconds: z.number().int().min(1).max(3600).default(10),
  l7_cooldown_seconds: z.number().int().min(0).max(86400).default(30),
  // Empty: the web servers' log folders (core/report WEB_LOG_DIRS).
  l7_remote_log_dirs: z.array(z.string().startsWith("/")).max(64).default([]),
} satisfies z.ZodRawShape;

/** The l7 keys, every key present (must match {@linkcode L7Shape}). */
export interface L7Config {
  /** Watch web server access logs for HTTP floods. */
  l7_enabled: boolean;
  /** Access logs to follow; empty: those of the web servers found. */
  l7_log_paths: string[];
  /** Format of the logs, or "auto". */
  l7_log_format: "auto" | "combined" | "common" | "vhost_combined" | "json" | "caddy" | "haproxy";
  /** Requests/s floor under the dynamic threshold. */
  l7_rps_threshold: number;
  /** Error answers in percent of requests that count as a signal. */
  l7_error_rate_threshold: number;
  /** How readily signals fire. */
  l7_sensitivity: "low" | "medium" | "high";
  /** Distinct clients a second needs for an incident to open. */
  l7_min_client_ips: number;
  /** Consecutive suspicious seconds before an incident opens. */
  l7_confirm_seconds: number;
  /** Calm seconds before an incident resolves. */
  l7_calm_seconds: number;
  /** Seconds after a resolve before the next L7 incident may open. */
  l7_cooldown_seconds: number;
  /**
   * Folders an access log pushed by the control plane (`l7.log_path`) may lie in, symlinks
   * resolved; empty: the web servers' log folders (/var/log/nginx, /var/log/apache2, ...).
   */
  l7_remote_log_dirs: string[];
}
