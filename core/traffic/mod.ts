/**
 * Traffic over time: per-second {@linkcode Window}s and the {@linkcode Windower} that cuts a packet
 * stream into them, the per-destination {@linkcode RateTable} of 100 ms slots, and the
 * {@linkcode Pipeline} every source feeds (decode, windows, detection), and the
 * {@linkcode FlowSpreader} that spreads flow records over the slots they span, and the
 * {@linkcode SamplingRule} that picks a live capture's kernel sampling rate.
 *
 * @module
 */

export * from "./dns_names.ts";
export * from "./flow_spread.ts";
export * from "./pipeline.ts";
export * from "./rate_table.ts";
export * from "./sampling.ts";
export * from "./window.ts";
export * from "./window_stats.ts";
export * from "./windower.ts";
