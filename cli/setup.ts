/**
 * `ftagent --setup [--config PATH]`: an interactive wizard that writes the config file. It
 * asks for the API key (empty: standalone), the node UUID, the interface (a numbered list of
 * the machine's interfaces, "auto" first) and whether to keep incident captures, reading one
 * answer per line from stdin (a terminal or a pipe). A bad answer is explained and asked
 * again, up to {@linkcode MAX_ATTEMPTS} times. Every other key of an existing config is
 * kept. The file is written atomically (mode 0600); the end of the input or Ctrl-C before
 * the last answer leaves no file and no temp file behind.
 *
 * @module
 */

import { z } from "zod";
import { ConfigError, parseConfig } from "../core/config/mod.ts";
import { chooseInterface, listInterfaces } from "../agent/capture/mod.ts";
import {
  DEFAULT_CONFIG_PATH,
  LineReader,
  parseConfigJson,
  readConfigText,
  removeTempSync,
  writeConfigAtomic,
} from "../agent/config/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";

/** Where a config written by the wizard logs: the service's LogsDirectory. */
const SERVICE_LOG_FILE = "/var/log/ftagent/ftagent.log";

/** Where `--setup` writes without `--config`. */

/** Usage text of `--setup`. */
export const SETUP_USAGE = `ftagent --setup [--config PATH]

Asks for the API key (empty: standalone), node UUID, interface and PCAP evidence, one answer
per line on stdin, and writes the config atomically with mode 0600 (other keys are kept).
  --config PATH   file to write (default: ${DEFAULT_CONFIG_PATH})`;
/** Answers to one question before the wizard gives up. */
export const MAX_ATTEMPTS = 3;

const API_KEY = /^[A-Za-z0-9._~+/=-]{8,256}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How the wizard talks: `ask` returns the answer line, `null` when the input ended. */
export interface WizardIO {
  ask(prompt: string): Promise<string | null>;
  say(line: string): void;
}

/** The interfaces offered, and the one "auto" would pick now (`null`: none found). */
export interface InterfaceChoices {
  names: string[];
  auto: string | null;
}

/** The answers the wizard collected (the keys it sets in the config). */
export interface SetupAnswers {
  api_key: string;
  node_uuid: string;
  interface: string;
  pcap_enabled: boolean;
}

/** The input ended before the last answer: nothing is written. */
class SetupCancelled extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SetupCancelled";
  }
}

/** An answer parser: the value, or the reason the answer is not accepted. */
type Parse<T> = (answer: string) => { value: T } | { error: string };

async function question<T>(io: WizardIO, prompt: string, parse: Parse<T>): Promise<T> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const answer = await io.ask(prompt);
    if (answer === null) throw new SetupCancelled("the input ended before the last answer");
    const result = parse(answer.trim());
    if ("value" in result) return result.value;
    io.say(
      attempt < MAX_ATTEMPTS
        ? `  ${result.error}; try again`
        : `  ${result.error}; giving up after ${MAX_ATTEMPTS} tries`,
    );
  }
  throw new SetupCancelled(`no valid answer after ${MAX_ATTEMPTS} tries`);
}

function mask(secret: string): string {
  return secret.length <= 8 ? "****" : `${secret.slice(0, 4)}...${secret.slice(-4)}`;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Asks every question; returns the answers. Throws {@linkcode SetupCancelled}. */
export async function runWizard(
  io: WizardIO,
  existing: Record<string, unknown>,
  choices: InterfaceChoices,
): Promise<SetupAnswers> {
  const currentKey = str(existing.api_key);
  const api_key = await question<string>(
    io,
    `Flowtriq API key (Enter: ${
      currentKey ? `keep ${mask(currentKey)}` : "none, run standalone"
    }; "none": standalone): `,
    (a) => {
      if (a === "") return { value: currentKey };
      if (a.toLowerCase() === "none") return { value: "" };
      if (API_KEY.test(a)) return { value: a };
      return { error: "an API key is 8-256 letters, digits or ._~+/=- without spaces" };
    },
  );

  const currentUuid = str(existing.node_uuid);
  const node_uuid = await question<string>(
    io,
    `Node UUID (Enter: ${currentUuid ? `keep ${currentUuid}` : "none"}; "none": clear): `,
    (a) => {
      if (a === "") return { value: currentUuid };
      if (a.toLowerCase() === "none") return { value: "" };
      if (UUID.test(a)) return { value: a.toLowerCase() };
      return { error: "a node UUID looks like 123e4567-e89b-12d3-a456-426614174000" };
    },
  );

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

  const currentPcap = existing.pcap_enabled !== false;
  const pcap_enabled = await question<boolean>(
    io,
    `Keep a packet capture of each incident as evidence? [${currentPcap ? "Y/n" : "y/N"}]: `,
    (a) => {
      const v = a.toLowerCase();
      if (v === "") return { value: currentPcap };
      if (v === "y" || v === "yes") return { value: true };
      if (v === "n" || v === "no") return { value: false };
      return { error: "answer y or n" };
    },
  );
  return { api_key, node_uuid, interface: iface, pcap_enabled };
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

const Options = z.object({ config: z.string().min(1).optional() });

/** Runs `--setup`; returns the process exit code. */
export async function setup(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { config: { type: "string" } }, Options);
  if (positionals.length > 0) throw new UsageError(`--setup takes no file: ${positionals[0]}`);
  const path = values.config ?? DEFAULT_CONFIG_PATH;
  const existing = await readExisting(path);
  for (const warning of existing.warnings) console.log(`config warning: ${warning}`);

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
      answers = await runWizard(io, existing.data, { names: listInterfaces(), auto });
    } catch (err) {
      if (!(err instanceof SetupCancelled)) throw err;
      console.error(`ftagent: setup cancelled: ${err.message}; ${path} not written`);
      return 1;
    }
    // A new config logs where the service may write (ProtectSystem=strict allows only
    // /var/log/ftagent/); an existing config is left as it is.
    const fresh = Object.keys(existing.data).length === 0;
    const merged = {
      ...(fresh ? { log_file: SERVICE_LOG_FILE } : {}),
      ...existing.data,
      ...answers,
    };
    parseConfig(merged); // The wizard's answers are valid; this guards the keys around them.
    await writeConfigAtomic(path, merged);
    console.log(
      `ftagent: wrote ${path}: ${
        answers.api_key ? "api_key set" : "standalone (no api_key)"
      }, node_uuid ${answers.node_uuid || "none"}, interface ${answers.interface}, pcap ${
        answers.pcap_enabled ? "on" : "off"
      }`,
    );
    console.log(
      `next: ftagent --test --config ${path}; ftagent --install-service; systemctl enable --now ftagent`,
    );
    return 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}
