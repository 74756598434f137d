/**
 * Following web server access logs: the tailer (rotation, truncation, bursts) and the web
 * servers found on the host with their logs.
 *
 * @module
 */

export * from "./l7_part.ts";
export * from "./l7_runtime.ts";
export * from "./log_tailer.ts";
export * from "./web_servers.ts";
