/**
 * Where frames come from: capture files (the TypeScript reader, or libpcap's), the live
 * interface through libpcap, at the recorded pace or as fast as they come, and the choice of
 * interface.
 *
 * @module
 */

export * from "./file_source.ts";
export * from "./interfaces.ts";
export * from "./libpcap_source.ts";
export * from "./source.ts";
