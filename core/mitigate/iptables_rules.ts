/**
 * iptables + ipset argument vectors for the fallback backend, built from typed actions. The
 * agent owns one chain, `FTAGENT` in the raw table (jumped to from PREROUTING, before
 * connection tracking), and the ipsets named `ftagent-*`; nothing else is touched.
 *
 * Same crash safety as nftables: every rule matches through an ipset whose one element carries
 * a kernel timeout, so when the element expires the rule stops matching. Sources without a
 * protocol share the sets `ftagent-src4`/`ftagent-src6` and one rule each; every other action
 * has its own set and rule.
 *
 * @module
 */

import { fnv1a } from "./nft_ruleset.ts";
import { actionKey, isV6, type MitigationAction } from "./action.ts";
import { iptablesKeepRules, type ProtectedFlows } from "./protect.ts";

/** The agent's chain (in the raw table of iptables and ip6tables). */
export const IPT_CHAIN = "FTAGENT";
/** Prefix of every ipset the agent owns. */
export const IPSET_PREFIX = "ftagent-";

/** What installing one action takes: the set, its elements and the rule that uses them. */
export interface IptablesPlan {
  /** `iptables` or `ip6tables`. */
  tool: "iptables" | "ip6tables";
  /** The ipset holding the action's addresses or ports. */
  set: string;
  /** The set's address family. */
  family: "inet" | "inet6";
  /** The set's elements. */
  elements: string[];
  /** The rule's match and target (after `-t raw -A FTAGENT`); null for the shared source sets. */
  rule: string[] | null;
  /** True when the set is shared (its rule stays; only the element goes on undo). */
  shared: boolean;
}

/** The shared source sets and their rules, per family. */
export const SHARED_SOURCE_SETS = [
  { tool: "iptables", set: `${IPSET_PREFIX}src4`, family: "inet" },
  { tool: "ip6tables", set: `${IPSET_PREFIX}src6`, family: "inet6" },
] as const;

/** The rule matching a shared source set. */
export function sharedSourceRule(set: string): string[] {
  return ["-m", "set", "--match-set", set, "src", "-j", "DROP"];
}

/** How each action maps onto iptables (one plan per address family it covers). */
export function iptablesPlans(a: MitigationAction): IptablesPlan[] {
  const name = `${IPSET_PREFIX}${fnv1a(actionKey(a))}`;
  const limitName = `ft${fnv1a(actionKey(a))}`;
  const limit = (pps: number) => [
    "-m",
    "hashlimit",
    "--hashlimit-above",
    `${pps}/sec`,
    "--hashlimit-burst",
    String(pps),
    "--hashlimit-name",
    limitName,
    "-j",
    "DROP",
  ];
  switch (a.type) {
    case "drop_source": {
      const v6 = isV6(a.source);
      if (a.protocol === null) {
        const shared = SHARED_SOURCE_SETS[v6 ? 1 : 0];
        return [{ ...shared, elements: [a.source], rule: null, shared: true }];
      }
      return [{
        tool: v6 ? "ip6tables" : "iptables",
        set: name,
        family: v6 ? "inet6" : "inet",
        elements: [a.source],
        rule: [...proto(a.protocol, v6), ...matchSet(name, "src"), "-j", "DROP"],
        shared: false,
      }];
    }
    case "drop_traffic":
    case "rate_limit":
      return families(a.target).map(({ v6, elements }, i) => {
        const ports = a.src_port !== null
          ? ["--sport", String(a.src_port)]
          : a.dst_port !== null
          ? ["--dport", String(a.dst_port)]
          : [];
        const verdict = a.type === "rate_limit" ? limit(a.pps) : ["-j", "DROP"];
        return own(name, i, v6, elements, [
          ...proto(a.protocol, v6),
          ...ports,
          ...matchSet(`${name}${i}`, "dst"),
          ...verdict,
        ]);
      });
    case "drop_fragments":
      return families(a.target).map(({ v6, elements }, i) =>
        own(name, i, v6, elements, [
          ...(v6 ? ["-m", "frag"] : ["-f"]),
          ...matchSet(`${name}${i}`, "dst"),
          "-j",
          "DROP",
        ])
      );
    case "syn_rate_limit":
      return families(a.target).map(({ v6, elements }, i) =>
        own(name, i, v6, elements, [
          "-p",
          "tcp",
          "--syn",
          ...(a.dst_port === null ? [] : ["--dport", String(a.dst_port)]),
          ...matchSet(`${name}${i}`, "dst"),
          ...limit(a.pps),
        ])
      );
    default:
      return [];
  }
}

function own(
  name: string,
  i: number,
  v6: boolean,
  elements: string[],
  rule: string[],
): IptablesPlan {
  return {
    tool: v6 ? "ip6tables" : "iptables",
    set: `${name}${i}`,
    family: v6 ? "inet6" : "inet",
    elements,
    rule,
    shared: false,
  };
}

function matchSet(set: string, dir: "src" | "dst"): string[] {
  return ["-m", "set", "--match-set", set, dir];
}

function proto(n: number, v6: boolean): string[] {
  const p = n === 1 && v6 ? 58 : n;
  return ["-p", String(p)];
}

/** The addresses a target covers: one host, or both halves of the family for "every address". */
function families(target: string | null): { v6: boolean; elements: string[] }[] {
  if (target === null) {
    return [
      { v6: false, elements: ["0.0.0.0/1", "128.0.0.0/1"] },
      { v6: true, elements: ["::/1", "8000::/1"] },
    ];
  }
  return [{ v6: isV6(target), elements: [target] }];
}

/** Comment prefix of the agent's exemption rules (each carries a hash of itself after it). */
export const IPT_KEEP_PREFIX = "ftagent-keep-";

/**
 * The exemption rules of the protected flows, first in chain FTAGENT: each returns matching
 * packets to PREROUTING (past the agent's drops, on to the operator's rules) and is tagged with
 * a comment naming its own hash, so an update only adds and deletes what changed.
 */
export function iptablesKeepPlan(
  p: ProtectedFlows,
): { tool: "iptables" | "ip6tables"; tag: string; rule: string[] }[] {
  return iptablesKeepRules(p).map(({ tool, rule }) => {
    const tag = `${IPT_KEEP_PREFIX}${fnv1a(`${tool} ${rule.join(" ")}`)}`;
    return { tool, tag, rule: [...rule, "-m", "comment", "--comment", tag, "-j", "RETURN"] };
  });
}
