/**
 * Releases and self-update: the release files and their checks (SHA-256, the Ed25519
 * signature of `SHA256SUMS` with a pinned key), replacing the installed binary atomically, and
 * the request file and service restart around it.
 *
 * @module
 */

export * from "./release.ts";
export * from "./service.ts";
export * from "./updater.ts";
