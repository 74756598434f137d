// The questions of `ftagent --setup`: how one is asked (re-asked on a bad answer, up to
// MAX_ATTEMPTS), the answer parsers the wizard and the non-interactive flags share, and the
// questions on the control plane's address, L7 and mitigation.

import type { MitigationMode } from "../core/config/mod.ts";

/** Answers to one question before the wizard gives up. */
export const MAX_ATTEMPTS = 3;

/** `api_base` when the config names none. */
export const DEFAULT_API_BASE = "https://flowtriq.com/api/v1";

/** How the wizard talks: `ask` returns the answer line, `null` when the input ended. */
export interface WizardIO {
  ask(prompt: string): Promise<string | null>;
  say(line: string): void;
}

/** The input ended before the last answer: nothing is written. */
export class SetupCancelled extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SetupCancelled";
  }
}

/** An answer parser: the value, or the reason the answer is not accepted. */
export type Parse<T> = (answer: string) => { value: T } | { error: string };

const API_KEY = /^[A-Za-z0-9._~+/=-]{8,256}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An API key as given (8-256 token characters). */
export function parseApiKey(a: string): { value: string } | { error: string } {
  return API_KEY.test(a)
    ? { value: a }
    : { error: "an API key is 8-256 letters, digits or ._~+/=- without spaces" };
}

/** A node UUID, lower-cased. */
export function parseUuid(a: string): { value: string } | { error: string } {
  return UUID.test(a)
    ? { value: a.toLowerCase() }
    : { error: "a node UUID looks like 123e4567-e89b-12d3-a456-426614174000" };
}

/** An http(s) URL, trailing slashes trimmed. */
export function parseApiBase(a: string): { value: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(a);
  } catch {
    return { error: "the API base is a URL such as https://flowtriq.com/api/v1" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { error: "the API base is an http:// or https:// URL" };
  }
  return { value: a.replace(/\/+$/, "") };
}

/** Asks `prompt` until `parse` accepts the trimmed answer. Throws {@linkcode SetupCancelled}. */
export async function question<T>(io: WizardIO, prompt: string, parse: Parse<T>): Promise<T> {
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

/** A y/n question; Enter gives `current`. */
export function yesNo(io: WizardIO, prompt: string, current: boolean): Promise<boolean> {
  return question<boolean>(io, `${prompt} [${current ? "Y/n" : "y/N"}]: `, (a) => {
    const v = a.toLowerCase();
    if (v === "") return { value: current };
    if (v === "y" || v === "yes") return { value: true };
    if (v === "n" || v === "no") return { value: false };
    return { error: "answer y or n" };
  });
}

/** The API base: Enter keeps `current`. */
export function askApiBase(io: WizardIO, current: string): Promise<string> {
  return question<string>(
    io,
    `Flowtriq API base (Enter: ${current}): `,
    (a) => a === "" ? { value: current } : parseApiBase(a),
  );
}

/** An access log the L7 question offers. */
export interface FoundLog {
  /** The web server that writes it, e.g. "nginx (running)". */
  server: string;
  /** The log's path. */
  path: string;
}

/** The L7 answers: on or off, and the logs to follow (`[]`: the ones found at start). */
export async function askL7(
  io: WizardIO,
  current: { enabled: boolean; paths: string[] },
  found: FoundLog[],
): Promise<{ l7_enabled: boolean; l7_log_paths: string[] }> {
  io.say(
    "L7: the agent reads the web server's access log and detects HTTP floods (request rates, " +
      "error rates, clients).",
  );
  if (found.length === 0) io.say("  no web server access log found on this machine");
  for (const f of found) io.say(`  found: ${f.path} (${f.server})`);
  const enabled = await yesNo(io, "Detect HTTP floods from the access log (L7)?", current.enabled);
  if (!enabled) return { l7_enabled: false, l7_log_paths: current.paths };
  const keep = current.paths.length > 0
    ? current.paths.join(", ")
    : `auto: ${found.length > 0 ? found.map((f) => f.path).join(", ") : "none found now"}`;
  const paths = await question<string[]>(
    io,
    `Access log to follow (Enter: ${keep}; "auto": the logs found at each start; or a path): `,
    (a) => {
      if (a === "") return { value: current.paths };
      if (a.toLowerCase() === "auto") return { value: [] };
      const list = a.split(",").map((p) => p.trim()).filter((p) => p !== "");
      const bad = list.find((p) => !p.startsWith("/"));
      if (bad !== undefined) return { error: `${bad} is not an absolute path` };
      return { value: list };
    },
  );
  if (paths.length === 0 && found.length === 0) {
    io.say("  L7 stays idle until an access log is configured (l7_log_paths) or found at start");
  }
  return { l7_enabled: true, l7_log_paths: paths };
}

/**
 * The mitigation questions: local auto-mitigation (`mitigation.mode`: auto, or the current
 * manual/dry_run kept) and, on a node that reports, the commands the dashboard pushes
 * (`mitigation.server_commands`: apply or dry_run).
 */
export async function askMitigation(
  io: WizardIO,
  current: { mode: MitigationMode; server_commands: "apply" | "dry_run" },
  reporting: boolean,
): Promise<{ mode: MitigationMode; server_commands: "apply" | "dry_run" }> {
  io.say(
    "Local auto-mitigation: when the agent detects an attack it blocks or rate-limits it at " +
      "once with nftables/iptables rules that expire (never your SSH, resolvers or gateway).",
  );
  const local = await yesNo(io, "Turn on local auto-mitigation?", current.mode === "auto");
  const mode = local ? "auto" : current.mode === "auto" ? "dry_run" : current.mode;
  if (!reporting) return { mode, server_commands: current.server_commands };
  io.say(
    "Server-pushed mitigation: the agent runs the firewall commands the Flowtriq dashboard " +
      "sends for this node (rules you approved there), parsed and checked, never through a shell.",
  );
  const server = await yesNo(
    io,
    "Apply server-pushed mitigation?",
    current.server_commands === "apply",
  );
  return { mode, server_commands: server ? "apply" : "dry_run" };
}
