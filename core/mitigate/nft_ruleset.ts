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
 *
 * @module
 */

import { actionKey, isV6, type MitigationAction } from "./action.ts";

/** The agent's table: family and name. */
export const NFT_TABLE = "inet ftagent";

/** Actions that live in nftables (the rest are sysctl or Cloudflare). */
export function isNftAction(a: MitigationAction): boolean {
  return a.type !== "syn_cookies" && a.type !== "cloudflare_rule";
}

const FAMILIES = [
  { v: "4", addr: "ipv4_addr", ip: "ip" },
  { v: "6", addr: "ipv6_addr", ip: "ip6" },
] as const;

/** The whole table, empty of elements (sets, maps and the prerouting chain). */
export function nftTable(): string {
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
    "  chain prerouting {",
    "    type filter hook prerouting priority -450; policy accept;",
    ...rules,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Script that replaces the table with an empty one (start-up: drops whatever a previous run left). */
export function nftResetScript(): string {
  return `add table ${NFT_TABLE}\ndelete table ${NFT_TABLE}\n${nftTable()}`;
}

/** Script that removes the agent's table (nothing else) entirely. */
export function nftDeleteScript(): string {
  return `add table ${NFT_TABLE}\ndelete table ${NFT_TABLE}\n`;
}

/**
 * Script that installs `actions` (or renews their timeout when present): for each element an
 * `add` (no-op when present), `delete`, `add` with the new timeout, all in one transaction.
 */
export function nftApplyScript(actions: readonly MitigationAction[]): string {
  const lines: string[] = [];
  for (const a of actions) {
    for (const el of elements(a)) {
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
 * Script that removes `actions` (present or already expired: each element is added with a
 * 1 s timeout first, so the delete cannot fail), and their rate-limit chains.
 */
export function nftUndoScript(actions: readonly MitigationAction[]): string {
  const lines: string[] = [];
  const chains: string[] = [];
  for (const a of actions) {
    for (const el of elements(a)) {
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
