/**
 * HTTP floods from web server access logs: the log formats and their parsers, line splitting,
 * per-second request windows and the {@linkcode L7Detector}.
 *
 * @module
 */

export * from "./access_log.ts";
export * from "./detector.ts";
export * from "./line_splitter.ts";
export * from "./log_clf.ts";
export * from "./log_haproxy.ts";
export * from "./log_json.ts";
export * from "./window.ts";
