/**
 * Telling the world: the sender that drains the outbox with backoff and a circuit breaker, the
 * Flowtriq API client and its delivery, remote config and commands, and alert delivery.
 *
 * @module
 */

export * from "./alert_delivery.ts";
export * from "./alerts.ts";
export * from "./capped_body.ts";
export * from "./connections.ts";
export * from "./flowtriq_api.ts";
export * from "./flowtriq_delivery.ts";
export * from "./incident_report.ts";
export * from "./pushed_log_path.ts";
export * from "./remote_control.ts";
export * from "./reporting.ts";
export * from "./sender.ts";
