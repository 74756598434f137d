/**
 * Config keys of the flow collector (sFlow, NetFlow, IPFIX from routers and switches), named as
 * the Flowtriq agent names them: their zod shape (validation and defaults) and their type.
 * `config.ts` merges them into the whole config.
 *
 * @module
 */

import { z } from "zod";
import { isAddress } from "../packet/mod.ts";

/** Validation and defaults of the flow keys. */
export const FlowShape = {
  // Listen for flow datagrams instead of capturing on the interface.
  flow_enabled: z.boolean().default(false),
  // Which datagrams are read; others are dropped with a count (auto: all four).
  flow_protocol: z.enum(["auto", "sflow", "netflow_v5", "netflow_v9", "ipfix"]).default("auto"),
  // UDP port; 0: the protocol's (sFlow 6343, NetFlow and auto 2055, IPFIX 4739).
  flow_port: z.number().int().min(0).max(65535).default(0),
  // Address the collector binds.
  flow_bind: z.string().refine(isAddress, "expected an IP address").default("0.0.0.0"),
  // One packet in N was sampled; 0: the rate the exporter announces (1 when it says none).
  flow_sample_rate: z.number().int().min(0).max(1 << 24).default(0),
  // Exporters whose datagrams are read; empty: any.
  flow_source_ips: z.array(z.string().refine(isAddress, "expected an IP address")).max(1024)
    .default([]),
} satisfies z.ZodRawShape;

/** The flow keys, every key present (must match {@linkcode FlowShape}). */
export interface FlowConfig {
  /** Listen for flow datagrams instead of capturing on the interface (default false). */
  flow_enabled: boolean;
  /** Datagrams read (default `auto`: sFlow v5, NetFlow v5 and v9, IPFIX). */
  flow_protocol: "auto" | "sflow" | "netflow_v5" | "netflow_v9" | "ipfix";
  /** UDP port (default 0: sFlow 6343, NetFlow and `auto` 2055, IPFIX 4739). */
  flow_port: number;
  /** Address the collector binds (default `0.0.0.0`). */
  flow_bind: string;
  /** Sampling rate to apply (default 0: the exporter's own, 1 when it announces none). */
  flow_sample_rate: number;
  /** Exporter addresses allowed (default empty: any); others' datagrams are counted, dropped. */
  flow_source_ips: string[];
}
