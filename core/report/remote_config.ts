/**
 * The `GET /agent/config` response: every key's type and range validated (a wrong or
 * out-of-range value is reported in one line and that key refused, the rest still applies),
 * and the detection settings it overrides merged over the local config. Pure.
 *
 * Pushed values are untrusted: a number outside its range would switch detection off (a
 * `pps_threshold` of 1e308) or make every second an attack, so each has a bound:
 *
 * | key | accepted |
 * |---|---|
 * | `pps_threshold` | 0 or null (not set), else 100 .. 100,000,000 packets/s |
 * | `attack_holddown` | integer 3 .. 3600 s |
 * | `attack_cooldown` | 10 .. 3600 s |
 * | `l7.rps_threshold` | 0 or null (not set), else 10 .. 10,000,000 requests/s |
 * | `l7.error_rate_threshold` | 0 or null (not set), else 1 .. 100 % |
 * | `l7.log_path` | absolute, no `..`, at most 4096 chars; the agent then resolves symlinks and accepts it only under a web server's log folder ({@linkcode WEB_LOG_DIRS}) |
 * | `flow.protocol` | `auto`, `sflow`, `netflow_v5`, `netflow_v9`, `ipfix` (null: not set) |
 * | `flow.port` | integer 1 .. 65535 |
 * | `flow.sample_rate` | integer 1 .. 1,000,000 |
 * | `flow.node_ip` | an IP address |
 * | `ioc_patterns` | at most 1000, pattern 1 .. 512 chars, names at most 128 chars |
 * | `ip_blocklist` | at most 50,000 indicators of at most 64 chars; each an address or CIDR, others left out with one line ({@linkcode IpBlocklist}) |
 * | `velocity_detection` | a boolean |
 * | `gre_mode` | `auto`, `enabled`, `disabled`, or a boolean (true: `enabled`) |
 * | `flow.source_ips` | at most 1024 IP addresses |
 * | other strings | at most 64 chars (`preferred_firewall` 32) |
 *
 * `l7` and `flow` are judged key by key (`l7.log_path` refused, `l7.enabled` still applies).
 * {@linkcode keepRefused} keeps the previous accepted value of each refused key.
 *
 * @module
 */

import { z } from "zod";
import type { DetectionConfig, FlowConfig, GreConfig, L7Config } from "../config/mod.ts";
import { isAddress } from "../packet/mod.ts";

/** 0 or null means "not set"; otherwise a finite number in `min .. max`. */
function unsetOrRange(min: number, max: number) {
  return z.number().finite()
    .refine((v) => v === 0 || (v >= min && v <= max), `not 0 and outside ${min}..${max}`)
    .nullable();
}

const text = (max: number) => z.string().max(max);

const L7_KEYS = {
  enabled: z.boolean(),
  action: text(64).nullable(),
  // An absolute path without ".." segments ("" or null: not set); where it may point is
  // judged by the agent after resolving symlinks (see WEB_LOG_DIRS).
  log_path: z.string().max(4096)
    .refine(
      (p) =>
        p === "" ||
        (p.startsWith("/") && !p.includes("\0") && !p.split("/").includes("..")),
      "not an absolute path without ..",
    )
    .nullable(),
  rps_threshold: unsetOrRange(10, 10_000_000),
  error_rate_threshold: unsetOrRange(1, 100),
  sensitivity: z.enum(["low", "medium", "high"]).nullable(),
};

const address = text(64).refine(isAddress, "not an IP address");

const FLOW_KEYS = {
  enabled: z.boolean(),
  protocol: z.enum(["auto", "sflow", "netflow_v5", "netflow_v9", "ipfix"]).nullable(),
  port: z.number().int().min(1).max(65535).nullable(),
  sample_rate: z.number().int().min(1).max(1_000_000).nullable(),
  source_ips: z.array(address).max(1024).nullable(),
  node_ip: address.nullable(),
};

const KEYS = {
  suspended: z.boolean(),
  pps_threshold: unsetOrRange(100, 100_000_000),
  dynamic_threshold: z.boolean(),
  pcap_enabled: z.boolean(),
  ioc_patterns: z.array(z.object({
    pattern: z.string().min(1).max(512),
    attack_name: text(128).optional(),
    attack_family: text(128).optional(),
  })).max(1000),
  // Checked by hand: zod's per-element parse of 50,000 objects holds the event loop ~300 ms.
  ip_blocklist: z.custom<{ indicator: string }[]>(
    (v) => Array.isArray(v) && v.length <= 50_000 && v.every(isIndicator),
    "not a list of at most 50,000 {indicator} of at most 64 chars",
  ),
  pending_commands: z.array(z.unknown()),
  attack_holddown: z.number().int().min(3).max(3600),
  attack_cooldown: z.number().finite().min(10).max(3600),
  l7: z.object(partial(L7_KEYS)),
  flow: z.object(partial(FLOW_KEYS)),
  preferred_firewall: text(32).nullable(),
  force_update: z.boolean(),
  velocity_detection: z.boolean(),
  gre_mode: z.union([z.enum(["auto", "enabled", "disabled"]), z.boolean()]),
};

function isIndicator(e: unknown): boolean {
  const i = (e as { indicator?: unknown } | null)?.indicator;
  return typeof e === "object" && typeof i === "string" && i.length <= 64;
}

function partial<T extends Record<string, z.ZodType>>(
  shape: T,
): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(
    Object.entries(shape).map(([k, v]) => [k, v.optional()]),
  ) as { [K in keyof T]: z.ZodOptional<T[K]> };
}

/**
 * Folders a pushed `l7.log_path` may point into (after symlinks and `..` are resolved): the
 * log folders of the web servers the agent knows (see `agent/l7/web_servers.ts`). An entry
 * ending in `*` matches names that start with it (`/var/log/haproxy*`: `/var/log/haproxy.log`,
 * `/var/log/haproxy/access.log`).
 */
export const WEB_LOG_DIRS: readonly string[] = [
  "/var/log/nginx",
  "/var/log/apache2",
  "/var/log/httpd",
  "/var/log/caddy",
  "/var/log/haproxy*",
  "/var/log/lsws",
  "/var/log/litespeed",
  "/usr/local/lsws/logs",
];

/**
 * True when `resolved` (absolute, symlinks and `..` already resolved) lies inside one of
 * `dirs` (the folder itself does not count), see {@linkcode WEB_LOG_DIRS}.
 */
export function inLogDirs(resolved: string, dirs: readonly string[] = WEB_LOG_DIRS): boolean {
  const parts = resolved.split("/");
  if (!resolved.startsWith("/") || parts.includes("..") || parts.includes(".")) return false;
  return dirs.some((d) => {
    const prefix = d.endsWith("*") ? d.slice(0, -1) : d.replace(/\/+$/, "") + "/";
    return resolved.length > prefix.length && resolved.startsWith(prefix);
  });
}

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
  /**
   * The access log to follow: absolute, without ".." ("" or null: not set); the agent takes it
   * only inside a web server's log folder, symlinks resolved ({@linkcode inLogDirs}).
   */
  log_path?: string | null;
  /** Requests/s floor. */
  rps_threshold?: number | null;
  /** Error answers in percent of requests that count as a signal. */
  error_rate_threshold?: number | null;
  /** Detection sensitivity. */
  sensitivity?: "low" | "medium" | "high" | null;
}

/** The server's flow collection settings (applied over the `flow_*` keys). */
export interface RemoteFlow {
  /** Flow collection on or off (the capture source is chosen at start). */
  enabled?: boolean;
  /** sFlow, NetFlow or IPFIX. */
  protocol?: FlowConfig["flow_protocol"] | null;
  /** UDP port to listen on. */
  port?: number | null;
  /** Sampling rate of the exporters. */
  sample_rate?: number | null;
  /** Exporters allowed to send. */
  source_ips?: string[] | null;
  /** This node's address as the exporters see it (validated and logged, not acted on). */
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
  /** The server asks the agent to update itself (acted on only with the config's `auto_update`). */
  force_update?: boolean;
  /** The ramp trigger on or off (over the local `velocity_detection`). */
  velocity_detection?: boolean;
  /** GRE stripping (over the local `gre_mode`; true: `enabled`, false: `disabled`). */
  gre_mode?: "auto" | "enabled" | "disabled" | boolean;
}

// The interface above and the schema must describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _sameRemote: Same<RemoteConfig, { [K in keyof typeof KEYS]?: z.infer<(typeof KEYS)[K]> }> =
  true;
void _sameRemote;

/** A key of a config response refused (wrong type or out of range), and why, in one line. */
export interface RefusedKey {
  /** The key: `pps_threshold`, `l7` (not an object), `l7.log_path`, ... */
  key: string;
  /** One line naming the key, the value and the rule it broke. */
  message: string;
}

/** A parsed config response, or why the whole response was ignored. */
export type ParsedRemoteConfig =
  | { ok: true; config: RemoteConfig; refused: RefusedKey[]; warnings: string[] }
  | { ok: false; error: string };

/** The nested keys judged one by one. */
const NESTED: Record<string, Record<string, z.ZodType>> = { l7: L7_KEYS, flow: FLOW_KEYS };

/**
 * Validates a config response: not an object means the whole response is ignored; a key of the
 * wrong type or out of its range is left out and named in `refused` (its one-line message also
 * in `warnings`); `l7` and `flow` are judged key by key; unknown keys (GRE, hypervisor,
 * mirror, ...) are ignored.
 */
export function parseRemoteConfig(data: unknown): ParsedRemoteConfig {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, error: `config response is not a JSON object (${describe(data)})` };
  }
  const input = data as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  const refused: RefusedKey[] = [];
  const judge = (key: string, schema: z.ZodType, value: unknown): unknown => {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const where = issue.path.length > 0 ? `.${issue.path.join(".")}` : "";
    refused.push({
      key,
      message: `remote config key "${key}${where}" ignored: ${
        describe(value)
      } is invalid (${issue.message})`,
    });
    return undefined;
  };
  for (const [key, schema] of Object.entries(KEYS)) {
    const value = input[key];
    if (value === undefined) continue;
    const nested = NESTED[key];
    if (
      nested === undefined || typeof value !== "object" || value === null || Array.isArray(value)
    ) {
      const v = judge(key, schema as z.ZodType, value);
      if (v !== undefined) config[key] = v;
      continue;
    }
    const out: Record<string, unknown> = {};
    for (const [sub, subSchema] of Object.entries(nested)) {
      const sv = (value as Record<string, unknown>)[sub];
      if (sv === undefined) continue;
      const v = judge(`${key}.${sub}`, subSchema, sv);
      if (v !== undefined) out[sub] = v;
    }
    config[key] = out;
  }
  return {
    ok: true,
    config: config as RemoteConfig,
    refused,
    warnings: refused.map((r) => r.message),
  };
}

/**
 * `next` with each refused key (see {@linkcode RefusedKey}) set back to its value in
 * `previous` (the last accepted config), or left out when `previous` had none: a refused
 * value never changes what applies. `pending_commands` is never carried over.
 */
export function keepRefused(
  previous: RemoteConfig,
  next: RemoteConfig,
  refused: readonly string[],
): RemoteConfig {
  const out: Record<string, unknown> = { ...next };
  const prev = previous as Record<string, unknown>;
  for (const key of refused) {
    const [top, sub] = key.split(".", 2);
    if (top === "pending_commands") continue;
    if (sub === undefined) {
      if (prev[top] === undefined) delete out[top];
      else out[top] = prev[top];
      continue;
    }
    const before = (prev[top] ?? {}) as Record<string, unknown>;
    const nested = { ...((out[top] ?? {}) as Record<string, unknown>) };
    if (before[sub] === undefined) delete nested[sub];
    else nested[sub] = before[sub];
    out[top] = nested;
  }
  return out as RemoteConfig;
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
  >
  & Pick<
    FlowConfig,
    "flow_enabled" | "flow_protocol" | "flow_port" | "flow_sample_rate" | "flow_source_ips"
  >
  & GreConfig;

/**
 * The local config with the server's overrides: `pps_threshold` when truthy sets a static pps
 * threshold (and turns the dynamic thresholds off), `dynamic_threshold`, `attack_holddown`,
 * `attack_cooldown` and `pcap_enabled` replace the local values; `l7` sets `l7_enabled`,
 * `l7_log_paths` (a non-empty `log_path`; otherwise the local paths stay), `l7_rps_threshold`,
 * `l7_error_rate_threshold` and `l7_sensitivity` (absent, null or 0: the local value stays);
 * `flow` sets `flow_enabled`, `flow_protocol`, `flow_port`, `flow_sample_rate` and
 * `flow_source_ips` (absent or null: the local value stays); `velocity_detection` and
 * `gre_mode` (a boolean: `enabled` or `disabled`) replace the local values; `ip_blocklist` is
 * added to the local list.
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
  const flow = remote.flow;
  if (flow !== undefined) {
    if (flow.enabled !== undefined) out.flow_enabled = flow.enabled;
    if (flow.protocol) out.flow_protocol = flow.protocol;
    if (flow.port) out.flow_port = flow.port;
    if (flow.sample_rate) out.flow_sample_rate = flow.sample_rate;
    if (flow.source_ips) out.flow_source_ips = [...flow.source_ips];
  }
  if (remote.velocity_detection !== undefined) out.velocity_detection = remote.velocity_detection;
  if (remote.gre_mode !== undefined) {
    const g = remote.gre_mode;
    out.gre_mode = g === true ? "enabled" : g === false ? "disabled" : g;
  }
  if (remote.ip_blocklist !== undefined && remote.ip_blocklist.length > 0) {
    out.ip_blocklist = [...local.ip_blocklist, ...remote.ip_blocklist.map((x) => x.indicator)];
  }
  return out;
}

/** A setting's value for the log: JSON, a list of more than 8 as its length ("[50000 entries]"). */
export function settingText(v: unknown): string {
  return Array.isArray(v) && v.length > 8 ? `[${v.length} entries]` : JSON.stringify(v);
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
