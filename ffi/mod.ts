/**
 * libpcap through Deno FFI: live capture on an interface (non-blocking, batched, with kernel
 * filters) and capture files, behind one {@linkcode PcapHandle}; the raw symbols stay private.
 *
 * @module
 */

export * from "./pcap_handle.ts";
