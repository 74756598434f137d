/**
 * Mitigation actions: the only things the agent ever does to a firewall, as typed values (never
 * free text). Each has a time-to-live; backends turn them into nftables/iptables state or
 * Cloudflare API calls. {@linkcode validateAction} is the one place that says what is safe.
 *
 * @module
 */

import { canonicalCidr, parseCidr, protocolName } from "../packet/mod.ts";
import {
  describeServerRule,
  type ServerRule,
  serverRuleKey,
  validateServerRule,
} from "./server_rule.ts";
import { sysctlRefusal, type SysctlSet } from "./safe_sysctl.ts";
import { SERVER_SET_NAME, type ServerSet, type SetElement } from "./server_set.ts";

/** Fields every action has. */
export interface ActionBase {
  /** Seconds the action stays in force; the backends enforce it (kernel timeouts) or undo it. */
  ttl_s: number;
}

/** Drop everything (or one protocol) from a source address or network. */
export interface DropSource extends ActionBase {
  /** The kind of action. */
  type: "drop_source";
  /** Canonical address or network (`198.51.100.7`, `203.0.113.0/24`). */
  source: string;
  /** IP protocol number, or null for every protocol. */
  protocol: number | null;
}

/** Drop, or limit to `pps`, one protocol (optionally one source or destination port) to the target. */
export interface TrafficAction extends ActionBase {
  /** The kind of action. */
  type: "drop_traffic" | "rate_limit";
  /** Address under attack (canonical), or null for every destination. */
  target: string | null;
  /** IP protocol number (1 means ICMP or ICMPv6, by the target's family). */
  protocol: number;
  /** TCP/UDP source port, or null. */
  src_port: number | null;
  /** TCP/UDP destination port, or null. */
  dst_port: number | null;
  /** Packets per second let through (rate_limit only; 0 for drop_traffic). */
  pps: number;
}

/** Drop every IP fragment to the target. */
export interface DropFragments extends ActionBase {
  /** The kind of action. */
  type: "drop_fragments";
  /** Address under attack, or null for every destination. */
  target: string | null;
}

/** Limit new TCP connections (SYN without ACK) to the target's port to `pps`. */
export interface SynRateLimit extends ActionBase {
  /** The kind of action. */
  type: "syn_rate_limit";
  /** Address under attack, or null for every destination. */
  target: string | null;
  /** Destination port, or null for every port. */
  dst_port: number | null;
  /** SYNs per second let through. */
  pps: number;
}

/** Turn on SYN cookies (`net.ipv4.tcp_syncookies=1`); undo restores the previous value. */
export interface SynCookies extends ActionBase {
  /** The kind of action. */
  type: "syn_cookies";
}

/** A Cloudflare IP access rule (block or challenge) for a source. */
export interface CloudflareRule extends ActionBase {
  /** The kind of action. */
  type: "cloudflare_rule";
  /** Canonical address or network. */
  source: string;
  /** Block the source, or make it pass a challenge. */
  mode: "block" | "challenge";
}

/** Every typed mitigation action. */
export type MitigationAction =
  | DropSource
  | TrafficAction
  | DropFragments
  | SynRateLimit
  | SynCookies
  | CloudflareRule
  | ServerRule
  | ServerSet
  | SetElement
  | SysctlSet;

/** Longest time-to-live (a day): nothing the agent does is permanent. */
export const MAX_TTL_S = 86400;
/** Highest rate a limit may let through (packets per second). */
export const MAX_RATE_PPS = 10_000_000;
/** Shortest prefix a blocked source network may have (IPv4, IPv6): no blocking of the world. */
export const MIN_SOURCE_PREFIX = { v4: 16, v6: 48 } as const;

/**
 * The identity of an action (everything but its time-to-live): two actions with the same key do
 * the same thing, so the second only extends the first.
 */
export function actionKey(a: MitigationAction): string {
  switch (a.type) {
    case "drop_source":
      return `drop_source ${a.source}${a.protocol === null ? "" : ` ${protocolName(a.protocol)}`}`;
    case "drop_traffic":
    case "rate_limit":
      return `${a.type} ${protocolName(a.protocol)} ${a.target ?? "*"}` +
        `${a.src_port === null ? "" : ` sport ${a.src_port}`}` +
        `${a.dst_port === null ? "" : ` dport ${a.dst_port}`}` +
        (a.type === "rate_limit" ? ` ${a.pps}pps` : "");
    case "drop_fragments":
      return `drop_fragments ${a.target ?? "*"}`;
    case "syn_rate_limit":
      return `syn_rate_limit ${a.target ?? "*"} ${a.dst_port ?? "*"} ${a.pps}pps`;
    case "syn_cookies":
      return "syn_cookies";
    case "cloudflare_rule":
      return `cloudflare_rule ${a.mode} ${a.source}`;
    case "server_rule":
      return serverRuleKey(a);
    case "sysctl":
      return `sysctl ${a.key}=${a.value}`;
    case "server_set":
      return `server_set ${a.name}`;
    case "set_element":
      return `set_element ${a.set} ${a.element}`;
  }
}

/** One line for logs and `ftagent mitigation list`. */
export function describeAction(a: MitigationAction): string {
  const to = (t: string | null) => (t === null ? "every address" : t);
  const ttl = ` for ${a.ttl_s} s`;
  switch (a.type) {
    case "drop_source":
      return `drop ${
        a.protocol === null ? "all traffic" : protocolName(a.protocol).toUpperCase()
      }` +
        ` from ${a.source}${ttl}`;
    case "drop_traffic":
    case "rate_limit": {
      const ports = (a.src_port === null ? "" : ` from source port ${a.src_port}`) +
        (a.dst_port === null ? "" : ` to port ${a.dst_port}`);
      const verb = a.type === "drop_traffic" ? "drop" : `limit to ${a.pps} pps`;
      return `${verb} ${protocolName(a.protocol).toUpperCase()}${ports} towards ${
        to(a.target)
      }${ttl}`;
    }
    case "drop_fragments":
      return `drop IP fragments towards ${to(a.target)}${ttl}`;
    case "syn_rate_limit":
      return `limit TCP SYN to ${a.pps} pps towards ${to(a.target)}` +
        `${a.dst_port === null ? "" : ` port ${a.dst_port}`}${ttl}`;
    case "syn_cookies":
      return `turn on SYN cookies${ttl}`;
    case "cloudflare_rule":
      return `Cloudflare ${a.mode} rule for ${a.source}${ttl}`;
    case "server_rule":
      return describeServerRule(a);
    case "sysctl":
      return `set ${a.key} to ${a.value}${ttl}`;
    case "server_set":
      return `create set ${a.name} (hash:${a.kind}, ${a.family === "ip" ? "IPv4" : "IPv6"})${ttl}`;
    case "set_element":
      return `add ${a.element} to set ${a.set}${ttl}`;
  }
}

/**
 * Checks that an action is well formed and safe to run (valid canonical addresses, ports only
 * with TCP/UDP, bounded rates and time-to-live, no source network wider than
 * {@linkcode MIN_SOURCE_PREFIX}); returns the reason it is not, or null.
 */
export function validateAction(a: MitigationAction): string | null {
  if (!Number.isInteger(a.ttl_s) || a.ttl_s < 1 || a.ttl_s > MAX_TTL_S) {
    return `time-to-live must be 1-${MAX_TTL_S} s, got ${a.ttl_s}`;
  }
  switch (a.type) {
    case "drop_source":
    case "cloudflare_rule": {
      const err = checkSource(a.source);
      if (err) return err;
      if (a.type === "drop_source" && a.protocol !== null && !isProtocol(a.protocol)) {
        return `invalid protocol ${a.protocol}`;
      }
      if (a.type === "cloudflare_rule" && a.mode !== "block" && a.mode !== "challenge") {
        return `invalid Cloudflare mode ${a.mode}`;
      }
      return null;
    }
    case "drop_traffic":
    case "rate_limit": {
      const err = checkTarget(a.target);
      if (err) return err;
      if (!isProtocol(a.protocol)) return `invalid protocol ${a.protocol}`;
      const ported = a.protocol === 6 || a.protocol === 17;
      for (const port of [a.src_port, a.dst_port]) {
        if (port === null) continue;
        if (!ported) return `ports need TCP or UDP, not ${protocolName(a.protocol)}`;
        if (!isPort(port)) return `invalid port ${port}`;
      }
      if (a.src_port !== null && a.dst_port !== null) {
        return "one port per action (source or destination)";
      }
      if (a.type === "rate_limit") return checkRate(a.pps);
      return a.pps === 0 ? null : "drop_traffic has no rate";
    }
    case "drop_fragments":
      return checkTarget(a.target);
    case "syn_rate_limit": {
      const err = checkTarget(a.target);
      if (err) return err;
      if (a.dst_port !== null && !isPort(a.dst_port)) return `invalid port ${a.dst_port}`;
      return checkRate(a.pps);
    }
    case "syn_cookies":
      return null;
    case "server_rule": {
      for (const s of [a.source, a.target]) {
        if (s === null) continue;
        const err = s === a.source
          ? checkSource(s)
          : canonicalCidr(s) === s
          ? null
          : `invalid destination ${JSON.stringify(s)}`;
        if (err) return err;
        if (isV6(s) !== (a.family === "ip6")) return `${s} is not an ${a.family} address`;
      }
      return validateServerRule(a);
    }
    case "sysctl":
      return sysctlRefusal(a.key, a.value);
    case "server_set":
      if (!SERVER_SET_NAME.test(a.name)) return `invalid set name ${a.name}`;
      return a.timeout === null || (Number.isInteger(a.timeout) && a.timeout >= 1 &&
          a.timeout <= MAX_TTL_S)
        ? null
        : `set timeout must be 1-${MAX_TTL_S} s`;
    case "set_element":
      if (!SERVER_SET_NAME.test(a.set)) return `invalid set name ${a.set}`;
      return checkSource(a.element);
    default:
      return `unknown action ${(a as { type: unknown }).type}`;
  }
}

/** True when `a.target` (or source) is IPv6. */
export function isV6(address: string): boolean {
  return address.includes(":");
}

function checkSource(source: string): string | null {
  const c = parseCidr(source);
  if (c === null) return `invalid source address ${JSON.stringify(source)}`;
  if (canonicalCidr(source) !== source) return `source ${source} is not in canonical form`;
  const min = c.v6 ? MIN_SOURCE_PREFIX.v6 : MIN_SOURCE_PREFIX.v4;
  if (c.prefix < min) return `source network ${source} is wider than /${min}`;
  return null;
}

function checkTarget(target: string | null): string | null {
  if (target === null) return null;
  const c = parseCidr(target);
  if (c === null || target.includes("/")) return `invalid target address ${JSON.stringify(target)}`;
  if (canonicalCidr(target) !== target) return `target ${target} is not in canonical form`;
  return null;
}

function checkRate(pps: number): string | null {
  return Number.isInteger(pps) && pps >= 1 && pps <= MAX_RATE_PPS
    ? null
    : `rate must be 1-${MAX_RATE_PPS} packets/s, got ${pps}`;
}

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

function isProtocol(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 255;
}
