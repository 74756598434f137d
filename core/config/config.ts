/**
 * The agent's configuration (`/etc/ftagent/config.json`): every key, its default and its
 * validation. Key names follow the Flowtriq agent's config so an existing file keeps working.
 *
 * @module
 */

import { z } from "zod";
import { type L7Config, L7Shape } from "./_l7.ts";
import { type MitigationConfig, MitigationShape } from "./_mitigation.ts";
import { type ReportingConfig, ReportingShape } from "./_reporting.ts";

const nonNegative = z.number().finite().nonnegative();
const positive = z.number().finite().positive();
const seconds = z.number().finite().min(0.1).max(86400);

/** Detection keys: thresholds, floors, confirmation, hold-down and cooldown. */
const DetectionSchema = z.object({
  /** Thresholds follow the learned baseline (true) or the static `*_threshold` keys (false). */
  dynamic_threshold: z.boolean().default(true),
  /** Span of the rolling baseline, minutes. */
  baseline_window_minutes: z.number().int().min(1).max(1440).default(60),
  /** Threshold = baseline x this (never below the floors). */
  threshold_multiplier: z.number().finite().min(1).max(1000).default(3.0),
  /** Static thresholds, used when `dynamic_threshold` is false (0 = off). */
  pps_threshold: nonNegative.default(0),
  bps_threshold: nonNegative.default(0),
  syn_pps_threshold: nonNegative.default(0),
  udp_pps_threshold: nonNegative.default(0),
  icmp_pps_threshold: nonNegative.default(0),
  fragment_pps_threshold: nonNegative.default(0),
  /** Floors under the dynamic thresholds, and the only thresholds before the baseline is ready (0 = off). */
  min_pps_threshold: nonNegative.default(20000),
  min_bps_threshold: nonNegative.default(200_000_000),
  min_syn_pps_threshold: nonNegative.default(5000),
  min_udp_pps_threshold: nonNegative.default(20000),
  min_icmp_pps_threshold: nonNegative.default(2000),
  min_fragment_pps_threshold: nonNegative.default(2000),
  /** Attack-shaped traffic at or above this multiple of a threshold opens an incident at once. */
  fast_open_multiple: z.number().finite().min(1).max(100).default(3),
  /** Seconds attack-shaped traffic must stay over a threshold (below the fast multiple) to open. */
  confirm_seconds: seconds.default(3),
  /** Seconds traffic shaped like a legitimate bulk transfer must stay over a threshold to open. */
  bulk_confirm_seconds: seconds.default(15),
  /** Seconds under every threshold before an incident resolves. */
  attack_holddown: seconds.default(10),
  /** Seconds after a resolve before a new incident for the same target may open. */
  attack_cooldown: seconds.default(30),
  /** Seconds between incident updates. */
  incident_update_seconds: z.number().finite().min(5).max(3600).default(5),
  /** Destinations tracked individually (a flood on one address of many is caught by its own rates). */
  max_tracked_destinations: z.number().int().min(1).max(1024).default(64),
});

/** The whole config file. Keys not listed here are reported as unknown (typos must not pass silently). */
const ConfigSchema = DetectionSchema.extend({
  api_key: z.string().default(""),
  node_uuid: z.string().default(""),
  api_base: z.string().url().default("https://flowtriq.com/api/v1"),
  interface: z.string().min(1).default("auto"),
  pcap_enabled: z.boolean().default(true),
  pcap_dir: z.string().min(1).default("/var/lib/ftagent/pcaps"),
  pcap_max_packets: z.number().int().min(1).default(10000),
  pcap_max_seconds: positive.default(60),
  pcap_retention_days: positive.default(7),
  /** Seconds of traffic before the onset every incident capture starts with. */
  pcap_pre_seconds: z.number().finite().min(0).max(60).default(5),
  /** Total size of all incident captures (MB): older captures are deleted beyond it. */
  pcap_max_total_mb: positive.default(2048),
  /** Free space (MB) the PCAP directory's disk must keep: below it, PCAP writing stops. */
  pcap_min_free_mb: nonNegative.default(500),
  log_file: z.string().default("/var/log/ftagent.log"),
  log_level: z.enum(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]).default("INFO"),
  heartbeat_interval: positive.default(30),
  metrics_interval: positive.default(10),
  state_dir: z.string().min(1).default("/var/lib/ftagent"),
  ...ReportingShape,
  ...MitigationShape,
  ...L7Shape,
});

/** Detection settings, every key present (meanings: see the schema above). */
export interface DetectionConfig {
  dynamic_threshold: boolean;
  baseline_window_minutes: number;
  threshold_multiplier: number;
  pps_threshold: number;
  bps_threshold: number;
  syn_pps_threshold: number;
  udp_pps_threshold: number;
  icmp_pps_threshold: number;
  fragment_pps_threshold: number;
  min_pps_threshold: number;
  min_bps_threshold: number;
  min_syn_pps_threshold: number;
  min_udp_pps_threshold: number;
  min_icmp_pps_threshold: number;
  min_fragment_pps_threshold: number;
  fast_open_multiple: number;
  confirm_seconds: number;
  bulk_confirm_seconds: number;
  attack_holddown: number;
  attack_cooldown: number;
  incident_update_seconds: number;
  max_tracked_destinations: number;
}

/** The whole validated config, every key present. */
export interface Config extends DetectionConfig, ReportingConfig, MitigationConfig, L7Config {
  api_key: string;
  node_uuid: string;
  api_base: string;
  interface: string;
  pcap_enabled: boolean;
  pcap_dir: string;
  pcap_max_packets: number;
  pcap_max_seconds: number;
  pcap_retention_days: number;
  pcap_pre_seconds: number;
  pcap_max_total_mb: number;
  pcap_min_free_mb: number;
  log_file: string;
  log_level: "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";
  heartbeat_interval: number;
  metrics_interval: number;
  state_dir: string;
}

/** Every key the config file may hold. */
export const CONFIG_KEYS: readonly string[] = Object.keys(ConfigSchema.shape);

// The interfaces above and the schema must describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _sameConfig: Same<Config, z.infer<typeof ConfigSchema>> = true;
void _sameConfig;

/** The result of {@linkcode parseConfig}: the config and warnings (unknown keys). */
export interface ParsedConfig {
  config: Config;
  warnings: string[];
}

/** A config value is wrong: the message names the key, the value and what is expected. */
export class ConfigError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Validates a parsed config file; throws {@linkcode ConfigError} on the first wrong value. */
export function parseConfig(data: unknown): ParsedConfig {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigError("the config must be a JSON object");
  }
  const result = ConfigSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path.join(".");
    const value = issue.path.reduce<unknown>(
      (v, k) => (v as Record<PropertyKey, unknown>)?.[k as PropertyKey],
      data,
    );
    throw new ConfigError(
      `config key "${key}": ${JSON.stringify(value)} is invalid: ${issue.message}`,
    );
  }
  const known = new Set(CONFIG_KEYS);
  const warnings = Object.keys(data)
    .filter((k) => !known.has(k))
    .map((k) => `unknown config key "${k}" ignored (a typo?)`);
  return { config: result.data, warnings };
}

/** The defaults of every key. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

export type { L7Config } from "./_l7.ts";
export type {
  ActionSpec,
  MitigationConfig,
  MitigationMode,
  MitigationRule,
  MitigationSettings,
  PortSpec,
} from "./_mitigation.ts";
export type { ReportingConfig } from "./_reporting.ts";
export type {
  AlertEventKind,
  AlertsConfig,
  ChatAlertConfig,
  PagerDutyAlertConfig,
  StandaloneConfig,
  WebhookAlertConfig,
} from "./_standalone.ts";
