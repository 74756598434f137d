/**
 * Config keys of the mitigation layer: their zod shape (validation and defaults) and their type.
 * {@linkcode ../config.ts} merges them into the whole config.
 *
 * @module
 */

import type { z } from "zod";

/** Validation and defaults of the mitigation keys. */
export const MitigationShape = {
  // Keys go here, each with a one-line comment saying what it is for.
} satisfies z.ZodRawShape;

/** The mitigation keys, every key present (must match {@linkcode MitigationShape}). */
// deno-lint-ignore no-empty-interface
export interface MitigationConfig {}
