/**
 * Config keys of the mitigation layer: their zod shape (validation and defaults) and their type.
 * `config.ts` merges them into the whole config.
 *
 * All of them live in one `mitigation` section; `{"mitigation": {"mode": "auto"}}` alone turns on
 * the default rules of `core/mitigate/plan.ts` for every attack family.
 *
 * @module
 */

import { z } from "zod";
import { canonicalCidr, PROTOCOL_NUMBERS } from "../packet/mod.ts";

/** What the agent does when an incident opens: act, propose for approval, or only log. */
export type MitigationMode = "auto" | "manual" | "dry_run";

const Mode = z.enum(["auto", "manual", "dry_run"]);
const Ttl = z.number().int().min(5).max(86400);
const Port = z.number().int().min(1).max(65535);
const Pps = z.number().int().min(1).max(10_000_000);
const Protocol = z.union([
  z.enum(Object.keys(PROTOCOL_NUMBERS) as [string, ...string[]]),
  z.number().int().min(1).max(255),
]);
const Cidr = z.string().refine((s) => canonicalCidr(s) !== null, "expected an address or CIDR");

/** One action of a configured rule; the planner fills in the incident's target and sources. */
const ActionSpecSchema = z.discriminatedUnion("type", [
  /** Drop the top offending sources (skipped when the sources are spoofed). */
  z.object({ type: z.literal("drop_sources"), ttl_seconds: Ttl.optional() }).strict(),
  /** Drop a protocol to the target; a port may be a number, "top" (the dominant destination
   * port) or "service" (the amplification service's source ports). */
  z.object({
    type: z.literal("drop"),
    protocol: Protocol,
    src_port: z.union([Port, z.literal("service")]).optional(),
    dst_port: z.union([Port, z.literal("top")]).optional(),
    ttl_seconds: Ttl.optional(),
  }).strict(),
  /** Rate-limit a protocol to the target (same port forms as "drop"). */
  z.object({
    type: z.literal("rate_limit"),
    protocol: Protocol,
    src_port: z.union([Port, z.literal("service")]).optional(),
    dst_port: z.union([Port, z.literal("top")]).optional(),
    pps: Pps.optional(),
    ttl_seconds: Ttl.optional(),
  }).strict(),
  /** Drop every fragment to the target. */
  z.object({ type: z.literal("drop_fragments"), ttl_seconds: Ttl.optional() }).strict(),
  /** Rate-limit SYNs to the target's port ("top": the dominant destination port, else all). */
  z.object({
    type: z.literal("syn_rate_limit"),
    dst_port: z.union([Port, z.literal("top")]).optional(),
    pps: Pps.optional(),
    ttl_seconds: Ttl.optional(),
  }).strict(),
  /** Turn on SYN cookies while the incident lasts. */
  z.object({ type: z.literal("syn_cookies"), ttl_seconds: Ttl.optional() }).strict(),
  /** Cloudflare access rules for the top sources (needs `cloudflare.api_token` and `zone_id`). */
  z.object({
    type: z.literal("cloudflare"),
    mode: z.enum(["block", "challenge"]).optional(),
    ttl_seconds: Ttl.optional(),
  }).strict(),
]);

/** A configured rule: overrides the mode, the actions, or both, for a family or family/subtype. */
const Rule = z.object({
  mode: Mode.optional(),
  actions: z.array(ActionSpecSchema).max(64).optional(),
}).strict();

const RuleKey = z.string().regex(
  /^[a-z0-9_]+(?:\/[a-z0-9_+]+)?$/,
  'expected "family" or "family/subtype"',
);

const MitigationSchema = z.object({
  /** Default mode of every rule: act at once, propose for approval, or only log. */
  mode: Mode.default("dry_run"),
  /**
   * Commands the control plane pushes (approved by the operator in its dashboard): applied, or
   * only logged. Apart from `mode`, which is about the agent's own decisions.
   */
  server_commands: z.enum(["apply", "dry_run"]).default("apply"),
  backend: z.enum(["nftables", "iptables"]).default("nftables"),
  /** Time-to-live of an action unless its rule says otherwise (seconds). */
  ttl_seconds: Ttl.default(600),
  allowlist: z.array(Cidr).max(10000).default([]),
  max_blocked_entries: z.number().int().min(1).max(1_000_000).default(1000),
  max_actions_per_minute: z.number().int().min(1).max(100_000).default(60),
  max_sources_per_incident: z.number().int().min(1).max(1000).default(20),
  /** Rate of the default rate limits (packets per second). */
  rate_limit_pps: Pps.default(1000),
  /** Rate of the default SYN rate limit (SYNs per second). */
  syn_rate_limit_pps: Pps.default(1000),
  rules: z.record(RuleKey, Rule).default({}),
  cloudflare: z.object({
    api_token: z.string().max(200).default(""),
    zone_id: z.string().regex(/^[0-9a-fA-F]{0,64}$/, "expected a hex zone id").default(""),
    api_base: z.string().url().default("https://api.cloudflare.com/client/v4"),
    /** What the default rules ask for: block or challenge. */
    mode: z.enum(["block", "challenge"]).default("block"),
  }).strict().prefault({}),
}).strict();

/** Validation and defaults of the mitigation keys. */
export const MitigationShape = {
  /** Auto-mitigation: mode, rules, safety caps, backend, Cloudflare. */
  mitigation: MitigationSchema.prefault({}),
} satisfies z.ZodRawShape;

/** A port in a configured action: a number, the dominant one, or the service's. */
export type PortSpec = number | "top" | "service";

/** One configured action (see the schema for each field's meaning). */
export type ActionSpec =
  | { type: "drop_sources"; ttl_seconds?: number }
  | {
    type: "drop";
    protocol: string | number;
    src_port?: number | "service";
    dst_port?: number | "top";
    ttl_seconds?: number;
  }
  | {
    type: "rate_limit";
    protocol: string | number;
    src_port?: number | "service";
    dst_port?: number | "top";
    pps?: number;
    ttl_seconds?: number;
  }
  | { type: "drop_fragments"; ttl_seconds?: number }
  | { type: "syn_rate_limit"; dst_port?: number | "top"; pps?: number; ttl_seconds?: number }
  | { type: "syn_cookies"; ttl_seconds?: number }
  | { type: "cloudflare"; mode?: "block" | "challenge"; ttl_seconds?: number };

/** A configured rule. */
export interface MitigationRule {
  /** Mode of this rule's actions (the section's mode otherwise). */
  mode?: MitigationMode;
  /** The actions (the default rule's otherwise). */
  actions?: ActionSpec[];
}

/** The `mitigation` section, every key present. */
export interface MitigationSettings {
  /** Apply, propose or only log the actions the agent decides itself ("dry_run"). */
  mode: MitigationMode;
  /**
   * Apply the commands a control plane pushes ("apply", the default: the operator approved them
   * in the dashboard), or only log them ("dry_run"). Only a node with an `api_key` gets any.
   */
  server_commands: "apply" | "dry_run";
  /** The kernel firewall used. */
  backend: "nftables" | "iptables";
  /** Seconds an action stays in force unless it says otherwise. */
  ttl_seconds: number;
  /** Addresses and networks never blocked. */
  allowlist: string[];
  /** Safety cap: entries blocked at once. */
  max_blocked_entries: number;
  /** Safety cap: actions applied per minute. */
  max_actions_per_minute: number;
  /** Safety cap: sources blocked per incident. */
  max_sources_per_incident: number;
  /** Default packets/s of rate limits. */
  rate_limit_pps: number;
  /** Default SYN packets/s of SYN rate limits. */
  syn_rate_limit_pps: number;
  /** Rules by family or family/subtype, over the defaults. */
  rules: Record<string, MitigationRule>;
  /** Cloudflare access rules (with a token and zone). */
  cloudflare: {
    /** An API token allowed to edit the zone's firewall access rules. */
    api_token: string;
    /** The zone the rules are made in. */
    zone_id: string;
    /** The Cloudflare API root. */
    api_base: string;
    /** What a rule does to a source: block it, or challenge it. */
    mode: "block" | "challenge";
  };
}

/** The mitigation keys, every key present (must match {@linkcode MitigationShape}). */
export interface MitigationConfig {
  /** Auto-mitigation (all of it in one section). */
  mitigation: MitigationSettings;
}
