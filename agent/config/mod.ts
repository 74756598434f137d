/**
 * The config file on disk: loading it with clear errors (never quoting it), and writing it
 * atomically.
 *
 * @module
 */

export * from "./config_file.ts";
export * from "./config_writer.ts";
export * from "./json_syntax.ts";
export * from "./line_reader.ts";
