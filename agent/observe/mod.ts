/**
 * Watching the agent: the local HTTP endpoint (`/metrics`, `/health`, `/status.json`).
 *
 * @module
 */

export * from "./metrics_server.ts";
export * from "./observability.ts";
