/**
 * Flow datagrams from routers and switches, decoded: sFlow v5, NetFlow v5, NetFlow v9 and
 * IPFIX, into reused records (no socket here: the agent feeds datagrams in).
 *
 * Supported:
 * - sFlow v5 (IPv4 and IPv6 agents): flow samples and expanded flow samples, whose raw packet
 *   header records (Ethernet, IPv4, IPv6) go through the packet decoder into a `PacketMeta`
 *   weighted by the sampling rate; counter samples and expanded counter samples with the
 *   generic interface counters. Other samples and records are skipped by their length.
 * - NetFlow v5 (fixed 48-byte records, header sampling interval).
 * - NetFlow v9 and IPFIX: templates and options templates per (exporter, domain / source id,
 *   template id); IPFIX withdrawals, variable-length fields and enterprise fields (skipped);
 *   sampling rates from options data (IE 34 samplingInterval, 305/306 samplingPacketInterval
 *   and Space, 309/310, v9 50 FLOW_SAMPLER_RANDOM_INTERVAL, per sampler id 48 / 302) applied
 *   to that exporter's and domain's data; times from absolute, delta or uptime fields (IPFIX
 *   uptime through IE 160 systemInitTimeMilliseconds); data sets that come before their
 *   template held briefly, then decoded or dropped with a count.
 *
 * Bounds (defaults, all options of {@linkcode FlowDecoder}): 256 exporters (one silent for an
 * hour gives its place), 512 templates per exporter, 128 fields per template, 64 domains per
 * exporter and samplers per domain, 1024 records per datagram, 64 held data sets, 256 KiB
 * held, 5 s held at most. Every malformed datagram, set or record is counted by reason in
 * {@linkcode FlowStats} ({@linkcode FlowDrop}); nothing throws and nothing reads past the
 * datagram.
 *
 * @module
 */

export * from "./flow_decoder.ts";
export * from "./flow_fields.ts";
export * from "./flow_meta.ts";
export * from "./flow_record.ts";
export * from "./held_sets.ts";
export * from "./netflow_v5.ts";
export * from "./sflow.ts";
export * from "./template_cache.ts";
export * from "./template_decoder.ts";
