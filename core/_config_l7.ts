/**
 * Config keys of the l7 layer: their zod shape (validation and defaults) and their type.
 * {@linkcode ../config.ts} merges them into the whole config.
 *
 * @module
 */

import type { z } from "zod";

/** Validation and defaults of the l7 keys. */
export const L7Shape = {
  // Keys go here, each with a one-line comment saying what it is for.
} satisfies z.ZodRawShape;

/** The l7 keys, every key present (must match {@linkcode L7Shape}). */
// deno-lint-ignore no-empty-interface
export interface L7Config {}
