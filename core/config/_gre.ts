/**
 * Config key of GRE tunnel hosts, named as the Flowtriq agent names it: its zod shape
 * (validation and default) and its type. `config.ts` merges it into the whole config.
 *
 * @module
 */

import { z } from "zod";

/** Validation and default of the GRE key. */
export const GreShape = {
  gre_mode: z.enum(["auto", "enabled", "disabled"]).default("auto"),
} satisfies z.ZodRawShape;

/** The GRE key (must match {@linkcode GreShape}). */
export interface GreConfig {
  /**
   * Count the packet inside a GRE tunnel instead of the tunnel packet, for detection and
   * statistics: `auto` (default) when the kernel lists a GRE tunnel at start, `enabled`
   * always, `disabled` never. With tunnels, the agent also tells the control plane about them
   * (`POST /agent/gre-tunnels`) once at start.
   */
  gre_mode: "auto" | "enabled" | "disabled";
}
