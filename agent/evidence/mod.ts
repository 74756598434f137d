/**
 * PCAP evidence: the pre-attack ring and one capture file per incident, written off the capture
 * path, pruned by age and total size, stopped when the disk runs low.
 *
 * @module
 */

export * from "./pcap_recorder.ts";
export * from "./pcap_stats.ts";
export * from "./recording_sink.ts";
