/**
 * Mitigation as typed values: the actions the agent may take, the plan for an incident, the
 * allowlist, nftables and iptables rule text, and the parser of the control plane's commands.
 *
 * @module
 */

export * from "./action.ts";
export * from "./allowlist.ts";
export * from "./caps.ts";
export * from "./command_parser.ts";
export * from "./iptables_rules.ts";
export * from "./nft_ruleset.ts";
export * from "./plan.ts";
export * from "./protect.ts";
export * from "./safe_sysctl.ts";
export * from "./server_rule.ts";
export * from "./server_set.ts";
