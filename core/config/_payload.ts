/**
 * Config key of the payload inspection: the local indicator patterns (`ioc_patterns`), in the
 * shape the control plane sends them; the server's are used beside them.
 *
 * @module
 */

import { z } from "zod";

/** An indicator pattern of the local config. */
export interface IocPatternConfig {
  /** Text looked for in sampled packet payloads (its UTF-8 bytes, exact; 1 .. 512 chars). */
  pattern: string;
  /** The attack (tool, botnet) it indicates (`ioc_hits` names it). */
  attack_name?: string;
  /** The family of that attack. */
  attack_family?: string;
}

/** The payload inspection's config keys. */
export interface PayloadConfig {
  /** Indicator patterns looked for besides the server's (default none; at most 1000). */
  ioc_patterns: IocPatternConfig[];
}

/** Schema of {@linkcode PayloadConfig}. */
export const PayloadShape = {
  ioc_patterns: z.array(z.strictObject({
    pattern: z.string().min(1).max(512),
    attack_name: z.string().max(128).optional(),
    attack_family: z.string().max(128).optional(),
  })).max(1000).default([]),
};
