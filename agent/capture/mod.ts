/**
 * Where frames come from: capture files (the TypeScript reader, or libpcap's), the live
 * interface through libpcap, at the recorded pace or as fast as they come, and the choice of
 * interface; and the flow collector (sFlow, NetFlow, IPFIX), whose records stand for packets.
 *
 * @module
 */

export * from "./file_source.ts";
export * from "./flow_config.ts";
export * from "./flow_source.ts";
export * from "./gre_tunnels.ts";
export * from "./interfaces.ts";
export * from "./libpcap_source.ts";
export * from "./source.ts";
