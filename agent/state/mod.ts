/**
 * What the agent keeps on disk in `state_dir`: the one SQLite database (incident store, outbox,
 * mitigation records) and the learned baselines.
 *
 * @module
 */

export * from "./baseline_file.ts";
export * from "./baseline_store.ts";
export * from "./incident_store.ts";
export * from "./local_incidents.ts";
export * from "./mitigation_store.ts";
export * from "./outbox.ts";
export * from "./state_db.ts";
export * from "./state_writer.ts";
