/**
 * Config keys of the reporting layer: their zod shape (validation and defaults) and their type.
 * `config.ts` merges them into the whole config.
 *
 * @module
 */

import { z } from "zod";
import { type StandaloneConfig, StandaloneShape } from "./_standalone.ts";

/** Validation and defaults of the reporting keys. */
export const ReportingShape = {
  // Incident store, alerts and metrics endpoint: see _standalone.ts.
  ...StandaloneShape,
  // Keys go here, each with a one-line comment saying what it is for.
  outbox_max_items: z.number().int().min(100).max(10_000_000).default(50_000),
  api_timeout_seconds: z.number().finite().min(1).max(300).default(10),
} satisfies z.ZodRawShape;

/** The reporting keys, every key present (must match {@linkcode ReportingShape}). */
export interface ReportingConfig extends StandaloneConfig {
  /** Most undelivered events kept on disk (oldest metrics dropped first, incident events last). */
  outbox_max_items: number;
  /** Seconds a control-plane API call may take before it counts as failed. */
  api_timeout_seconds: number;
}
