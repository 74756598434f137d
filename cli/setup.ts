/**
 * `ftagent --setup [--config PATH]`: an interactive wizard that writes the config file. It
 * asks for the API key (empty: standalone), the node UUID, the API base (with a key), the
 * interface (a numbered list of the machine's interfaces, "auto" first), whether to keep
 * incident captures, L7 on/off with the access logs it found, local auto-mitigation and (with a
 * key) server-pushed mitigation, reading one answer per line from stdin (a terminal or a
 * pipe). A bad answer is explained and asked again, up to {@linkcode MAX_ATTEMPTS} times.
 * `--api-key K --node-uuid U` (with `--api-base`, `--interface`) set those keys without
 * asking, as the Python agent's `--setup` did. Every other key of an existing config is kept.
 * The file is written atomically (mode 0600); the end of the input or Ctrl-C before the last
 * answer leaves no file and no temp file behind.
 *
 * @module
 */

import { z } from "zod";
import { ConfigError, type MitigationMode, parseConfig } from "../core/config/mod.ts";
import { chooseInterface, listInterfaces } from "../agent/capture/mod.ts";
import { detectWebServers } from "../agent/l7/mod.ts";
import {
  DEFAULT_CONFIG_PATH,
  LineReader,
  parseConfigJson,
  readConfigText,
  removeTempSync,
  writeConfigAtomic,
} from "../agent/config/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";
import {
  askApiBase,
  askL7,
  askMitigation,
  DEFAULT_API_BASE,
  type FoundLog,
  MAX_ATTEMPTS,
  type Parse,
  parseApiBase,
  parseApiKey,
  parseUuid,
  question,
  SetupCancelled,
  type WizardIO,
  yesNo,
} from "./_setup_questions.ts";

/** Where a config written by the wizard logs: the service's LogsDirectory. */
const SERVICE_LOG_FILE = "/var/log/ftagent/ftagent.log";

/** Usage text of `--setup`. */
export const SETUP_USAGE = `ftagent --setup [--config PATH]
ftagent --setup --api-key KEY --node-uuid UUID [--api-base URL] [--interface IF] [--config PATH]

Asks for the API key (empty: standalone), node UUID, API base, interface, PCAP evidence, L7
(access logs) and mitigation (local auto-mitigation, server-pushed commands), one answer per
line on stdin. With --api-key and --node-uuid it asks nothing and sets those keys (and
--api-base, --interface when given). Either way the config is written atomically with mode
0600 and its other keys are kept.
  --config PATH   file to write (default: ${DEFAULT_CONFIG_PATH})`;

export { MAX_ATTEMPTS, type WizardIO };

/** The interfaces offered, the one "auto" would pick now (`null`: none found), the web logs found. */
export interface InterfaceChoices {
  names: string[];
  auto: string | null;
  /** Access logs of the web servers found (the L7 question shows them). */
  logs?: FoundLog[];
}

/** The answers the wizard collected (the keys it sets in the config). */
export interface SetupAnswers {
  api_key: string;
  node_uuid: string;
  api_base: string;
  interface: string;
  pcap_enabled: boolean;
  l7_enabled: boolean;
  l7_log_paths: string[];
  /** `mitigation.mode` and `mitigation.server_commands`. */
  mitigation: { mode: MitigationMode; server_commands: "apply" | "dry_run" };
}

function mask(secret: string): string {
  return secret.length <= 8 ? "****" : `${secret.slice(0, 4)}...${secret.slice(-4)}`;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function obj(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** The config's mitigation mode and server commands (their defaults when unset). */
function mitigationOf(existing: Record<string, unknown>): SetupAnswers["mitigation"] {
  const m = obj(existing.mitigation);
  return {
    mode: m.mode === "auto" || m.mode === "manual" ? m.mode : "dry_run",
    server_commands: m.server_commands === "dry_run" ? "dry_run" : "apply",
  };
}

/** Asks every question; returns the answers. Throws {@linkcode SetupCancelled}. */
export async function runWizard(
  io: WizardIO,
  existing: Record<string, unknown>,
  choices: InterfaceChoices,
): Promise<SetupAnswers> {
  const fresh = Object.keys(existing).length === 0;
  const currentKey = str(existing.api_key);
  const api_key = await question<string>(
    io,
    `Flowtriq API key (Enter: ${
      currentKey ? `keep ${mask(currentKey)}` : "none, run standalone"
    }; "none": standalone): `,
    (a) => {
      if (a === "") return { value: currentKey };
      if (a.toLowerCase() === "none") return { value: "" };
      return parseApiKey(a);
    },
  );

  const currentUuid = str(existing.node_uuid);
  const node_uuid = await question<string>(
    io,
    `Node UUID (Enter: ${currentUuid ? `keep ${currentUuid}` : "none"}; "none": clear): `,
    (a) => {
      if (a === "") return { value: currentUuid };
      if (a.toLowerCase() === "none") return { value: "" };
      return parseUuid(a);
    },
  );

  const currentBase = str(existing.api_base) || DEFAULT_API_BASE;
  const api_base = api_key === "" ? currentBase : await askApiBase(io, currentBase);
  const options = ["auto", ...choices.names];
  const currentIf = str(existing.interface) || "auto";
  let defaultIndex = options.indexOf(currentIf);
  if (defaultIndex < 0) {
    io.say(`(the config's interface ${currentIf} is not on this machine)`);
    defaultIndex = 0;
  }
  io.say("Interface to watch:");
  options.forEach((name, i) => {
    const note = i === 0
      ? `  (the default-route interface, now ${choices.auto ?? "none found"})`
      : name === choices.auto
      ? "  <- auto picks this"
      : "";
    io.say(`  ${i + 1}) ${name}${note}`);
  });
  const iface = await question<string>(
    io,
    `Number or name [${defaultIndex + 1}: ${options[defaultIndex]}]: `,
    (a) => {
      if (a === "") return { value: options[defaultIndex] };
      if (/^\d+$/.test(a)) {
        const n = Number(a);
        if (n >= 1 && n <= options.length) return { value: options[n - 1] };
        return { error: `choose a number from 1 to ${options.length}` };
      }
      if (options.includes(a)) return { value: a };
      return { error: `${a} is not in the list` };
    },
  );

  const pcap_enabled = await yesNo(
    io,
    "Keep a packet capture of each incident as evidence?",
    existing.pcap_enabled !== false,
  );
  const logs = choices.logs ?? [];
  const l7 = await askL7(io, {
    enabled: typeof existing.l7_enabled === "boolean"
      ? existing.l7_enabled
      : fresh && logs.length > 0,
    paths: Array.isArray(existing.l7_log_paths) ? existing.l7_log_paths.map(String) : [],
  }, logs);
  const mitigation = await askMitigation(io, mitigationOf(existing), api_key !== "");
  return {
    api_key,
    node_uuid,
    api_base,
    interface: iface,
    pcap_enabled,
    ...l7,
    mitigation,
  };
}

/**
 * The config to write: `existing` with the answers. The keys the wizard always asked for are
 * always written; the newer ones (api_base, L7, mitigation) only when the config has them
 * or the answer is not the default, so Enter on every question changes nothing.
 */
export function mergeAnswers(
  existing: Record<string, unknown>,
  answers: Partial<SetupAnswers>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...existing };
  const { mitigation, ...keys } = answers;
  const defaults: Record<string, unknown> = {
    api_base: DEFAULT_API_BASE,
    l7_enabled: false,
    l7_log_paths: [],
  };
  for (const [key, value] of Object.entries(keys)) {
    if (value === undefined) continue;
    const unchangedDefault = key in defaults &&
      JSON.stringify(value) === JSON.stringify(defaults[key]);
    if (key in existing || !unchangedDefault) out[key] = value;
  }
  if (mitigation !== undefined) {
    const section = { ...obj(existing.mitigation) };
    if ("mode" in section || mitigation.mode !== "dry_run") section.mode = mitigation.mode;
    if ("server_commands" in section || mitigation.server_commands !== "apply") {
      section.server_commands = mitigation.server_commands;
    }
    if (Object.keys(section).length > 0) out.mitigation = section;
  }
  return out;
}

/** The existing config at `path` as an object ({} when there is none); throws when unusable. */
async function readExisting(
  path: string,
): Promise<{ data: Record<string, unknown>; warnings: string[] }> {
  try {
    await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { data: {}, warnings: [] };
  }
  let text: string;
  try {
    text = (await readConfigText(path)).text;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}: fix or remove it first`);
  }
  let data: unknown;
  try {
    data = parseConfigJson(path, text);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}: fix or remove it first`);
  }
  try {
    const { warnings } = parseConfig(data);
    return { data: data as Record<string, unknown>, warnings };
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}: fix or remove it first`);
  }
}

const Options = z.object({
  config: z.string().min(1).optional(),
  "api-key": z.string().optional(),
  "node-uuid": z.string().optional(),
  "api-base": z.string().optional(),
  interface: z.string().optional(),
});
type SetupFlags = z.infer<typeof Options>;

/** The answers given as flags (`--api-key K --node-uuid U ...`); null when none was given. */
function flagAnswers(values: SetupFlags): Partial<SetupAnswers> | null {
  const { "api-key": key, "node-uuid": uuid, "api-base": base, interface: iface } = values;
  if ([key, uuid, base, iface].every((v) => v === undefined)) return null;
  if ((key === undefined) !== (uuid === undefined)) {
    throw new UsageError("--setup without questions takes --api-key and --node-uuid together");
  }
  const answers: Partial<SetupAnswers> = {};
  const take = <T>(flag: string, value: string | undefined, parse: Parse<T>): T | undefined => {
    if (value === undefined) return undefined;
    const r = parse(value.trim());
    if ("error" in r) throw new UsageError(`--${flag}: ${r.error}`);
    return r.value;
  };
  answers.api_key = take("api-key", key, parseApiKey);
  answers.node_uuid = take("node-uuid", uuid, parseUuid);
  answers.api_base = take("api-base", base, parseApiBase);
  answers.interface = take("interface", iface, (a) => {
    const names = listInterfaces();
    if (a === "auto" || names.includes(a)) return { value: a };
    return { error: `no interface ${a} on this machine (${["auto", ...names].join(", ")})` };
  });
  return answers;
}

/** The access logs of the web servers on this machine, for the L7 question. */
async function foundLogs(): Promise<FoundLog[]> {
  const servers = await detectWebServers();
  const out: FoundLog[] = [];
  for (const s of [...servers].sort((a, b) => Number(b.running) - Number(a.running))) {
    for (const l of s.logs) {
      if (out.some((o) => o.path === l.path)) continue;
      out.push({ server: `${s.name}${s.running ? ", running" : ""}`, path: l.path });
    }
  }
  return out;
}

/** Writes `merged` to `path` (validated first) and says what it holds. */
async function write(path: string, merged: Record<string, unknown>): Promise<void> {
  const { config } = parseConfig(merged); // The answers are valid; this guards the keys around them.
  await writeConfigAtomic(path, merged);
  console.log(
    `ftagent: wrote ${path}: ${
      config.api_key ? `api_key set, api_base ${config.api_base}` : "standalone (no api_key)"
    }, node_uuid ${config.node_uuid || "none"}, interface ${config.interface}, pcap ${
      config.pcap_enabled ? "on" : "off"
    }, L7 ${
      config.l7_enabled
        ? `on (${
          config.l7_log_paths.length ? config.l7_log_paths.join(", ") : "logs found at start"
        })`
        : "off"
    }, mitigation.mode ${config.mitigation.mode}${
      config.api_key ? `, server commands ${config.mitigation.server_commands}` : ""
    }`,
  );
  console.log(
    `next: ftagent --test --config ${path}; ftagent --install-service; systemctl enable --now ftagent`,
  );
}

/** Runs `--setup`; returns the process exit code. */
export async function setup(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    config: { type: "string" },
    "api-key": { type: "string" },
    "node-uuid": { type: "string" },
    "api-base": { type: "string" },
    interface: { type: "string", short: "i" },
  }, Options);
  if (positionals.length > 0) throw new UsageError(`--setup takes no file: ${positionals[0]}`);
  const path = values.config ?? DEFAULT_CONFIG_PATH;
  const flags = flagAnswers(values);
  const existing = await readExisting(path);
  for (const warning of existing.warnings) console.log(`config warning: ${warning}`);
  // A new config logs where the service may write (ProtectSystem=strict allows only
  // /var/log/ftagent/); an existing config is left as it is.
  const base = Object.keys(existing.data).length === 0
    ? { log_file: SERVICE_LOG_FILE }
    : existing.data;
  if (flags !== null) {
    await write(path, mergeAnswers(base, flags));
    return 0;
  }

  const onSignal = () => {
    removeTempSync(path);
    console.error(`\nftagent: setup cancelled: ${path} not written`);
    Deno.exit(130);
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    const out = new TextEncoder();
    const lines = new LineReader(Deno.stdin);
    const echo = !Deno.stdin.isTerminal();
    const io: WizardIO = {
      ask: async (prompt) => {
        await Deno.stdout.write(out.encode(prompt));
        const answer = await lines.line();
        if (echo) console.log(""); // A piped answer is not echoed: end the prompt's line.
        return answer;
      },
      say: (line) => console.log(line),
    };
    console.log(
      `ftagent setup: writes ${path}${
        Object.keys(existing.data).length ? " (other keys kept)" : ""
      }`,
    );
    let auto: string | null;
    try {
      auto = chooseInterface();
    } catch {
      auto = null;
    }
    let answers: SetupAnswers;
    try {
      answers = await runWizard(io, existing.data, {
        names: listInterfaces(),
        auto,
        logs: await foundLogs(),
      });
    } catch (err) {
      if (!(err instanceof SetupCancelled)) throw err;
      console.error(`ftagent: setup cancelled: ${err.message}; ${path} not written`);
      return 1;
    }
    await write(path, mergeAnswers(base, answers));
    return 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}
