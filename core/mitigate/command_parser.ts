/**
 * Server commands (`pending_commands` of the Flowtriq API) into typed actions. The text is
 * untrusted and would run as root, so it is never run: it is read as a few known firewall
 * sentences and turned into typed {@linkcode CommandOp}s (add an action, or undo one the
 * server added), or refused whole with the reason.
 *
 * Accepted, one sentence per line (tokens separated by spaces; only letters, digits and
 * `. _ : / , = -` are allowed, so shell metacharacters are refused before anything else):
 * - `iptables|ip6tables [-t filter|raw] -I|-A|-D INPUT|FORWARD|PREROUTING [N]` with `-s`, `-d`,
 *   `-p`, `--sport`/`--dport` (N or A:B), `--syn`, `-f`, `-m tcp|udp|comment|limit|hashlimit|
 *   conntrack|state|length`, `--limit R/s --limit-burst B`, `--hashlimit-above|-upto R/s`
 *   (`-burst`, `-mode srcip|dstip`, `-name`), `--ctstate S,...`, `--length A:B`, `-j DROP` or
 *   `-j REJECT [--reject-with ...]`; `-D` undoes the same rule added earlier by the server;
 * - `nft add|insert|delete rule ip|ip6|inet TABLE CHAIN` with `ip|ip6 saddr|daddr A`,
 *   `tcp|udp sport|dport P`, `meta l4proto P`, `meta length A-B`, `ct state S`,
 *   `limit rate [over] N/second [burst B packets]`, ending in `drop` or `reject` (the rule goes
 *   into the agent's own table whatever table it names);
 * - `sysctl [-w] KEY=VALUE` for the keys and ranges of {@linkcode SAFE_SYSCTLS};
 * - `ipset create NAME hash:ip|hash:net [family inet|inet6] [timeout N]`, `ipset add|del NAME
 *   ADDRESS [timeout N]`, `ipset destroy NAME` (the set `x_NAME` in the agent's table; an add to
 *   a set the server did not create is a source drop in the agent's own set, as before);
 * - `nft add|delete element inet ftagent src4|src6|x_NAME { ADDRESS [timeout Ns] }`;
 * - `ip [-4|-6] route add blackhole SRC` (a source drop);
 * - several lines (a playbook): every line is read first, and one refused line refuses all;
 * - command_type `xdp`: a JSON rule spec (see _xdp_command.ts);
 * - `{id, action: "iptables_block"|"iptables_unblock", source_ip, protocol, duration}`.
 *
 * Everything else (flushes, policies, ACCEPT, chains, other sysctl keys, files, the default
 * route, rate 0, rules that would drop all traffic, allowlisted or too-wide sources) is refused.
 *
 * @module
 */

import type { Allowlist } from "./allowlist.ts";
import { canonicalCidr, PROTOCOL_NUMBERS } from "../packet/mod.ts";
import { MAX_TTL_S, type MitigationAction, validateAction } from "./action.ts";
import { address, count, Refusal, refuse } from "./_command_words.ts";
import { readIptables, readNft, type ReadRule } from "./_firewall_command.ts";
import { matchActions } from "./_rule_match.ts";
import { readXdp } from "./_xdp_command.ts";
import { SAFE_SYSCTLS, sysctlRefusal } from "./safe_sysctl.ts";
import { SERVER_SET_NAME } from "./server_set.ts";

/** One step of a command: add an action, or undo the same action the server added earlier. */
export interface CommandOp {
  /** True: undo (`-D`, `nft delete rule`, `iptables_unblock`, xdp `remove`). */
  undo: boolean;
  /** The action (for an undo, its key finds what to undo). */
  action: MitigationAction;
  /** The command line it came from (1-based). */
  line: number;
}

/** A parsed command: its steps, or the reason it was refused. */
export type ParsedCommand =
  | { ok: true; id: number | null; ops: CommandOp[] }
  | { ok: false; id: number | null; reason: string };

/** What the parser needs besides the command. */
export interface CommandParseOptions {
  /** Time-to-live of actions whose command gives none (seconds). */
  ttlS: number;
  /** Sources that may never be blocked. */
  allowlist: Allowlist;
}

/** Longest line read. */
export const MAX_COMMAND_LENGTH = 512;
/** Most lines of a playbook. */
export const MAX_PLAYBOOK_LINES = 64;

const SAFE_TEXT = /^[A-Za-z0-9 ._:/,={}-]*$/;

/** Parses one server command (any JSON value) into its steps or a refusal. */
export function parseServerCommand(command: unknown, options: CommandParseOptions): ParsedCommand {
  const obj = typeof command === "object" && command !== null && !Array.isArray(command)
    ? command as Record<string, unknown>
    : null;
  const id = obj !== null && Number.isSafeInteger(obj.id) && (obj.id as number) >= 0
    ? obj.id as number
    : null;
  try {
    if (obj === null) refuse("a command must be an object");
    if (id === null) refuse("a command needs an integer id");
    let ops: CommandOp[];
    if (obj.action === "iptables_block" || obj.action === "iptables_unblock") {
      ops = [{
        undo: obj.action === "iptables_unblock",
        action: blockShape(obj, options),
        line: 1,
      }];
    } else if (obj.action !== undefined) {
      refuse(`unknown command action ${JSON.stringify(obj.action).slice(0, 40)}`);
    } else if (obj.command_type === "xdp") {
      if (typeof obj.command_text !== "string") refuse("command_text must be a string");
      if (obj.command_text.length > 4 * MAX_COMMAND_LENGTH) refuse("xdp rule spec is too long");
      const x = readXdp(obj.command_text, MAX_TTL_S);
      ops = ruleOps(x, 1, x.duration ?? options.ttlS);
    } else {
      ops = textShape(obj.command_text, options);
    }
    const many = new Set(ops.map((o) => o.line)).size > 1;
    for (const op of ops) {
      const at = many ? `line ${op.line}: ` : "";
      const err = validateAction(op.action);
      if (err !== null) refuse(`${at}${err}`);
      const a = op.action;
      const source = a.type === "drop_source" || a.type === "cloudflare_rule"
        ? a.source
        : a.type === "server_rule"
        ? a.source
        : a.type === "set_element"
        ? a.element
        : null;
      const why = source === null || op.undo ? null : options.allowlist.protects(source);
      if (why !== null) refuse(`${at}${why}`);
    }
    return { ok: true, id, ops };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, id, reason: err.message };
    throw err;
  }
}

function ruleOps(r: ReadRule, line: number, ttl: number): CommandOp[] {
  return matchActions(r.match, ttl).map((action) => ({ undo: r.undo, action, line }));
}

function blockShape(obj: Record<string, unknown>, options: CommandParseOptions): MitigationAction {
  if (typeof obj.source_ip !== "string") refuse(`${obj.action} needs source_ip`);
  const source = canonicalCidr(obj.source_ip);
  if (source === null) refuse(`invalid source_ip ${JSON.stringify(obj.source_ip).slice(0, 80)}`);
  const p = obj.protocol;
  let protocol: number | null = null;
  if (p !== undefined && p !== null && p !== "" && p !== "all" && p !== "any" && p !== "ip") {
    if (typeof p !== "string" || !(p.toLowerCase() in PROTOCOL_NUMBERS)) {
      refuse(`unsupported protocol ${JSON.stringify(p).slice(0, 40)}`);
    }
    protocol = PROTOCOL_NUMBERS[p.toLowerCase()];
  }
  let ttl = options.ttlS;
  if (obj.duration !== undefined && obj.duration !== null) {
    const d = obj.duration;
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > MAX_TTL_S) {
      refuse(`duration must be 1-${MAX_TTL_S} s`);
    }
    ttl = d;
  }
  return { type: "drop_source", source, protocol, ttl_s: ttl };
}

function textShape(text: unknown, options: CommandParseOptions): CommandOp[] {
  if (typeof text !== "string") refuse("command_text must be a string");
  if (text.length > MAX_COMMAND_LENGTH * MAX_PLAYBOOK_LINES) {
    refuse(`command_text is ${text.length} characters (at most ${MAX_COMMAND_LENGTH} a line)`);
  }
  const lines = text.split("\n").map((l, i) => ({ text: l.replace(/\r$/, "").trim(), n: i + 1 }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#"));
  if (lines.length === 0) refuse("empty command_text");
  if (lines.length > MAX_PLAYBOOK_LINES) {
    refuse(`a playbook has at most ${MAX_PLAYBOOK_LINES} lines, got ${lines.length}`);
  }
  const ops: CommandOp[] = [];
  for (const { text: line, n } of lines) {
    try {
      ops.push(...lineOps(line, n, options));
    } catch (err) {
      if (err instanceof Refusal && lines.length > 1) refuse(`line ${n}: ${err.message}`);
      throw err;
    }
  }
  return ops;
}

function lineOps(text: string, n: number, options: CommandParseOptions): CommandOp[] {
  if (text.length > MAX_COMMAND_LENGTH) {
    refuse(`command_text is ${text.length} characters (at most ${MAX_COMMAND_LENGTH})`);
  }
  if (!SAFE_TEXT.test(text)) {
    const bad = [...text].find((c) => !SAFE_TEXT.test(c))!;
    refuse(`forbidden character ${JSON.stringify(bad)} in command_text`);
  }
  const tokens = text.split(/ +/).filter((t) => t !== "");
  const tool = tokens[0].replace(/^\/(?:usr\/)?s?bin\//, "");
  const one = (action: MitigationAction) => [{ undo: false, action, line: n }];
  switch (tool) {
    case "iptables":
    case "iptables-nft":
    case "iptables-legacy":
      return ruleOps(readIptables(tokens.slice(1), false), n, options.ttlS);
    case "ip6tables":
    case "ip6tables-nft":
    case "ip6tables-legacy":
      return ruleOps(readIptables(tokens.slice(1), true), n, options.ttlS);
    case "nft":
      if (tokens[2] === "element" && (tokens[1] === "add" || tokens[1] === "delete")) {
        return nftElement(tokens.slice(1), n, options);
      }
      return ruleOps(readNft(tokens.slice(1)), n, options.ttlS);
    case "sysctl":
      return one(sysctl(tokens.slice(1), options));
    case "ipset":
      return ipset(tokens.slice(1), n, options);
    case "ip":
      return one(ipRoute(tokens.slice(1), options));
    default:
      refuse(`unknown command ${JSON.stringify(tokens[0].slice(0, 40))}`);
  }
}

function sysctl(t: string[], options: CommandParseOptions): MitigationAction {
  const args = t[0] === "-w" ? t.slice(1) : t;
  if (args.length !== 1 || !args[0].includes("=")) {
    refuse("sysctl: exactly one key=value is accepted");
  }
  const [rawKey, value] = args[0].split("=", 2);
  const key = rawKey.replaceAll("/", ".");
  if (!(key in SAFE_SYSCTLS)) refuse(sysctlRefusal(key, 0)!);
  if (!/^[0-9]{1,9}$/.test(value)) refuse(`sysctl value ${value.slice(0, 20)} must be a number`);
  const why = sysctlRefusal(key, Number(value));
  if (why !== null) refuse(why);
  if (key === "net.ipv4.tcp_syncookies" && value === "1") {
    return { type: "syn_cookies", ttl_s: options.ttlS };
  }
  return { type: "sysctl", key, value: Number(value), ttl_s: options.ttlS };
}

function ipset(t: string[], n: number, options: CommandParseOptions): CommandOp[] {
  const args = t.filter((x) => x !== "-exist" && x !== "-!");
  const verb = { "-N": "create", "-A": "add", "-D": "del", "-X": "destroy" }[args[0]] ?? args[0];
  const name = args[1] ?? "";
  if (!["create", "add", "del", "destroy"].includes(verb)) {
    refuse("only ipset create, add, del and destroy are accepted");
  }
  if (!/^[A-Za-z0-9_-]{1,31}$/.test(name)) refuse(`ipset ${verb} needs a set name`);
  const own = SERVER_SET_NAME.test(name);
  if (verb === "create" || verb === "destroy") {
    if (!own) refuse(`set name ${name} must be 1-24 letters, digits or _`);
    if (verb === "destroy") {
      if (args.length !== 2) refuse("ipset destroy takes one set name");
      const action = { type: "server_set", name, kind: "ip", family: "ip", timeout: null } as const;
      return [{ undo: true, action: { ...action, ttl_s: MAX_TTL_S }, line: n }];
    }
    const kind = args[2] === "hash:ip" ? "ip" : args[2] === "hash:net" ? "net" : null;
    if (kind === null) {
      refuse(`ipset type ${(args[2] ?? "").slice(0, 20)} is not supported (hash:ip or hash:net)`);
    }
    let family: "ip" | "ip6" = "ip";
    let timeout: number | null = null;
    for (let i = 3; i < args.length; i += 2) {
      const v = args[i + 1] ?? refuse(`ipset create: ${args[i]} needs a value`);
      if (args[i] === "family" && (v === "inet" || v === "inet6")) {
        family = v === "inet" ? "ip" : "ip6";
      } else if (args[i] === "timeout") timeout = seconds(v);
      else if (args[i] === "maxelem" || args[i] === "hashsize") count(v);
      else refuse(`ipset create option ${args[i].slice(0, 20)} is not accepted`);
    }
    // A server's set lives until ipset destroy or the agent's stop (a day at most).
    const action = { type: "server_set", name, kind, family, timeout, ttl_s: MAX_TTL_S } as const;
    return [{ undo: false, action, line: n }];
  }
  const source = address(args[2] ?? refuse(`ipset ${verb} needs an address`), "source");
  let ttl = options.ttlS;
  if (verb === "add" && args.length === 5 && args[3] === "timeout") ttl = seconds(args[4]);
  else if (args.length !== 3) {
    refuse(
      `ipset ${verb}: only an address${verb === "add" ? " and a timeout are" : " is"} accepted`,
    );
  }
  // A set the server did not create is read as the agent's own source drop (see the runner).
  const action: MitigationAction = own
    ? { type: "set_element", set: name, element: source, kind: "ip", ttl_s: ttl }
    : { type: "drop_source", source, protocol: null, ttl_s: ttl };
  return [{ undo: verb === "del", action, line: n }];
}

function seconds(text: string): number {
  const v = count(text);
  if (v < 1 || v > MAX_TTL_S) refuse(`timeout must be 1-${MAX_TTL_S} s`);
  return v;
}

/** `nft add|delete element inet ftagent SET { ADDRESS [timeout Ns] }`. */
function nftElement(t: string[], n: number, options: CommandParseOptions): CommandOp[] {
  if (t[2] !== "inet" || t[3] !== "ftagent") {
    refuse("nft elements only in the agent's own table inet ftagent");
  }
  const set = t[4] ?? "";
  const open = t[5] === "{" && t.at(-1) === "}";
  const inner = t.slice(6, -1);
  if (!open || !(inner.length === 1 || (inner.length === 3 && inner[1] === "timeout"))) {
    refuse("nft add|delete element inet ftagent SET { ADDRESS [timeout Ns] } (one element)");
  }
  const source = address(inner[0], "element");
  const ttl = inner.length === 3 ? seconds(inner[2].replace(/s$/, "")) : options.ttlS;
  const undo = t[0] === "delete";
  if (set === "src4" || set === "src6") {
    if ((set === "src6") !== source.includes(":")) refuse(`${source} does not belong in ${set}`);
    return [{ undo, action: { type: "drop_source", source, protocol: null, ttl_s: ttl }, line: n }];
  }
  const m = /^x_([A-Za-z0-9_]{1,24})$/.exec(set);
  if (m === null) {
    refuse(
      `set ${set.slice(0, 40)} is not open to the server (src4, src6, or a set it created, x_NAME)`,
    );
  }
  return [{
    undo,
    action: { type: "set_element", set: m[1], element: source, kind: "ip", ttl_s: ttl },
    line: n,
  }];
}

function ipRoute(t: string[], options: CommandParseOptions): MitigationAction {
  const args = t[0] === "-4" || t[0] === "-6" ? t.slice(1) : t;
  if (args[0] !== "route" || args[1] !== "add" || args[2] !== "blackhole" || args.length !== 4) {
    refuse("only ip route add blackhole ADDRESS is accepted");
  }
  if (args[3] === "default") refuse("the default route cannot be blackholed");
  const source = address(args[3], "blackhole");
  return { type: "drop_source", source, protocol: null, ttl_s: options.ttlS };
}
