/**
 * Acting on the firewall: nftables and iptables backends, Cloudflare, the enforcer that applies
 * and undoes actions with their time to live, and the mitigator that decides from incidents and
 * server commands.
 *
 * @module
 */

export * from "./enforcer.ts";
export * from "./firewall.ts";
export * from "./host_allowlist.ts";
export * from "./host_protection.ts";
export * from "./mitigation.ts";
export * from "./mitigator.ts";
export * from "./mitigator_types.ts";
