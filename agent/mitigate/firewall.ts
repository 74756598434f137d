/**
 * Firewall backends: nftables (the agent's table `inet ftagent`, changed atomically through
 * `nft -f -`) and iptables + ipset (chain `FTAGENT`, sets `ftagent-*`). Both put kernel
 * timeouts on everything they add, run their tools as argument vectors (never a shell), and
 * never touch tables, chains or sets they do not own.
 *
 * @module
 */

import {
  actionKey,
  fnv1a,
  IPSET_PREFIX,
  IPT_CHAIN,
  IPT_KEEP_PREFIX,
  iptablesKeepPlan,
  iptablesPlans,
  isNftAction,
  isServerObject,
  type MitigationAction,
  NFT_INTERVAL_SETS,
  NFT_TABLE,
  nftApplyScript,
  nftCoveredScript,
  nftDeleteScript,
  nftIntervalSetsOf,
  type NftListedElement,
  type NftPresent,
  nftProtectScript,
  nftResetScript,
  nftServerChainScript,
  nftServerRuleApplyScript,
  nftServerRuleUndoScript,
  nftServerSetScript,
  nftServerSetUndoScript,
  nftSetElementScript,
  nftSetElementUndoScript,
  nftTable,
  nftUndoScript,
  NO_PROTECTED_FLOWS,
  parseNftSetElements,
  parseServerChain,
  type ProtectedFlows,
  SERVER_HOOK_CHAINS,
  type ServerRule,
  serverSetName,
  SHARED_SOURCE_SETS,
  sharedSourceRule,
} from "../../core/mitigate/mod.ts";
import { runTool } from "./_run_tool.ts";

/** A firewall the agent can put typed actions on. */
export interface FirewallBackend {
  /** Which firewall. */
  readonly name: "nftables" | "iptables";
  /** Whether the backend handles this action (sysctl and Cloudflare actions are elsewhere). */
  handles(action: MitigationAction): boolean;
  /** Removes whatever a previous run left and installs the agent's empty table/chain. */
  reset(): Promise<void>;
  /** Installs the agent's table/chain when missing, keeping what is there. */
  ensure(): Promise<void>;
  /** Installs the actions (renewing the timeout of present ones). */
  apply(actions: readonly MitigationAction[]): Promise<void>;
  /** Removes the actions (present or expired). */
  undo(actions: readonly MitigationAction[]): Promise<void>;
  /**
   * Puts the exemptions of the protected flows first in the agent's table/chain (replacing
   * older ones); later {@linkcode reset} and {@linkcode ensure} calls install them too.
   */
  protect(flows: ProtectedFlows): Promise<void>;
  /**
   * Removes the agent's table/chain and sets entirely; returns null, or why something stays
   * (an nft table the operator added chains or sets to is emptied of the agent's elements only).
   */
  remove(): Promise<string | null>;
}

/** nftables: one atomic `nft -f -` transaction per change. */
class NftBackend implements FirewallBackend {
  readonly name = "nftables";
  /** The flows of the last {@linkcode protect} (null: none yet, leave present ones alone). */
  #flows: ProtectedFlows | null = null;

  handles(action: MitigationAction): boolean {
    return isNftAction(action);
  }

  async reset(): Promise<void> {
    await runTool(["nft", "-f", "-"], nftResetScript(this.#flows ?? NO_PROTECTED_FLOWS));
  }

  async ensure(): Promise<void> {
    try {
      await runTool(["nft", "list", "table", "inet", "ftagent"]);
      if (this.#flows !== null) await runTool(["nft", "-f", "-"], nftProtectScript(this.#flows));
    } catch {
      await runTool(["nft", "-f", "-"], nftTable(this.#flows ?? NO_PROTECTED_FLOWS));
    }
  }

  async protect(flows: ProtectedFlows): Promise<void> {
    this.#flows = flows;
    await runTool(["nft", "-f", "-"], nftProtectScript(flows));
  }

  async apply(actions: readonly MitigationAction[]): Promise<void> {
    for (const a of actions) if (isServerObject(a)) await this.#object(a, false);
    const own = actions.filter((a) => isNftAction(a) && !isServerObject(a));
    const inSets = await listed(nftIntervalSetsOf(own));
    const now = present(inSets);
    // Narrower elements the new ones cover go first, in a transaction of their own (nft checks
    // overlaps against the set as it was), and come back if the wider ones cannot be added.
    const covered = nftCoveredScript(own, now);
    if (covered !== "") await runTool(["nft", "-f", "-"], covered);
    const script = nftApplyScript(own, now);
    try {
      if (script !== "") await runTool(["nft", "-f", "-"], script);
    } catch (err) {
      if (covered !== "") {
        await runTool(["nft", "-f", "-"], restoreScript(covered, inSets)).catch(() => "");
      }
      throw err;
    }
  }

  /** Adds (or renews) or removes a server rule, set or set element. */
  async #object(a: MitigationAction, undo: boolean): Promise<void> {
    if (a.type === "server_rule") return await this.#rule(a, undo);
    let script = "";
    if (a.type === "server_set") {
      script = undo ? nftServerSetUndoScript(NFT_TABLE, a) : nftServerSetScript(NFT_TABLE, a);
    } else if (a.type === "set_element") {
      script = undo ? nftSetElementUndoScript(NFT_TABLE, a) : nftSetElementScript(NFT_TABLE, a);
      if (undo && !await ok(["nft", "list", "set", "inet", "ftagent", serverSetName(a.set)])) {
        return; // the set is gone, and its elements with it
      }
    }
    if (script !== "") await runTool(["nft", "-f", "-"], script);
  }

  /** Adds (or renews) or removes a server rule in its hook's chain (made when missing). */
  async #rule(r: ServerRule, undo: boolean): Promise<void> {
    const chain = SERVER_HOOK_CHAINS[r.hook].chain;
    const list = () => runTool(["nft", "-a", "list", "chain", "inet", "ftagent", chain]);
    let text = await list().catch(() => null);
    if (text === null && !undo) {
      await runTool(["nft", "-f", "-"], nftServerChainScript(NFT_TABLE, r.hook));
      text = await list();
    }
    const listing = parseServerChain(text ?? "");
    const hash = fnv1a(actionKey(r));
    const script = undo
      ? nftServerRuleUndoScript(NFT_TABLE, r, hash, listing)
      : nftServerRuleApplyScript(NFT_TABLE, r, hash, listing);
    await runTool(["nft", "-f", "-"], script);
  }

  async undo(actions: readonly MitigationAction[]): Promise<void> {
    for (const a of actions.toReversed()) if (isServerObject(a)) await this.#object(a, true);
    const own = actions.filter((a) => isNftAction(a) && !isServerObject(a));
    const script = nftUndoScript(own, present(await listed(nftIntervalSetsOf(own))));
    if (script !== "") await runTool(["nft", "-f", "-"], script);
  }

  async remove(): Promise<string | null> {
    let listed: string;
    try {
      listed = await runTool(["nft", "-j", "list", "table", "inet", "ftagent"]);
    } catch {
      return null; // no table: nothing to remove
    }
    const foreign = foreignObjects(listed);
    if (foreign.length === 0) {
      await runTool(["nft", "-f", "-"], nftDeleteScript());
      return null;
    }
    // Someone else's chains or sets live in the table: keep it, without the agent's elements.
    for (const set of OWN_SETS) await ok(["nft", "flush", "set", "inet", "ftagent", set]);
    return `the table holds the operator's ${
      foreign.join(", ")
    }: kept, emptied of the agent's elements`;
  }
}

/** The agent's own sets and maps in `inet ftagent` (see nftTable). */
const OWN_SETS = [
  "src",
  "srcp",
  "proto",
  "sport",
  "dport",
  "frag",
  "rlproto",
  "rlsport",
  "rldport",
  "syn",
]
  .flatMap((n) => [`${n}4`, `${n}6`]);

/** Chains and sets in the listed table that the agent did not make. */
function foreignObjects(json: string): string[] {
  const out: string[] = [];
  let items: unknown[] = [];
  try {
    items = (JSON.parse(json) as { nftables?: unknown[] }).nftables ?? [];
  } catch { /* unreadable: treated as the agent's */ }
  for (const item of items) {
    const o = item as Record<string, { name?: unknown } | undefined>;
    const chain = o.chain?.name;
    if (
      typeof chain === "string" &&
      !/^(prerouting|keep|cmd_pre|cmd_in|cmd_fwd|(rl|s)_[0-9a-f]{8})$/.test(chain)
    ) {
      out.push(`chain ${chain}`);
    }
    for (const kind of ["set", "map"]) {
      const name = o[kind]?.name;
      if (
        typeof name === "string" && !OWN_SETS.includes(name) &&
        !/^([gm]_[0-9a-f]{8}|x_[A-Za-z0-9_]{1,24})$/.test(name)
      ) {
        out.push(`${kind} ${name}`);
      }
    }
  }
  return out;
}

/** Adds back what `covered` deleted, with the time each had left. */
function restoreScript(covered: string, listed: Map<string, NftListedElement[]>): string {
  const lines: string[] = [];
  for (const line of covered.split("\n")) {
    const m = /^delete element (\S+ \S+) (\S+) \{ (\S+) \}$/.exec(line);
    const el = m ? listed.get(m[2])?.find((e) => e.element === m[3]) : undefined;
    if (m && el) {
      lines.push(
        `add element ${m[1]} ${m[2]} { ${m[3]} timeout ${Math.max(1, el.expiresS ?? 1)}s }`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The elements now in the interval sets `sets` (a set that cannot be listed is left out). */
async function listed(sets: readonly string[]): Promise<Map<string, NftListedElement[]>> {
  const out = new Map<string, NftListedElement[]>();
  for (const set of sets) {
    if (!NFT_INTERVAL_SETS.includes(set)) continue;
    try {
      out.set(
        set,
        parseNftSetElements(await runTool(["nft", "-j", "list", "set", "inet", "ftagent", set])),
      );
    } catch { /* no table yet: the plain script */ }
  }
  return out;
}

/** Just the networks of {@linkcode listed}. */
function present(sets: Map<string, NftListedElement[]>): NftPresent {
  return new Map([...sets].map(([set, els]) => [set, els.map((e) => e.element)]));
}

/** iptables + ipset: a set with timed elements and a rule per action, in chain FTAGENT (raw). */
class IptablesBackend implements FirewallBackend {
  readonly name = "iptables";
  /** The flows of the last {@linkcode protect} (null: none yet, leave present ones alone). */
  #flows: ProtectedFlows | null = null;

  handles(action: MitigationAction): boolean {
    return isNftAction(action);
  }

  async reset(): Promise<void> {
    await this.remove();
    await this.ensure();
  }

  async ensure(): Promise<void> {
    for (const { tool, set, family } of SHARED_SOURCE_SETS) {
      await runTool([
        "ipset",
        "create",
        set,
        "hash:net",
        "family",
        family,
        "timeout",
        "0",
        "-exist",
      ]);
      await ok([tool, "-t", "raw", "-N", IPT_CHAIN]);
      if (!await ok([tool, "-t", "raw", "-C", "PREROUTING", "-j", IPT_CHAIN])) {
        await runTool([tool, "-t", "raw", "-I", "PREROUTING", "-j", IPT_CHAIN]);
      }
      const rule = sharedSourceRule(set);
      if (!await ok([tool, "-t", "raw", "-C", IPT_CHAIN, ...rule])) {
        await runTool([tool, "-t", "raw", "-A", IPT_CHAIN, ...rule]);
      }
    }
    if (this.#flows !== null) await this.#keep(this.#flows);
  }

  async protect(flows: ProtectedFlows): Promise<void> {
    this.#flows = flows;
    await this.#keep(flows);
  }

  /** Inserts the missing exemption rules first in the chain, then deletes outdated ones. */
  async #keep(flows: ProtectedFlows): Promise<void> {
    const plan = iptablesKeepPlan(flows);
    for (const tool of ["iptables", "ip6tables"] as const) {
      const listed = (await runTool([tool, "-t", "raw", "-S", IPT_CHAIN])).split("\n");
      const want = plan.filter((p) => p.tool === tool);
      for (const p of want.toReversed()) {
        if (!listed.some((l) => l.includes(p.tag))) {
          await runTool([tool, "-t", "raw", "-I", IPT_CHAIN, "1", ...p.rule]);
        }
      }
      for (const line of listed) {
        const tag = /--comment "?(ftagent-keep-[0-9a-f]{8})/.exec(line)?.[1];
        if (tag === undefined || !tag.startsWith(IPT_KEEP_PREFIX)) continue;
        if (want.some((p) => p.tag === tag)) continue;
        const spec = line.replace(/^-A \S+ /, "").replaceAll('"', "").split(" ");
        await ok([tool, "-t", "raw", "-D", IPT_CHAIN, ...spec]);
      }
    }
  }

  async apply(actions: readonly MitigationAction[]): Promise<void> {
    if (actions.some(isServerObject)) {
      throw new Error(
        "this rule needs mitigation.backend nftables (the iptables backend has fixed sets only)",
      );
    }
    for (const action of actions) {
      for (const p of iptablesPlans(action)) {
        if (!p.shared) {
          await runTool([
            "ipset",
            "create",
            p.set,
            "hash:net",
            "family",
            p.family,
            "timeout",
            "0",
            "-exist",
          ]);
        }
        for (const el of p.elements) {
          await runTool(["ipset", "add", p.set, el, "timeout", String(action.ttl_s), "-exist"]);
        }
        if (p.rule && !await ok([p.tool, "-t", "raw", "-C", IPT_CHAIN, ...p.rule])) {
          await runTool([p.tool, "-t", "raw", "-A", IPT_CHAIN, ...p.rule]);
        }
      }
    }
  }

  async undo(actions: readonly MitigationAction[]): Promise<void> {
    for (const action of actions) {
      for (const p of iptablesPlans(action)) {
        if (p.shared) {
          for (const el of p.elements) await ok(["ipset", "del", p.set, el, "-exist"]);
          continue;
        }
        if (p.rule) {
          while (await ok([p.tool, "-t", "raw", "-D", IPT_CHAIN, ...p.rule])) { /* duplicates */ }
        }
        await ok(["ipset", "destroy", p.set]);
      }
    }
  }

  async remove(): Promise<string | null> {
    for (const tool of ["iptables", "ip6tables"]) {
      while (await ok([tool, "-t", "raw", "-D", "PREROUTING", "-j", IPT_CHAIN])) { /* all */ }
      await ok([tool, "-t", "raw", "-F", IPT_CHAIN]);
      await ok([tool, "-t", "raw", "-X", IPT_CHAIN]);
    }
    const sets = await runTool(["ipset", "list", "-n"]).catch(() => "");
    for (const set of sets.split("\n").map((s) => s.trim())) {
      if (set.startsWith(IPSET_PREFIX)) await ok(["ipset", "destroy", set]);
    }
    return null;
  }
}

/** Runs a command whose failure is an answer (a -C check, a delete of what may be gone). */
async function ok(argv: string[]): Promise<boolean> {
  try {
    await runTool(argv);
    return true;
  } catch {
    return false;
  }
}

/** The backend named by the config. */
export function firewallBackend(name: "nftables" | "iptables"): FirewallBackend {
  return name === "iptables" ? new IptablesBackend() : new NftBackend();
}
