/**
 * Config keys of mirror mode (a SPAN port seeing the traffic of whole networks) and of the
 * named networks with their own thresholds: their zod shape, their type, and the checks that
 * span several keys ({@linkcode mirrorConflict}). `config.ts` merges them into the whole config.
 *
 * @module
 */

import { z } from "zod";
import { canonicalCidr, type Cidr, cidrsOverlap, parseCidr } from "../packet/mod.ts";

/** Most `mirror_subnets` entries and most `networks` (each is a prefix target of its own). */
export const MAX_MIRROR_PREFIXES = 256;

const cidr = z.string().refine((s) => canonicalCidr(s) !== null, "expected an address or CIDR");
const rate = z.number().finite().nonnegative();

/** Per-network thresholds (rates in packets/s, bps in bits/s; 0 = off; a missing one: usual). */
const NetworkThresholds = z.object({
  pps: rate.optional(),
  bps: rate.optional(),
  syn_pps: rate.optional(),
  udp_pps: rate.optional(),
  icmp_pps: rate.optional(),
  fragment_pps: rate.optional(),
}).strict();

const Network = z.object({
  prefix: cidr,
  name: z.string().min(1).max(64).regex(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, {
    message: "expected 1-64 printable ASCII characters, no leading or trailing space",
  }),
  thresholds: NetworkThresholds.default({}),
}).strict();

/** Validation and defaults of the mirror keys. */
export const MirrorShape = {
  mirror_mode: z.boolean().default(false),
  mirror_interface: z.string().max(15).regex(/^[^\s/:]*$/, {
    message: "expected an interface name (no spaces, '/' or ':', at most 15 characters)",
  }).default(""),
  mirror_subnets: z.array(cidr).max(MAX_MIRROR_PREFIXES).default([]),
  mirror_tracked_destinations: z.number().int().min(64).max(65536).default(4096),
  networks: z.array(Network).max(MAX_MIRROR_PREFIXES).default([]),
} satisfies z.ZodRawShape;

/** Thresholds of one named network (absent: the usual ones; 0: off). */
export interface NetworkThresholdsConfig {
  /** Packets per second of one address. */
  pps?: number;
  /** Bits per second of one address. */
  bps?: number;
  /** SYNs per second of one address. */
  syn_pps?: number;
  /** UDP packets per second of one address. */
  udp_pps?: number;
  /** ICMP packets per second of one address. */
  icmp_pps?: number;
  /** Fragments per second of one address. */
  fragment_pps?: number;
}

/** A named network: its addresses' incidents carry its name, and its thresholds apply. */
export interface NetworkConfig {
  /** The network (CIDR, IPv4 or IPv6). */
  prefix: string;
  /** Its name in incidents (a customer, a rack). */
  name: string;
  /** Static thresholds of each address in it (default `{}`: the usual thresholds). */
  thresholds: NetworkThresholdsConfig;
}

/** The mirror keys, every key present (must match {@linkcode MirrorShape}). */
export interface MirrorConfig {
  /**
   * Watch whole networks seen on a mirror (SPAN) port: the protected addresses are
   * `mirror_subnets`, each address in them is a target of its own, and each prefix too (false).
   */
  mirror_mode: boolean;
  /** The interface receiving the mirrored traffic, opened promiscuous (required in mirror mode). */
  mirror_interface: string;
  /** The protected prefixes, IPv4 and IPv6 (required in mirror mode; no two may overlap). */
  mirror_subnets: string[];
  /** Addresses tracked one by one in mirror mode (4096; about 10 KiB of memory each). */
  mirror_tracked_destinations: number;
  /** Named networks inside `mirror_subnets`, with optional per-address thresholds (`[]`). */
  networks: NetworkConfig[];
}

/**
 * What is wrong across the mirror keys of a validated config, as one line; null when nothing
 * is: mirror mode needs subnets that do not overlap and an interface (unless flows are the
 * source), replaces `protected_networks`, and networks must be unique, inside the subnets,
 * and used in mirror mode only.
 */
export function mirrorConflict(
  config: MirrorConfig & { protected_networks: string[]; flow_enabled: boolean },
): string | null {
  const { networks } = config;
  if (!config.mirror_mode) {
    return networks.length > 0
      ? `config key "networks": used in mirror mode only, and "mirror_mode" is false`
      : null;
  }
  if (config.mirror_subnets.length === 0) {
    return `config key "mirror_subnets": mirror mode needs at least one protected prefix`;
  }
  if (config.mirror_interface === "" && !config.flow_enabled) {
    return `config key "mirror_interface": mirror mode needs the interface of the mirror port`;
  }
  if (config.protected_networks.length > 0) {
    return `config key "protected_networks": not used in mirror mode (the protected ` +
      `addresses are "mirror_subnets"): remove it or move its prefixes there`;
  }
  const subnets = config.mirror_subnets.map((s) => parseCidr(s)!);
  const overlap = firstOverlap(subnets);
  if (overlap !== null) {
    const [a, b] = overlap;
    return `config key "mirror_subnets": ${config.mirror_subnets[a]} and ` +
      `${config.mirror_subnets[b]} overlap (each address must belong to one subnet)`;
  }
  const seenNames = new Map<string, number>();
  const seenPrefixes = new Map<string, number>();
  for (let n = 0; n < networks.length; n++) {
    const net = networks[n];
    const key = canonicalCidr(net.prefix)!;
    const where = `config key "networks.${n}`;
    if (seenNames.has(net.name)) {
      return `${where}.name": ${JSON.stringify(net.name)} is also networks.${
        seenNames.get(net.name)
      }'s name`;
    }
    if (seenPrefixes.has(key)) {
      return `${where}.prefix": ${key} is also networks.${seenPrefixes.get(key)}'s prefix`;
    }
    seenNames.set(net.name, n);
    seenPrefixes.set(key, n);
    const c = parseCidr(net.prefix)!;
    if (!subnets.some((s) => contains(s, c))) {
      return `${where}.prefix": ${key} is not inside any of mirror_subnets ` +
        `(${config.mirror_subnets.join(", ")})`;
    }
  }
  return null;
}

/** Whether network `outer` contains network `inner` (same family, no longer prefix). */
function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.v6 === inner.v6 && outer.prefix <= inner.prefix && cidrsOverlap(outer, inner);
}

function firstOverlap(list: readonly Cidr[]): [number, number] | null {
  for (let a = 0; a < list.length; a++) {
    for (let b = a + 1; b < list.length; b++) {
      if (cidrsOverlap(list[a], list[b])) return [a, b];
    }
  }
  return null;
}
