/**
 * What the agent tells: Flowtriq API payloads, alert messages, the metrics snapshot and its
 * Prometheus text, the control plane's remote config, and the retry rules (backoff, circuit
 * breaker).
 *
 * @module
 */

export * from "./agent_metrics.ts";
export * from "./alert_message.ts";
export * from "./backoff.ts";
export * from "./circuit_breaker.ts";
export * from "./dashboard_feed.ts";
export * from "./flow_metrics.ts";
export * from "./flowtriq_payload.ts";
export * from "./human_units.ts";
export * from "./incident_report.ts";
export * from "./incident_tally.ts";
export * from "./l7_metrics.ts";
export * from "./last_second.ts";
export * from "./metrics_interval.ts";
export * from "./mirror_metrics.ts";
export * from "./prometheus.ts";
export * from "./rate_history.ts";
export * from "./remote_config.ts";
export * from "./svg_chart.ts";
export * from "./top_screen.ts";
