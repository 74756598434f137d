/**
 * nftables text for the agent's own table, `inet ftagent`, built from typed actions (never from
 * outside text), to be fed to `nft -f -` so each change is one atomic transaction.
 *
 * The table has fixed rules that look up named sets and verdict maps; every action is one
 * element carrying a kernel `timeout`, so a crashed or killed agent cannot leave a permanent
 * block: when an element expires its rule stops matching. A rate limit is a small chain of its
 * own (`rl_<hash>`) that a map element jumps to; once that element is gone the chain is inert,
 * and the next start recreates the whole table.
 *
 * The base chain hooks prerouting at priority -450, before connection tracking and
 * defragmentation, so floods are dropped at the cheapest point and fragments are seen as such.
 * Its first rule jumps to `keep`, whose `accept` rules exempt the protected flows (see
 * protect.ts) from every drop and limit below; an accept ends only the agent's table, so the
 * operator's own tables still see those packets.
 *
 * The single-address sets are interval sets, where the kernel refuses overlapping elements:
 * a network replaces the hosts it covers, and a host inside a blocked network is not added
 * (`auto-merge` is not used: it merges neighbours into one element with one timeout, so each
 * action's own time-to-live and undo would be lost).
 *
 * @module
 */

import { canonicalCidr, type Cidr, cidrsOverlap, parseCidr } from "../packet/mod.ts";
import { actionKey, isV6, type MitigationAction } from "./action.ts";
import { nftKeepRules, NO_PROTECTED_FLOWS, type ProtectedFlows } from "./protect.ts";

/** The agent's table: family and name. */
export const NFT_TABLE = "inet ftagent";

/** Actions that live in nftables (the rest are sysctl or Cloudflare). */
export function isNftAction(a: MitigationAction): boolean {
  return a.type !== "syn_cookies" && a.type !== "cloudflare_rule" && a.type !== "sysctl";
}

/** Actions with a script of their own (server rules and sets), not elements of the fixed sets. */
export function isServerObject(a: MitigationAction): boolean {
  return a.type === "server_rule" || a.type === "server_set" || a.type === "set_element";
}

const FAMILIES = [
  { v: "4", addr: "ipv4_addr", ip: "ip" },
  { v: "6", addr: "ipv6_addr", ip: "ip6" },
] as const;

/**
 * The whole table, empty of elements (sets, maps, the prerouting chain and the `keep` chain it
 * jumps to first, holding the exemptions of the protected flows `p`).
 */
export function nftTable(p: ProtectedFlows = NO_PROTECTED_FLOWS): string {
  const sets: string[] = [];
  const rules: string[] = [];
  const set = (name: string, type: string, map = false) =>
    sets.push(
      `  ${map ? "map" : "set"} ${name} { type ${type}${
        map ? " : verdict" : ""
      }; flags interval,timeout; }`,
    );
  for (const f of FAMILIES) {
    set(`src${f.v}`, f.addr);
    set(`srcp${f.v}`, `${f.addr} . inet_proto`);
    set(`proto${f.v}`, `${f.addr} . inet_proto`);
    set(`sport${f.v}`, `${f.addr} . inet_proto . inet_service`);
    set(`dport${f.v}`, `${f.addr} . inet_proto . inet_service`);
    set(`frag${f.v}`, f.addr);
    set(`rlproto${f.v}`, `${f.addr} . inet_proto`, true);
    set(`rlsport${f.v}`, `${f.addr} . inet_proto . inet_service`, true);
    set(`rldport${f.v}`, `${f.addr} . inet_proto . inet_service`, true);
    set(`syn${f.v}`, `${f.addr} . inet_service`, true);
    const ip = f.ip;
    rules.push(
      `    ${ip} saddr @src${f.v} counter drop`,
      `    ${ip} saddr . meta l4proto @srcp${f.v} counter drop`,
      `    ${ip} daddr . meta l4proto @proto${f.v} counter drop`,
      `    ${ip} daddr . meta l4proto . th sport @sport${f.v} counter drop`,
      `    ${ip} daddr . meta l4proto . th dport @dport${f.v} counter drop`,
      f.v === "4"
        ? `    ip daddr @frag4 ip frag-off & 0x3fff != 0 counter drop`
        : `    ip6 daddr @frag6 exthdr frag exists counter drop`,
      `    ${ip} daddr . meta l4proto vmap @rlproto${f.v}`,
      `    ${ip} daddr . meta l4proto . th sport vmap @rlsport${f.v}`,
      `    ${ip} daddr . meta l4proto . th dport vmap @rldport${f.v}`,
      `    tcp flags & (syn | ack) == syn ${ip} daddr . tcp dport vmap @syn${f.v}`,
    );
  }
  return [
    `table ${NFT_TABLE} {`,
    ...sets,
    "  chain keep {",
    ...nftKeepRules(p).map((r) => `    ${r}`),
    "  }",
    "  chain prerouting {",
    "    type filter hook prerouting priority -450; policy accept;",
    "    jump keep",
    ...rules,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Script that replaces the table with an empty one (start-up: drops whatever a previous run left). */
export function nftResetScript(p: ProtectedFlows = NO_PROTECTED_FLOWS): string {
  return `add table ${NFT_TABLE}\ndelete table ${NFT_TABLE}\n${nftTable(p)}`;
}

/** Script that replaces the exemptions of the `keep` chain with those of `p`. */
export function nftProtectScript(p: ProtectedFlows): string {
  return [
    `add chain ${NFT_TABLE} keep`,
    `flush chain ${NFT_TABLE} keep`,
    ...nftKeepRules(p).map((r) => `add rule ${NFT_TABLE} keep ${r}`),
    "",
  ].join("\n");
}

/** Script that removes the agent's table (nothing else) entirely. */
export function nftDeleteScript(): string {
  return `add table ${NFT_TABLE}\ndelete table ${NFT_TABLE}\n`;
}

/** The single-address interval sets, where the kernel refuses overlapping elements. */
export const NFT_INTERVAL_SETS: readonly string[] = ["src4", "src6", "frag4", "frag6"];

/** Elements present in some of the agent's sets (set name to canonical networks). */
export type NftPresent = ReadonlyMap<string, readonly string[]>;

/** The interval sets (of {@linkcode NFT_INTERVAL_SETS}) that `actions` put elements in. */
export function nftIntervalSetsOf(actions: readonly MitigationAction[]): string[] {
  const out = new Set<string>();
  for (const a of actions) {
    for (const el of elements(a)) if (NFT_INTERVAL_SETS.includes(el.set)) out.add(el.set);
  }
  return [...out];
}

/** One element of a set as listed: canonical network and seconds left (null: no timeout). */
export interface NftListedElement {
  /** Canonical address or network. */
  element: string;
  /** Seconds until the kernel removes it, or null. */
  expiresS: number | null;
}

/** The elements of one set from `nft -j list set` output (ranges skipped). */
export function parseNftSetElements(json: string): NftListedElement[] {
  const out: NftListedElement[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return out;
  }
  const items = (doc as { nftables?: unknown })?.nftables;
  if (!Array.isArray(items)) return out;
  for (const item of items) {
    const elems = (item as { set?: { elem?: unknown } })?.set?.elem;
    if (!Array.isArray(elems)) continue;
    for (const e of elems) {
      const wrapped = (e as { elem?: { val?: unknown; expires?: unknown } })?.elem;
      const val = wrapped?.val ?? e;
      const expires = typeof wrapped?.expires === "number" ? wrapped.expires : null;
      const prefix = (val as { prefix?: { addr?: unknown; len?: unknown } })?.prefix;
      const text = typeof val === "string"
        ? val
        : typeof prefix?.addr === "string" && typeof prefix.len === "number"
        ? `${prefix.addr}/${prefix.len}`
        : null;
      const element = text === null ? null : canonicalCidr(text);
      if (element !== null) out.push({ element, expiresS: expires });
    }
  }
  return out;
}

/**
 * Script that installs `actions` (or renews their timeout when present): for each element an
 * `add` (no-op when present), `delete`, `add` with the new timeout, all in one transaction.
 *
 * In the single-address interval sets the kernel refuses overlaps, so with `present` (their
 * elements now) an element a wider one already covers is not added (the caller puts it back
 * when the wider one is undone); narrower ones the new element covers must be gone first
 * ({@linkcode nftCoveredScript}, its own transaction: nft checks overlaps against the set as it
 * was before the transaction).
 */
export function nftApplyScript(
  actions: readonly MitigationAction[],
  present: NftPresent = new Map(),
): string {
  const lines: string[] = [];
  for (const a of actions) {
    for (const el of elements(a)) {
      const key = present.has(el.set) ? parseCidr(el.key)! : null;
      if (key !== null && present.get(el.set)!.some((e) => wider(parseCidr(e)!, key))) continue;
      if (el.chain) {
        lines.push(
          `add chain ${NFT_TABLE} ${el.chain.name}`,
          `flush chain ${NFT_TABLE} ${el.chain.name}`,
          `add rule ${NFT_TABLE} ${el.chain.name} ${el.chain.rule}`,
        );
      }
      const verdict = el.chain ? ` : jump ${el.chain.name}` : "";
      lines.push(
        `add element ${NFT_TABLE} ${el.set} { ${el.key} timeout ${a.ttl_s}s${verdict} }`,
        `delete element ${NFT_TABLE} ${el.set} { ${el.key} }`,
        `add element ${NFT_TABLE} ${el.set} { ${el.key} timeout ${a.ttl_s}s${verdict} }`,
      );
    }
  }
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

/**
 * Script that deletes the `present` interval-set elements that `actions` cover with a wider
 * one (a host when its network is blocked), so that adding the network cannot overlap.
 */
export function nftCoveredScript(
  actions: readonly MitigationAction[],
  present: NftPresent,
): string {
  const lines = new Set<string>();
  for (const a of actions) {
    for (const el of elements(a)) {
      const inSet = present.get(el.set);
      if (inSet === undefined) continue;
      const key = parseCidr(el.key)!;
      if (inSet.some((e) => wider(parseCidr(e)!, key))) continue;
      for (const e of inSet.filter((e) => wider(key, parseCidr(e)!))) {
        lines.add(`add element ${NFT_TABLE} ${el.set} { ${e} timeout 1s }`);
        lines.add(`delete element ${NFT_TABLE} ${el.set} { ${e} }`);
      }
    }
  }
  return lines.size > 0 ? [...lines].join("\n") + "\n" : "";
}

/** True when `a` strictly contains `b`. */
function wider(a: Cidr, b: Cidr): boolean {
  return a.prefix < b.prefix && cidrsOverlap(a, b);
}

/**
 * Script that removes `actions` (present or already expired: each element is added with a
 * 1 s timeout first, so the delete cannot fail), and their rate-limit chains. With `present`,
 * an interval-set element that is not there (expired, or replaced by a wider one) is left
 * alone: adding it back could overlap the wider one.
 */
export function nftUndoScript(
  actions: readonly MitigationAction[],
  present: NftPresent = new Map(),
): string {
  const lines: string[] = [];
  const chains: string[] = [];
  for (const a of actions) {
    for (const el of elements(a)) {
      const inSet = present.get(el.set);
      if (inSet !== undefined && !inSet.includes(el.key)) continue;
      if (el.chain) lines.push(`add chain ${NFT_TABLE} ${el.chain.name}`);
      const verdict = el.chain ? ` : jump ${el.chain.name}` : "";
      lines.push(
        `add element ${NFT_TABLE} ${el.set} { ${el.key} timeout 1s${verdict} }`,
        `delete element ${NFT_TABLE} ${el.set} { ${el.key} }`,
      );
      if (el.chain) chains.push(`delete chain ${NFT_TABLE} ${el.chain.name}`);
    }
  }
  lines.push(...new Set(chains));
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

interface Element {
  set: string;
  key: string;
  chain?: { name: string; rule: string };
}

/** The set elements of one action (one per address family it covers). */
function elements(a: MitigationAction): Element[] {
  switch (a.type) {
    case "drop_source": {
      const v = isV6(a.source) ? "6" : "4";
      return a.protocol === null
        ? [{ set: `src${v}`, key: a.source }]
        : [{ set: `srcp${v}`, key: `${a.source} . ${proto(a.protocol, v)}` }];
    }
    case "drop_traffic":
    case "rate_limit": {
      const limit = a.type === "rate_limit" ? rateChain(a) : undefined;
      const prefix = a.type === "rate_limit" ? "rl" : "";
      return families(a.target).map(({ v, addr }) => {
        const p = proto(a.protocol, v);
        if (a.src_port !== null) {
          return { set: `${prefix}sport${v}`, key: `${addr} . ${p} . ${a.src_port}`, chain: limit };
        }
        if (a.dst_port !== null) {
          return { set: `${prefix}dport${v}`, key: `${addr} . ${p} . ${a.dst_port}`, chain: limit };
        }
        return { set: `${prefix}proto${v}`, key: `${addr} . ${p}`, chain: limit };
      });
    }
    case "drop_fragments":
      return families(a.target).map(({ v, addr }) => ({ set: `frag${v}`, key: addr }));
    case "syn_rate_limit": {
      const chain = rateChain(a);
      const port = a.dst_port === null ? "0-65535" : String(a.dst_port);
      return families(a.target).map(({ v, addr }) => ({
        set: `syn${v}`,
        key: `${addr} . ${port}`,
        chain,
      }));
    }
    default:
      return [];
  }
}

function families(target: string | null): { v: "4" | "6"; addr: string }[] {
  if (target === null) return [{ v: "4", addr: "0.0.0.0/0" }, { v: "6", addr: "::/0" }];
  return [{ v: isV6(target) ? "6" : "4", addr: target }];
}

/** Protocol number for the family's sets (ICMP means ICMPv6 for IPv6). */
function proto(n: number, v: "4" | "6"): number {
  return n === 1 && v === "6" ? 58 : n;
}

function rateChain(a: MitigationAction & { pps: number }): { name: string; rule: string } {
  const name = `rl_${fnv1a(actionKey(a))}`;
  return { name, rule: `limit rate over ${a.pps}/second burst ${a.pps} packets counter drop` };
}

/** FNV-1a of a string, 8 hex digits: stable names for rate-limit chains. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * True when `wide`'s interval-set element contains `narrow`'s (and differs): while `wide` is in
 * force `narrow` is not in the set, so undoing `wide` must put `narrow` back.
 */
export function nftCovers(wide: MitigationAction, narrow: MitigationAction): boolean {
  const a = elements(wide).filter((e) => NFT_INTERVAL_SETS.includes(e.set));
  const b = elements(narrow).filter((e) => NFT_INTERVAL_SETS.includes(e.set));
  return a.some((x) =>
    b.some((y) => {
      return x.set === y.set && wider(parseCidr(x.key)!, parseCidr(y.key)!);
    })
  );
}
