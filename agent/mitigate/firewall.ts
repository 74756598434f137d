/**
 * Firewall backends: nftables (the agent's table `inet ftagent`, changed atomically through
 * `nft -f -`) and iptables + ipset (chain `FTAGENT`, sets `ftagent-*`). Both put kernel
 * timeouts on everything they add, run their tools as argument vectors (never a shell), and
 * never touch tables, chains or sets they do not own.
 *
 * @module
 */

import {
  IPSET_PREFIX,
  IPT_CHAIN,
  iptablesPlans,
  isNftAction,
  type MitigationAction,
  nftApplyScript,
  nftDeleteScript,
  nftResetScript,
  nftTable,
  nftUndoScript,
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
  /** Removes the agent's table/chain and sets entirely. */
  remove(): Promise<void>;
}

/** nftables: one atomic `nft -f -` transaction per change. */
class NftBackend implements FirewallBackend {
  readonly name = "nftables";

  handles(action: MitigationAction): boolean {
    return isNftAction(action);
  }

  async reset(): Promise<void> {
    await runTool(["nft", "-f", "-"], nftResetScript());
  }

  async ensure(): Promise<void> {
    try {
      await runTool(["nft", "list", "table", "inet", "ftagent"]);
    } catch {
      await runTool(["nft", "-f", "-"], nftTable());
    }
  }

  async apply(actions: readonly MitigationAction[]): Promise<void> {
    const script = nftApplyScript(actions.filter(isNftAction));
    if (script !== "") await runTool(["nft", "-f", "-"], script);
  }

  async undo(actions: readonly MitigationAction[]): Promise<void> {
    const script = nftUndoScript(actions.filter(isNftAction));
    if (script !== "") await runTool(["nft", "-f", "-"], script);
  }

  async remove(): Promise<void> {
    await runTool(["nft", "-f", "-"], nftDeleteScript());
  }
}

/** iptables + ipset: a set with timed elements and a rule per action, in chain FTAGENT (raw). */
class IptablesBackend implements FirewallBackend {
  readonly name = "iptables";

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
  }

  async apply(actions: readonly MitigationAction[]): Promise<void> {
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

  async remove(): Promise<void> {
    for (const tool of ["iptables", "ip6tables"]) {
      while (await ok([tool, "-t", "raw", "-D", "PREROUTING", "-j", IPT_CHAIN])) { /* all */ }
      await ok([tool, "-t", "raw", "-F", IPT_CHAIN]);
      await ok([tool, "-t", "raw", "-X", IPT_CHAIN]);
    }
    const sets = await runTool(["ipset", "list", "-n"]).catch(() => "");
    for (const set of sets.split("\n").map((s) => s.trim())) {
      if (set.startsWith(IPSET_PREFIX)) await ok(["ipset", "destroy", set]);
    }
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
