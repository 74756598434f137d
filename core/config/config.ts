/**
 * The agent's configuration (`/etc/ftagent/config.json`): every key, its default and its
 * validation. Key names follow the Flowtriq agent's config so an existing file keeps working.
 *
 * @module
 */

import { z } from "zod";
import { type DetectionConfig, DetectionShape } from "./_detection.ts";
import { type FlowConfig, FlowShape } from "./_flow.ts";
import { type GreConfig, GreShape } from "./_gre.ts";
import { type L7Config, L7Shape } from "./_l7.ts";
import { LEGACY_KEYS, translateLegacyKeys } from "./_legacy.ts";
import { type MirrorConfig, mirrorConflict, MirrorShape } from "./_mirror.ts";
import { type PayloadConfig, PayloadShape } from "./_payload.ts";
import { type MitigationConfig, MitigationShape } from "./_mitigation.ts";
import { type ReportingConfig, ReportingShape } from "./_reporting.ts";

const nonNegative = z.number().finite().nonnegative();
const positive = z.number().finite().positive();

/** The whole config file. Keys not listed here are reported as unknown (typos must not pass silently). */
const ConfigSchema = z.object({
  ...DetectionShape,
  api_key: z.string().default(""),
  node_uuid: z.string().default(""),
  api_base: z.string().url().default("https://flowtriq.com/api/v1"),
  interface: z.string().min(1).default("auto"),
  capture_sample_above_pps: z.number().int().min(0).max(1e9).default(100000),
  pcap_enabled: z.boolean().default(true),
  pcap_dir: z.string().min(1).default("/var/lib/ftagent/pcaps"),
  pcap_max_packets: z.number().int().min(1).default(10000),
  pcap_max_seconds: positive.default(60),
  pcap_retention_days: positive.default(7),
  pcap_pre_seconds: z.number().finite().min(0).max(60).default(5),
  pcap_max_total_mb: positive.default(2048),
  pcap_min_free_mb: nonNegative.default(500),
  log_file: z.string().default("/var/log/ftagent.log"),
  log_level: z.enum(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]).default("INFO"),
  heartbeat_interval: positive.default(30),
  metrics_interval: positive.default(10),
  state_dir: z.string().min(1).default("/var/lib/ftagent"),
  auto_update: z.boolean().default(false),
  ...ReportingShape,
  ...MitigationShape,
  ...L7Shape,
  ...FlowShape,
  ...GreShape,
  ...MirrorShape,
  ...PayloadShape,
});

/** The whole validated config, every key present. */
export interface Config
  extends
    DetectionConfig,
    ReportingConfig,
    MitigationConfig,
    L7Config,
    FlowConfig,
    GreConfig,
    MirrorConfig,
    PayloadConfig {
  /** The control plane's API key; empty (default): standalone, nothing is reported. */
  api_key: string;
  /** This node's UUID at the control plane; empty (default): standalone. */
  node_uuid: string;
  /** The control plane's API root (default `https://flowtriq.com/api/v1`). */
  api_base: string;
  /** Interface to capture on; `"auto"` (default): the one carrying the default route. */
  interface: string;
  /**
   * Above this many packets per second, the kernel passes 1 in N packets (N a power of two
   * keeping user space under this rate) and every count is scaled by N; 0: never sample.
   * Default 100000.
   */
  capture_sample_above_pps: number;
  /** Keep a packet capture of every incident (default true). */
  pcap_enabled: boolean;
  /** Directory of the incident captures (default `/var/lib/ftagent/pcaps`). */
  pcap_dir: string;
  /** Frames written to one incident's capture at most (default 10000). */
  pcap_max_packets: number;
  /** Seconds one incident's capture lasts at most (default 60). */
  pcap_max_seconds: number;
  /** Days incident captures are kept (default 7). */
  pcap_retention_days: number;
  /** Seconds of traffic before the onset every incident capture starts with (default 5). */
  pcap_pre_seconds: number;
  /** Total size of all incident captures (MB, default 2048): older ones are deleted beyond it. */
  pcap_max_total_mb: number;
  /** Free space (MB, default 500) the PCAP disk must keep: below it, PCAP writing stops. */
  pcap_min_free_mb: number;
  /** Log file, rotated at 10 MB x 5 (default `/var/log/ftagent.log`; empty: stderr only). */
  log_file: string;
  /** Lowest level logged (default INFO). */
  log_level: "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";
  /** Seconds between heartbeats to the control plane (default 30). */
  heartbeat_interval: number;
  /** Seconds between metrics reports to the control plane (default 10). */
  metrics_interval: number;
  /** Directory of the state database and the learned baselines (default `/var/lib/ftagent`). */
  state_dir: string;
  /**
   * Let the server's `force_update` update this binary (default false): the agent then asks the
   * root-run `ftagent-update.service` to run `ftagent --update --requested` (verified release).
   */
  auto_update: boolean;
}

/** Every key the config file may hold. */
export const CONFIG_KEYS: readonly string[] = Object.keys(ConfigSchema.shape);

// The interfaces above and the schema must describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _sameConfig: Same<Config, z.infer<typeof ConfigSchema>> = true;
void _sameConfig;

/** The result of {@linkcode parseConfig}: the config and warnings (unknown keys). */
export interface ParsedConfig {
  /** The validated config, every key present. */
  config: Config;
  /** One line per key that was ignored (unknown keys: a typo?). */
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
  // The Python agent's keys we have no key for: read onto ours, or noted as not supported.
  const legacy = translateLegacyKeys(data as Record<string, unknown>);
  if (legacy.error !== null) throw new ConfigError(legacy.error);
  const input = legacy.data;
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path.join(".");
    const value = issue.path.reduce<unknown>(
      (v, k) => (v as Record<PropertyKey, unknown>)?.[k as PropertyKey],
      input,
    );
    throw new ConfigError(
      `config key "${key}": ${JSON.stringify(value)} is invalid: ${issue.message}`,
    );
  }
  const mirrorProblem = mirrorConflict(result.data);
  if (mirrorProblem !== null) throw new ConfigError(mirrorProblem);
  const known = new Set([...CONFIG_KEYS, ...LEGACY_KEYS]);
  const warnings = [
    ...legacy.notes,
    ...Object.keys(input)
      .filter((k) => !known.has(k))
      .map((k) => `unknown config key "${k}" ignored (a typo?)`),
  ];
  return { config: result.data, warnings };
}

/** The defaults of every key. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

export type { DetectionConfig } from "./_detection.ts";
export type { FlowConfig } from "./_flow.ts";
export type { GreConfig } from "./_gre.ts";
export type { L7Config } from "./_l7.ts";
export type { MirrorConfig, NetworkConfig, NetworkThresholdsConfig } from "./_mirror.ts";
export type { IocPatternConfig, PayloadConfig } from "./_payload.ts";
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
