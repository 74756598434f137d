/**
 * Server commands (`pending_commands` of the Flowtriq API) into typed actions. The text is
 * untrusted and would run as root, so it is never run: it is read as a few known firewall
 * sentences and turned into one {@linkcode MitigationAction}, or refused with the reason.
 *
 * Accepted (tokens separated by spaces; only letters, digits and `. _ : / , = -` are allowed,
 * so shell metacharacters are refused before anything else):
 * - `iptables|ip6tables [-t filter|raw] -I|-A INPUT|PREROUTING|FORWARD [N]` with `-s SRC`,
 *   `-d DST`, `-p PROTO`, `--sport N`, `--dport N`, `--syn`, `-f`, `-m tcp|udp|comment|hashlimit`,
 *   `--comment WORD`, `--hashlimit-above N/sec` (and `-burst`, `-name`, `-mode`), `-j DROP`:
 *   a source drop, a protocol/port drop or rate limit, a SYN rate limit or a fragment drop;
 * - `nft add|insert rule ip|ip6|inet TABLE CHAIN` with `ip|ip6 saddr SRC`, `ip|ip6 daddr DST`,
 *   `tcp|udp sport|dport N`, `meta l4proto P`, `limit rate over N/second`, `drop`;
 * - `sysctl [-w] net.ipv4.tcp_syncookies=1` (exactly that one key);
 * - `ipset add|-A SET SRC [timeout N]` (the agent's own set is used);
 * - `ip [-4|-6] route add blackhole SRC` (a source drop);
 * - the second shape `{id, action: "iptables_block", source_ip, protocol, duration}`.
 *
 * Everything else (flushes, policies, deletions, chains, other sysctl keys, files, the default
 * route, rate 0, allowlisted or too-wide sources) is refused.
 *
 * @module
 */

import type { Allowlist } from "./allowlist.ts";
import { canonicalCidr, PROTOCOL_NUMBERS } from "../packet/mod.ts";
import { isV6, MAX_TTL_S, type MitigationAction, validateAction } from "./action.ts";

/** A parsed command: one action, or the reason it was refused. */
export type ParsedCommand =
  | { ok: true; id: number | null; action: MitigationAction }
  | { ok: false; id: number | null; reason: string };

/** What the parser needs besides the command. */
export interface CommandParseOptions {
  /** Time-to-live of actions whose command gives none (seconds). */
  ttlS: number;
  /** Sources that may never be blocked. */
  allowlist: Allowlist;
}

/** Longest command text read. */
export const MAX_COMMAND_LENGTH = 512;

const SAFE_TEXT = /^[A-Za-z0-9 ._:/,=-]*$/;

class Refusal extends Error {}

function refuse(reason: string): never {
  throw new Refusal(reason);
}

/** Parses one server command (any JSON value) into an action or a refusal. */
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
    const action = obj.action === "iptables_block"
      ? blockShape(obj, options)
      : textShape(obj.command_text, options);
    const err = validateAction(action);
    if (err !== null) refuse(err);
    if (action.type === "drop_source" || action.type === "cloudflare_rule") {
      const why = options.allowlist.protects(action.source);
      if (why !== null) refuse(why);
    }
    return { ok: true, id, action };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, id, reason: err.message };
    throw err;
  }
}

function blockShape(obj: Record<string, unknown>, options: CommandParseOptions): MitigationAction {
  if (typeof obj.source_ip !== "string") refuse("iptables_block needs source_ip");
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

function textShape(text: unknown, options: CommandParseOptions): MitigationAction {
  if (typeof text !== "string") refuse("command_text must be a string");
  if (text.length > MAX_COMMAND_LENGTH) {
    refuse(`command_text is ${text.length} characters (at most ${MAX_COMMAND_LENGTH})`);
  }
  if (!SAFE_TEXT.test(text)) {
    const bad = [...text].find((c) => !SAFE_TEXT.test(c))!;
    refuse(`forbidden character ${JSON.stringify(bad)} in command_text`);
  }
  const tokens = text.trim().split(/ +/).filter((t) => t !== "");
  if (tokens.length === 0) refuse("empty command_text");
  const tool = tokens[0].replace(/^\/(?:usr\/)?s?bin\//, "");
  switch (tool) {
    case "iptables":
    case "iptables-nft":
    case "iptables-legacy":
      return iptables(tokens.slice(1), false, options);
    case "ip6tables":
    case "ip6tables-nft":
    case "ip6tables-legacy":
      return iptables(tokens.slice(1), true, options);
    case "nft":
      return nft(tokens.slice(1), options);
    case "sysctl":
      return sysctl(tokens.slice(1), options);
    case "ipset":
      return ipset(tokens.slice(1), options);
    case "ip":
      return ipRoute(tokens.slice(1), options);
    default:
      refuse(`unknown command ${JSON.stringify(tokens[0].slice(0, 40))}`);
  }
}

/** What a firewall sentence says, before it becomes an action. */
interface Match {
  source?: string;
  target?: string;
  protocol?: number;
  sport?: number;
  dport?: number;
  syn?: boolean;
  fragments?: boolean;
  rate?: number;
}

function iptables(t: string[], v6: boolean, options: CommandParseOptions): MitigationAction {
  const m: Match = {};
  let op = false;
  let verdict = "";
  for (let i = 0; i < t.length; i++) {
    const arg = () => t[++i] ?? refuse(`${t[i - 1]} needs a value`);
    switch (t[i]) {
      case "-t":
      case "--table": {
        const table = arg();
        if (table !== "filter" && table !== "raw") refuse(`table ${table} is not supported`);
        break;
      }
      case "-I":
      case "--insert":
      case "-A":
      case "--append": {
        if (op) refuse("one rule per command");
        op = true;
        const chain = arg();
        if (!["INPUT", "PREROUTING", "FORWARD"].includes(chain)) {
          refuse(`chain ${chain} is not supported`);
        }
        if (/^[0-9]{1,4}$/.test(t[i + 1] ?? "")) i++;
        break;
      }
      case "-s":
      case "--source":
        m.source = address(arg(), "source");
        break;
      case "-d":
      case "--destination":
        m.target = address(arg(), "destination");
        break;
      case "-p":
      case "--protocol":
        m.protocol = protocol(arg());
        break;
      case "--sport":
      case "--source-port":
        m.sport = port(arg());
        break;
      case "--dport":
      case "--destination-port":
        m.dport = port(arg());
        break;
      case "--syn":
        m.syn = true;
        break;
      case "-f":
      case "--fragment":
        m.fragments = true;
        break;
      case "-m":
      case "--match": {
        const mod = arg();
        if (!["tcp", "udp", "comment", "hashlimit"].includes(mod)) {
          refuse(`match module ${mod} is not supported`);
        }
        break;
      }
      case "--comment":
      case "--hashlimit-name":
      case "--hashlimit-mode":
        arg();
        break;
      case "--hashlimit-burst":
        count(arg());
        break;
      case "--hashlimit-above":
        m.rate = rate(arg());
        break;
      case "-j":
      case "--jump":
        verdict = arg();
        break;
      default:
        refuse(`iptables option ${t[i].slice(0, 40)} is not accepted (only -I/-A of a DROP rule)`);
    }
  }
  if (!op) refuse("only -I/-A of a DROP rule is accepted");
  if (verdict !== "DROP") refuse(`only -j DROP is accepted, not ${verdict || "no target"}`);
  for (const a of [m.source, m.target]) {
    if (a !== undefined && isV6(a) !== v6) {
      refuse(`${a} does not belong to ${v6 ? "ip6tables" : "iptables"}`);
    }
  }
  return toAction(m, options.ttlS);
}

function nft(t: string[], options: CommandParseOptions): MitigationAction {
  if (!(t[0] === "add" || t[0] === "insert") || t[1] !== "rule") {
    refuse("only nft add/insert rule is accepted");
  }
  if (!["ip", "ip6", "inet"].includes(t[2] ?? "")) refuse("nft family must be ip, ip6 or inet");
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(t[3] ?? "") || !/^[A-Za-z0-9_-]{1,32}$/.test(t[4] ?? "")) {
    refuse("nft needs a table and a chain name");
  }
  const m: Match = {};
  const e = t.slice(5);
  if (e.at(-1) !== "drop") refuse("only rules ending in drop are accepted");
  for (let i = 0; i < e.length - 1; i++) {
    const next = () => e[++i] ?? refuse(`${e[i - 1]} needs a value`);
    const word = e[i];
    if ((word === "ip" || word === "ip6") && (e[i + 1] === "saddr" || e[i + 1] === "daddr")) {
      const which = next();
      const a = address(next(), which === "saddr" ? "source" : "destination");
      if (isV6(a) !== (word === "ip6")) refuse(`${a} is not an ${word} address`);
      if (which === "saddr") m.source = a;
      else m.target = a;
    } else if (
      (word === "tcp" || word === "udp") && (e[i + 1] === "sport" || e[i + 1] === "dport")
    ) {
      m.protocol = PROTOCOL_NUMBERS[word];
      const which = next();
      if (which === "sport") m.sport = port(next());
      else m.dport = port(next());
    } else if (word === "meta" && e[i + 1] === "l4proto") {
      next();
      m.protocol = protocol(next());
    } else if (word === "limit" && e[i + 1] === "rate" && e[i + 2] === "over") {
      i += 2;
      m.rate = rate(next());
    } else {
      refuse(`nft expression ${word.slice(0, 40)} is not accepted`);
    }
  }
  return toAction(m, options.ttlS);
}

function sysctl(t: string[], options: CommandParseOptions): MitigationAction {
  const args = t[0] === "-w" ? t.slice(1) : t;
  if (args.length !== 1) refuse("sysctl: exactly one key=value is accepted");
  const [key, value] = args[0].split("=");
  if (key.replaceAll("/", ".") !== "net.ipv4.tcp_syncookies") {
    refuse(`sysctl key ${key.slice(0, 60)} is not accepted (only net.ipv4.tcp_syncookies)`);
  }
  if (value !== "1") refuse("only net.ipv4.tcp_syncookies=1 is accepted");
  return { type: "syn_cookies", ttl_s: options.ttlS };
}

function ipset(t: string[], options: CommandParseOptions): MitigationAction {
  const args = t.filter((x) => x !== "-exist" && x !== "-!");
  if (args[0] !== "add" && args[0] !== "-A") refuse("only ipset add is accepted");
  if (!/^[A-Za-z0-9_-]{1,31}$/.test(args[1] ?? "")) refuse("ipset add needs a set name");
  const source = address(args[2] ?? refuse("ipset add needs an address"), "source");
  let ttl = options.ttlS;
  if (args.length === 5 && args[3] === "timeout") {
    ttl = count(args[4]);
    if (ttl < 1 || ttl > MAX_TTL_S) refuse(`timeout must be 1-${MAX_TTL_S} s`);
  } else if (args.length !== 3) refuse("ipset add: only an address and a timeout are accepted");
  return { type: "drop_source", source, protocol: null, ttl_s: ttl };
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

function toAction(m: Match, ttl_s: number): MitigationAction {
  const ported = m.sport !== undefined || m.dport !== undefined;
  if (ported && m.protocol !== 6 && m.protocol !== 17) refuse("ports need -p tcp or -p udp");
  if (m.syn && m.protocol !== 6) refuse("--syn needs -p tcp");
  const target = m.target ?? null;
  if (m.source !== undefined) {
    if (ported || m.syn || m.fragments || m.rate !== undefined) {
      refuse("a source drop takes no ports, flags or rates");
    }
    return { type: "drop_source", source: m.source, protocol: m.protocol ?? null, ttl_s };
  }
  if (m.fragments) {
    if (ported || m.syn || m.rate !== undefined || m.protocol !== undefined) {
      refuse("a fragment drop takes only a destination");
    }
    return { type: "drop_fragments", target, ttl_s };
  }
  if (m.syn) {
    if (m.rate === undefined) refuse("dropping every SYN would cut every new connection");
    if (m.sport !== undefined) refuse("a SYN rate limit takes a destination port only");
    return { type: "syn_rate_limit", target, dst_port: m.dport ?? null, pps: m.rate, ttl_s };
  }
  if (m.protocol === undefined) refuse("would drop all traffic: a source or protocol is needed");
  if (m.rate === undefined && !ported && (m.protocol === 6 || m.protocol === 17)) {
    refuse("dropping every TCP or UDP packet is not accepted (name a port)");
  }
  return {
    type: m.rate === undefined ? "drop_traffic" : "rate_limit",
    target,
    protocol: m.protocol,
    src_port: m.sport ?? null,
    dst_port: m.dport ?? null,
    pps: m.rate ?? 0,
    ttl_s,
  };
}

function address(text: string, what: string): string {
  const c = canonicalCidr(text);
  if (c === null) refuse(`invalid ${what} address ${text.slice(0, 60)}`);
  return c;
}

function protocol(text: string): number {
  const name = text.toLowerCase();
  if (name in PROTOCOL_NUMBERS) return PROTOCOL_NUMBERS[name];
  if (name === "ipv6-icmp") return PROTOCOL_NUMBERS.icmpv6;
  if (/^[0-9]{1,3}$/.test(name) && Number(name) >= 1 && Number(name) <= 255) return Number(name);
  refuse(`unsupported protocol ${text.slice(0, 20)}`);
}

function port(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    refuse(`invalid port ${text.slice(0, 20)}`);
  }
  return Number(text);
}

function count(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) refuse(`invalid number ${text.slice(0, 20)}`);
  return Number(text);
}

function rate(text: string): number {
  const m = /^([0-9]{1,9})\/(s|sec|second)$/.exec(text);
  if (!m) refuse(`rate ${text.slice(0, 20)} must be N/sec`);
  const n = Number(m[1]);
  if (n < 1) refuse("a rate of 0 would drop everything");
  return n;
}
