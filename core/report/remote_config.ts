/**
 * The `GET /agent/config` response: every key's type validated (a wrong type is reported in
 * one line and that key ignored, the rest still applies), and the detection settings it
 * overrides merged over the local config. Pure.
 *
 * @module
 */

import { z } from "zod";
import type { DetectionConfig, L7Config } from "../config/mod.ts";

const KEYS = {
  suspended: z.boolean(),
  pps_threshold: z.number().finite().nonnegative().nullable(),
  dynamic_threshold: z.boolean(),
  pcap_enabled: z.boolean(),
  ioc_patterns: z.array(z.object({
    pattern: z.string(),
    attack_name: z.string().optional(),
    attack_family: z.string().optional(),
  })),
  ip_blocklist: z.array(z.object({ indicator: z.string() })),
  pending_commands: z.array(z.unknown()),
  attack_holddown: z.number().int().min(3).max(86400),
  attack_cooldown: z.number().finite().min(10).max(86400),
  l7: z.object({
    enabled: z.boolean().optional(),
    action: z.string().nullable().optional(),
    // An absolute path without ".." segments ("" or null: not set).
    log_path: z.string()
      .refine(
        (p) => p === "" || (p.startsWith("/") && !p.split("/").includes("..")),
        "not an absolute path",
      )
      .nullable().optional(),
    // 0 or null: not set (the local value applies), as for pps_threshold.
    rps_threshold: z.number().finite().refine((v) => v === 0 || v >= 1, "not 0 and below 1")
      .nullable().optional(),
    error_rate_threshold: z.number().finite()
      .refine((v) => v === 0 || (v >= 1 && v <= 100), "not 0 and not a percentage in 1..100")
      .nullable().optional(),
    sensitivity: z.enum(["low", "medium", "high"]).nullable().optional(),
  }),
  flow: z.object({
    enabled: z.boolean().optional(),
    protocol: z.string().nullable().optional(),
    port: z.number().int().min(0).max(65535).nullable().optional(),
    sample_rate: z.number().finite().nullable().optional(),
    source_ips: z.array(z.string()).nullable().optional(),
    node_ip: z.string().nullable().optional(),
  }),
  preferred_firewall: z.string().nullable(),
};

/** An indicator of compromise the server asks the agent to look for. */
export interface IocPattern {
  /** The pattern. */
  pattern: string;
  /** The attack it indicates. */
  attack_name?: string;
  /** The family of that attack. */
  attack_family?: string;
}

/** The server's L7 settings (absent, null or 0: the local value applies). */
export interface RemoteL7 {
  /** L7 detection on or off. */
  enabled?: boolean;
  /** What to do on an HTTP flood (not acted on by this agent). */
  action?: string | null;
  /** The access log to follow: absolute, without ".." ("" or null: not set). */
  log_path?: string | null;
  /** Requests/s floor. */
  rps_threshold?: number | null;
  /** Error answers in percent of requests that count as a signal. */
  error_rate_threshold?: number | null;
  /** Detection sensitivity. */
  sensitivity?: "low" | "medium" | "high" | null;
}

/** The server's flow collection settings (validated, not acted on yet). */
export interface RemoteFlow {
  /** Flow collection on or off. */
  enabled?: boolean;
  /** sFlow, NetFlow or IPFIX. */
  protocol?: string | null;
  /** UDP port to listen on. */
  port?: number | null;
  /** Sampling rate of the exporters. */
  sample_rate?: number | null;
  /** Exporters allowed to send. */
  source_ips?: string[] | null;
  /** This node's address as the exporters see it. */
  node_ip?: string | null;
}

/** The validated keys of a config response (only those present and well-typed). */
export interface RemoteConfig {
  /** The node is suspended by the server. */
  suspended?: boolean;
  /** A static pps threshold (truthy: turns the dynamic thresholds off). */
  pps_threshold?: number | null;
  /** Thresholds from the baseline (true) or static. */
  dynamic_threshold?: boolean;
  /** PCAP evidence on or off. */
  pcap_enabled?: boolean;
  /** Patterns to look for. */
  ioc_patterns?: IocPattern[];
  /** Addresses the server lists as bad. */
  ip_blocklist?: { indicator: string }[];
  /** Commands waiting for this node. */
  pending_commands?: unknown[];
  /** Seconds under every threshold before an incident resolves. */
  attack_holddown?: number;
  /** Seconds after a resolve before a new incident on the same target. */
  attack_cooldown?: number;
  /** L7 settings. */
  l7?: RemoteL7;
  /** Flow collection settings. */
  flow?: RemoteFlow;
  /** The firewall the server prefers for mitigation. */
  preferred_firewall?: string | null;
}

// The interface above and the schema must describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _sameRemote: Same<RemoteConfig, { [K in keyof typeof KEYS]?: z.infer<(typeof KEYS)[K]> }> =
  true;
void _sameRemote;

/** A parsed config response, or why the whole response was ignored. */
export type ParsedRemoteConfig =
  | { ok: true; config: RemoteConfig; warnings: string[] }
  | { ok: false; error: string };

/**
 * Validates a config response: not an object means the whole response is ignored; a key of the
 * wrong type is left out with a one-line warning; unknown keys (GRE, hypervisor, mirror, ...)
 * are ignored.
 */
export function parseRemoteConfig(data: unknown): ParsedRemoteConfig {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, error: `config response is not a JSON object (${describe(data)})` };
  }
  const input = data as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  const warnings: string[] = [];
  for (const [key, schema] of Object.entries(KEYS)) {
    if (!(key in input) || input[key] === undefined) continue;
    const r = (schema as z.ZodType).safeParse(input[key]);
    if (r.success) config[key] = r.data;
    else {
      const issue = r.error.issues[0];
      const where = issue.path.length > 0 ? `.${issue.path.join(".")}` : "";
      warnings.push(
        `remote config key "${key}${where}" ignored: ${
          describe(input[key])
        } is invalid (${issue.message})`,
      );
    }
  }
  return { ok: true, config: config as RemoteConfig, warnings };
}

/** The settings a config response may override. */
export type RemoteTunable =
  & DetectionConfig
  & { pcap_enabled: boolean }
  & Pick<
    L7Config,
    | "l7_enabled"
    | "l7_log_paths"
    | "l7_rps_threshold"
    | "l7_error_rate_threshold"
    | "l7_sensitivity"
  >;

/**
 * The local config with the server's overrides: `pps_threshold` when truthy sets a static pps
 * threshold (and turns the dynamic thresholds off), `dynamic_threshold`, `attack_holddown`,
 * `attack_cooldown` and `pcap_enabled` replace the local values; `l7` sets `l7_enabled`,
 * `l7_log_paths` (a non-empty `log_path`; otherwise the local paths stay), `l7_rps_threshold`,
 * `l7_error_rate_threshold` and `l7_sensitivity` (absent, null or 0: the local value stays).
 * Always applied over the local config, so a key the server stops sending falls back to the
 * file's value.
 */
export function applyRemoteConfig<T extends RemoteTunable>(local: T, remote: RemoteConfig): T {
  const out: T = { ...local };
  if (remote.dynamic_threshold !== undefined) out.dynamic_threshold = remote.dynamic_threshold;
  if (remote.pps_threshold) {
    out.pps_threshold = remote.pps_threshold;
    out.dynamic_threshold = false;
  }
  if (remote.attack_holddown !== undefined) out.attack_holddown = remote.attack_holddown;
  if (remote.attack_cooldown !== undefined) out.attack_cooldown = remote.attack_cooldown;
  if (remote.pcap_enabled !== undefined) out.pcap_enabled = remote.pcap_enabled;
  const l7 = remote.l7;
  if (l7 !== undefined) {
    if (l7.enabled !== undefined) out.l7_enabled = l7.enabled;
    if (l7.log_path) out.l7_log_paths = [l7.log_path];
    if (l7.rps_threshold) out.l7_rps_threshold = l7.rps_threshold;
    if (l7.error_rate_threshold) out.l7_error_rate_threshold = l7.error_rate_threshold;
    if (l7.sensitivity) out.l7_sensitivity = l7.sensitivity;
  }
  return out;
}

/** The keys whose values differ between two configs (to log what a response changed). */
export function changedKeys<T extends object>(a: T, b: T): string[] {
  // Lists (l7_log_paths) are compared by value: a response repeating them changes nothing.
  const same = (x: unknown, y: unknown) =>
    x === y || (Array.isArray(x) && Array.isArray(y) && x.length === y.length &&
      x.every((v, i) => v === y[i]));
  return (Object.keys(b) as (keyof T)[])
    .filter((k) => !same(a[k], b[k]))
    .map(String);
}

/**
 * The id of a pending command of either shape (`{id, command_type, command_text, title}` or
 * `{id, action, ...}`), or null when it has no integer id (it cannot be acknowledged).
 */
export function commandId(command: unknown): number | null {
  if (typeof command !== "object" || command === null || Array.isArray(command)) return null;
  const id = (command as { id?: unknown }).id;
  return typeof id === "number" && Number.isSafeInteger(id) ? id : null;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
