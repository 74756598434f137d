/**
 * Watching the agent: the local HTTP endpoint (`/metrics`, `/health`, `/status.json`, the
 * dashboard) and `ftagent top`.
 *
 * @module
 */

export * from "./dashboard_routes.ts";
export * from "./dashboard_stores.ts";
export * from "./metrics_server.ts";
export * from "./observability.ts";
export * from "./top_view.ts";
