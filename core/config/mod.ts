/**
 * The agent's configuration (`/etc/ftagent/config.json`): every key, its default and its
 * validation, one part per concern.
 *
 * @module
 */

export * from "./config.ts";
