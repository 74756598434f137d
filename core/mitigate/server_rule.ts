/**
 * Server rules: the firewall rules a control plane pushes that the fixed sets of the agent's
 * table cannot hold (a REJECT, a conntrack state, a packet length, a per-source limit, a
 * source with a port, FORWARD or raw PREROUTING), as one typed value each, and their nftables
 * text inside the agent's own table `inet ftagent` (never anywhere else).
 *
 * Each rule lives in a chain of its own, `s_<hash>`, that a base chain per hook (`cmd_pre` at
 * the raw priority -300, `cmd_in` and `cmd_fwd` at the filter priority 0) reaches through a
 * map `g_<hash>` whose one element (the rule's address family) carries a kernel timeout: when
 * it expires the rule stops matching, so a killed agent leaves no permanent rule. Each base
 * chain first jumps to `keep`, the exemptions of the protected flows. A per-address limit
 * counts in a dynamic set `m_<hash>`.
 *
 * @module
 */

import type { ActionBase } from "./action.ts";
import { serverSetName } from "./server_set.ts";

/** An inclusive range of ports or lengths (`from === to` for one value). */
export interface ValueRange {
  /** First value. */
  from: number;
  /** Last value. */
  to: number;
}

/** A rate the rule counts packets against (iptables `limit` and `hashlimit`). */
export interface RuleLimit {
  /** Packets per `unit`. */
  rate: number;
  /** The rate's time unit. */
  unit: "second" | "minute" | "hour";
  /** Packets allowed at once above the rate. */
  burst: number;
  /** True: the rule acts on packets over the rate (`--hashlimit-above`); false: up to it. */
  over: boolean;
  /** Counted for all packets together, or per source or destination address. */
  per: "all" | "src" | "dst";
}

/** The ICMP or TCP answer of a REJECT. */
export type RejectWith =
  | "tcp-reset"
  | "port-unreachable"
  | "host-unreachable"
  | "no-route"
  | "admin-prohibited";

/** One firewall rule pushed by the control plane (see the module documentation). */
export interface ServerRule extends ActionBase {
  /** The kind of action. */
  type: "server_rule";
  /** Where it acts: raw PREROUTING, INPUT or FORWARD. */
  hook: "prerouting" | "input" | "forward";
  /** Address family (`iptables` or `ip6tables`). */
  family: "ip" | "ip6";
  /** Inserted before the server's other rules of the hook (`-I`) or after them (`-A`). */
  first: boolean;
  /** Source address or network, or null. */
  source: string | null;
  /** Destination address or network, or null. */
  target: string | null;
  /** IP protocol number, or null for every protocol. */
  protocol: number | null;
  /** TCP/UDP source ports, or null. */
  sport: ValueRange | null;
  /** TCP/UDP destination ports, or null. */
  dport: ValueRange | null;
  /** Only TCP SYNs without ACK, RST or FIN (new connections). */
  syn: boolean;
  /** Only IPv4 fragments after the first. */
  fragment: boolean;
  /** Connection tracking states (lower case, sorted), or null. */
  ctstate: string[] | null;
  /** IP packet length range, or null. */
  length: ValueRange | null;
  /** A rate limit, or null. */
  limit: RuleLimit | null;
  /** A server set the source or destination must be in (`-m set --match-set`), or null. */
  match_set: { name: string; dir: "src" | "dst" } | null;
  /** What happens to matching packets. */
  verdict: "drop" | "reject";
  /** The answer of a reject (null for drop). */
  reject_with: RejectWith | null;
}

/** Connection tracking states a rule may name. */
export const CT_STATES: readonly string[] = [
  "established",
  "invalid",
  "new",
  "related",
  "untracked",
];

/** The base chain of each hook in the agent's table. */
export const SERVER_HOOK_CHAINS = {
  prerouting: { chain: "cmd_pre", spec: "type filter hook prerouting priority -300;" },
  input: { chain: "cmd_in", spec: "type filter hook input priority 0;" },
  forward: { chain: "cmd_fwd", spec: "type filter hook forward priority 0;" },
} as const;

/** The identity of a rule: everything but its time-to-live and position. */
export function serverRuleKey(r: ServerRule): string {
  const range = (v: ValueRange | null) => (v === null ? "*" : `${v.from}-${v.to}`);
  const l = r.limit;
  return [
    "server_rule",
    r.hook,
    r.family,
    `src=${r.source ?? "*"}`,
    `dst=${r.target ?? "*"}`,
    `proto=${r.protocol ?? "*"}`,
    `sport=${range(r.sport)}`,
    `dport=${range(r.dport)}`,
    r.syn ? "syn" : "",
    r.fragment ? "frag" : "",
    `ct=${r.ctstate?.join(",") ?? "*"}`,
    `len=${range(r.length)}`,
    r.match_set === null ? "" : `set=${r.match_set.name}:${r.match_set.dir}`,
    l === null ? "" : `limit=${l.over ? "over" : "upto"}:${l.rate}/${l.unit}:${l.burst}:${l.per}`,
    r.verdict,
    r.reject_with ?? "",
  ].filter((p) => p !== "").join(" ");
}

/** One line for logs. */
export function describeServerRule(r: ServerRule): string {
  const parts: string[] = [];
  if (r.source !== null) parts.push(`from ${r.source}`);
  if (r.target !== null) parts.push(`to ${r.target}`);
  if (r.protocol !== null) parts.push(`protocol ${r.protocol}`);
  if (r.sport !== null) parts.push(`source port ${rangeText(r.sport, "-")}`);
  if (r.dport !== null) parts.push(`port ${rangeText(r.dport, "-")}`);
  if (r.syn) parts.push("SYN only");
  if (r.fragment) parts.push("fragments");
  if (r.ctstate !== null) parts.push(`state ${r.ctstate.join(",")}`);
  if (r.length !== null) parts.push(`length ${rangeText(r.length, "-")}`);
  if (r.match_set !== null) parts.push(`${r.match_set.dir} in set ${r.match_set.name}`);
  if (r.limit !== null) {
    const l = r.limit;
    parts.push(
      `${l.over ? "over" : "up to"} ${l.rate}/${l.unit}${l.per === "all" ? "" : ` per ${l.per}`}`,
    );
  }
  const verdict = r.verdict === "drop" ? "drop" : `reject (${r.reject_with})`;
  return `server rule (${r.hook}, ${r.family === "ip" ? "IPv4" : "IPv6"}): ${verdict} ${
    parts.join(" ")
  } for ${r.ttl_s} s`;
}

/** Checks what the parser cannot have got wrong but a stored record might; null when fine. */
export function validateServerRule(r: ServerRule): string | null {
  if (!(r.hook in SERVER_HOOK_CHAINS)) return `invalid hook ${r.hook}`;
  if (r.family !== "ip" && r.family !== "ip6") return `invalid family ${r.family}`;
  for (const v of [r.sport, r.dport]) {
    if (v !== null && !okRange(v, 1, 65535)) return "invalid port range";
  }
  if ((r.sport !== null || r.dport !== null) && r.protocol !== 6 && r.protocol !== 17) {
    return "ports need -p tcp or -p udp";
  }
  if (r.syn && r.protocol !== 6) return "--syn needs -p tcp";
  if (r.length !== null && !okRange(r.length, 0, 65535)) return "invalid length range";
  if (
    r.ctstate !== null && (r.ctstate.length === 0 || r.ctstate.some((s) => !CT_STATES.includes(s)))
  ) {
    return "invalid conntrack state";
  }
  if (r.limit !== null) {
    const l = r.limit;
    if (!Number.isInteger(l.rate) || l.rate < 1 || l.rate > 10_000_000) return "invalid rate";
    if (!Number.isInteger(l.burst) || l.burst < 1 || l.burst > 1_000_000) return "invalid burst";
  }
  if (r.verdict === "reject") {
    if (r.hook === "prerouting") return "REJECT is only valid in INPUT and FORWARD";
    if (r.reject_with === "tcp-reset" && r.protocol !== 6) return "tcp-reset needs -p tcp";
  } else if (r.reject_with !== null) return "only REJECT takes --reject-with";
  return null;
}

/** The chain, map and meter names of a rule (from the hash of its key). */
export function serverRuleNames(hash: string): { chain: string; map: string; meter: string } {
  return { chain: `s_${hash}`, map: `g_${hash}`, meter: `m_${hash}` };
}

/** The body of the rule inside its chain `s_<hash>` (meter named `meter`). */
export function serverRuleExpr(r: ServerRule, meter: string): string {
  const out: string[] = [];
  const fam = r.family;
  if (r.source !== null) out.push(`${fam} saddr ${r.source}`);
  if (r.target !== null) out.push(`${fam} daddr ${r.target}`);
  const ported = r.sport !== null || r.dport !== null || r.syn;
  const l4 = r.protocol === 6 ? "tcp" : "udp";
  if (r.protocol !== null && !ported) out.push(`meta l4proto ${r.protocol}`);
  if (r.sport !== null) out.push(`${l4} sport ${rangeText(r.sport, "-")}`);
  if (r.dport !== null) out.push(`${l4} dport ${rangeText(r.dport, "-")}`);
  if (r.syn) out.push("tcp flags & (fin | syn | rst | ack) == syn");
  if (r.fragment) out.push("ip frag-off & 0x1fff != 0");
  if (r.ctstate !== null) {
    out.push(`ct state ${r.ctstate.length === 1 ? r.ctstate[0] : `{ ${r.ctstate.join(", ")} }`}`);
  }
  if (r.length !== null) out.push(`meta length ${rangeText(r.length, "-")}`);
  if (r.match_set !== null) {
    const m = r.match_set;
    out.push(`${fam} ${m.dir === "src" ? "saddr" : "daddr"} @${serverSetName(m.name)}`);
  }
  if (r.limit !== null) {
    const l = r.limit;
    const rate = `limit rate ${l.over ? "over " : ""}${l.rate}/${l.unit} burst ${l.burst} packets`;
    out.push(
      l.per === "all"
        ? rate
        : `update @${meter} { ${fam} ${l.per === "src" ? "saddr" : "daddr"} ${rate} }`,
    );
  }
  out.push("counter");
  if (r.verdict === "drop") out.push("drop");
  else if (r.reject_with === "tcp-reset") out.push("reject with tcp reset");
  else out.push(`reject with icmpx type ${r.reject_with ?? "port-unreachable"}`);
  return out.join(" ");
}

/** Handles found in `nft -a list chain` text of a hook chain. */
export interface ServerChainListing {
  /** Handle of the `jump keep` rule (the -I rules go right after it), or null. */
  keep: number | null;
  /** Handle of the rule that reaches each map `g_<hash>`. */
  rules: Map<string, number>;
}

/** Reads the handles of a hook chain from `nft -a list chain inet ftagent CHAIN` text. */
export function parseServerChain(text: string): ServerChainListing {
  const out: ServerChainListing = { keep: null, rules: new Map() };
  for (const line of text.split("\n")) {
    const handle = /# handle ([0-9]+)\s*$/.exec(line);
    if (handle === null) continue;
    if (/^\s*jump keep\b/.test(line)) out.keep = Number(handle[1]);
    const map = /vmap @(g_[0-9a-f]{8})\b/.exec(line);
    if (map !== null) out.rules.set(map[1], Number(handle[1]));
  }
  return out;
}

/** Script that makes the hook's base chain (which jumps to `keep` first). */
export function nftServerChainScript(table: string, hook: ServerRule["hook"]): string {
  const { chain, spec } = SERVER_HOOK_CHAINS[hook];
  return `add chain ${table} ${chain} { ${spec} policy accept; }\n` +
    `flush chain ${table} ${chain}\nadd rule ${table} ${chain} jump keep\n`;
}

/**
 * Script that installs (or renews the timeout of) rule `r` named by `hash`; `listing` is its
 * hook chain now (the rule reaching `g_<hash>` is added only when missing).
 */
export function nftServerRuleApplyScript(
  table: string,
  r: ServerRule,
  hash: string,
  listing: ServerChainListing,
): string {
  const n = serverRuleNames(hash);
  const { chain } = SERVER_HOOK_CHAINS[r.hook];
  const key = r.family === "ip" ? "ipv4" : "ipv6";
  const lines = [`add chain ${table} ${n.chain}`, `flush chain ${table} ${n.chain}`];
  if (r.limit !== null && r.limit.per !== "all") {
    const type = r.family === "ip" ? "ipv4_addr" : "ipv6_addr";
    lines.push(
      `add set ${table} ${n.meter} { type ${type}; size 65535; flags dynamic,timeout; timeout 60s; }`,
    );
  }
  const el = `{ ${key} timeout ${r.ttl_s}s : jump ${n.chain} }`;
  lines.push(
    `add rule ${table} ${n.chain} ${serverRuleExpr(r, n.meter)}`,
    `add map ${table} ${n.map} { type nf_proto : verdict; flags timeout; }`,
    `add element ${table} ${n.map} ${el}`,
    `delete element ${table} ${n.map} { ${key} }`,
    `add element ${table} ${n.map} ${el}`,
  );
  if (!listing.rules.has(n.map)) {
    const at = r.first && listing.keep !== null ? ` position ${listing.keep}` : "";
    lines.push(`add rule ${table} ${chain}${at} meta nfproto vmap @${n.map}`);
  }
  return lines.join("\n") + "\n";
}

/** Script that removes rule `r` (present or expired) and its chain, map and meter. */
export function nftServerRuleUndoScript(
  table: string,
  r: ServerRule,
  hash: string,
  listing: ServerChainListing,
): string {
  const n = serverRuleNames(hash);
  const { chain } = SERVER_HOOK_CHAINS[r.hook];
  const lines: string[] = [];
  const handle = listing.rules.get(n.map);
  if (handle !== undefined) lines.push(`delete rule ${table} ${chain} handle ${handle}`);
  lines.push(
    `add map ${table} ${n.map} { type nf_proto : verdict; flags timeout; }`,
    `delete map ${table} ${n.map}`,
    `add chain ${table} ${n.chain}`,
    `flush chain ${table} ${n.chain}`,
    `delete chain ${table} ${n.chain}`,
  );
  if (r.limit !== null && r.limit.per !== "all") {
    const type = r.family === "ip" ? "ipv4_addr" : "ipv6_addr";
    lines.push(
      `add set ${table} ${n.meter} { type ${type}; size 65535; flags dynamic,timeout; timeout 60s; }`,
      `delete set ${table} ${n.meter}`,
    );
  }
  return lines.join("\n") + "\n";
}

function rangeText(v: ValueRange, sep: string): string {
  return v.from === v.to ? String(v.from) : `${v.from}${sep}${v.to}`;
}

function okRange(v: ValueRange, min: number, max: number): boolean {
  return Number.isInteger(v.from) && Number.isInteger(v.to) && v.from >= min && v.to <= max &&
    v.from <= v.to;
}
