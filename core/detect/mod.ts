/**
 * Flood detection: the learned {@linkcode Baseline}, the thresholds it gives, the per-target
 * incident machine and the {@linkcode Detector} that drives them and builds incident events.
 *
 * @module
 */

export * from "./baseline.ts";
export * from "./detector.ts";
export * from "./detector_types.ts";
export * from "./incident.ts";
export * from "./incident_machine.ts";
export * from "./source_confidence.ts";
export * from "./thresholds.ts";
