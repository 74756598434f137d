/**
 * Config keys of the reporting layer: their zod shape (validation and defaults) and their type.
 * {@linkcode ../config.ts} merges them into the whole config.
 *
 * @module
 */

import type { z } from "zod";

/** Validation and defaults of the reporting keys. */
export const ReportingShape = {
  // Keys go here, each with a one-line comment saying what it is for.
} satisfies z.ZodRawShape;

/** The reporting keys, every key present (must match {@linkcode ReportingShape}). */
// deno-lint-ignore no-empty-interface
export interface ReportingConfig {}
