/**
 * What kind of attack: {@linkcode classify} names the family and subtype of a flood from its
 * traffic, with the numbers that decided it.
 *
 * @module
 */

export * from "./classifier.ts";
export * from "./ip_blocklist.ts";
