/**
 * Bounded summaries of unbounded streams: HyperLogLog (distinct sources), Space-Saving (top
 * talkers, of numbers and of strings), exact port counts, entropy, and the hashes they share.
 *
 * @module
 */

export * from "./entropy.ts";
export * from "./hash.ts";
export * from "./hyperloglog.ts";
export * from "./port_counts.ts";
export * from "./recent_addresses.ts";
export * from "./space_saving.ts";
export * from "./string_top.ts";
export * from "./uuid.ts";
