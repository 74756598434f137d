/**
 * Address sets a control plane creates (`ipset create NAME hash:ip|hash:net`), their elements
 * (`ipset add`/`del`, `nft add|delete element`), as typed values, and their nftables text. A
 * server's set NAME is the set `x_NAME` of the agent's own table `inet ftagent`; nothing else
 * is touched, and the table goes at stop. Elements carry kernel timeouts; the set lives for the
 * command's time-to-live (or until `ipset destroy NAME`), and rules use it through
 * `-m set --match-set NAME src|dst` (see server_rule.ts).
 *
 * @module
 */

import type { ActionBase } from "./action.ts";

/** A set the server created. */
export interface ServerSet extends ActionBase {
  /** The kind of action. */
  type: "server_set";
  /** The server's name for it (letters, digits, `_`; the table's set is `x_<name>`). */
  name: string;
  /** Single addresses (`hash:ip`) or networks too (`hash:net`). */
  kind: "ip" | "net";
  /** Address family (`family inet|inet6`). */
  family: "ip" | "ip6";
  /** Default element timeout (seconds), or null (elements then live for their command's TTL). */
  timeout: number | null;
}

/** One address in a server's set. */
export interface SetElement extends ActionBase {
  /** The kind of action. */
  type: "set_element";
  /** The server's set name. */
  set: string;
  /** Canonical address or network. */
  element: string;
  /** The set's kind (filled in from the set in force when the command runs). */
  kind: "ip" | "net";
}

/** A valid server set name. */
export const SERVER_SET_NAME = /^[A-Za-z0-9_]{1,24}$/;

/** The name of a server's set in the agent's table. */
export function serverSetName(name: string): string {
  return `x_${name}`;
}

function declaration(table: string, s: Pick<ServerSet, "name" | "kind" | "family" | "timeout">) {
  const type = s.family === "ip" ? "ipv4_addr" : "ipv6_addr";
  const flags = s.kind === "net" ? "interval,timeout" : "timeout";
  const timeout = s.timeout === null ? "" : ` timeout ${s.timeout}s;`;
  return `add set ${table} ${serverSetName(s.name)} { type ${type}; flags ${flags};${timeout} }`;
}

/** Script that creates the set (a second create of the same set changes nothing). */
export function nftServerSetScript(table: string, s: ServerSet): string {
  return `${declaration(table, s)}\n`;
}

/** Script that deletes the set (the kernel refuses while a rule uses it). */
export function nftServerSetUndoScript(table: string, s: ServerSet): string {
  return `${declaration(table, s)}\ndelete set ${table} ${serverSetName(s.name)}\n`;
}

/** Script that adds the element, or renews its timeout. */
export function nftSetElementScript(table: string, e: SetElement): string {
  const set = `${table} ${serverSetName(e.set)}`;
  const el = `{ ${e.element} timeout ${e.ttl_s}s }`;
  return `add element ${set} ${el}\ndelete element ${set} { ${e.element} }\nadd element ${set} ${el}\n`;
}

/** Script that removes the element (present or expired) when its set still exists. */
export function nftSetElementUndoScript(table: string, e: SetElement): string {
  const set = `${table} ${serverSetName(e.set)}`;
  return `add element ${set} { ${e.element} timeout 1s }\ndelete element ${set} { ${e.element} }\n`;
}
