/**
 * Payload inspection: a bounded sample of the inbound payloads matched against the indicator
 * patterns the control plane sends (`ioc_patterns`) and the built-in amplification signatures,
 * and what the findings change in an incident's report.
 *
 * @module
 */

export * from "./inspector.ts";
export * from "./matcher.ts";
export * from "./signatures.ts";
export * from "./verdict.ts";
