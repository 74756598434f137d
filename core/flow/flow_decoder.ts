/**
 * One entry point for every flow datagram: tells sFlow v5, NetFlow v5, v9 and IPFIX apart and
 * hands each to its decoder, with the bounded template state and the counters in one place.
 *
 * @module
 */

import { PacketMeta } from "../packet/mod.ts";
import { u16, u32 } from "./_bytes.ts";
import {
  FlowDrop,
  FlowRecord,
  FlowSample,
  type FlowSink,
  FlowStats,
  InterfaceCounters,
} from "./flow_record.ts";
import { type HeldLimits, HeldSets } from "./held_sets.ts";
import { decodeNetflowV5 } from "./netflow_v5.ts";
import { decodeSflow, type SflowScratch } from "./sflow.ts";
import { TemplateCache, type TemplateLimits } from "./template_cache.ts";
import { TemplateDecoder } from "./template_decoder.ts";

/** Which datagrams a {@linkcode FlowDecoder} accepts (`auto`: all four). */
export type FlowProtocol = "auto" | "sflow" | "netflow_v5" | "netflow_v9" | "ipfix";

/** The protocols of {@linkcode FlowProtocol}, for configuration checks. */
export const FLOW_PROTOCOLS: readonly FlowProtocol[] = [
  "auto",
  "sflow",
  "netflow_v5",
  "netflow_v9",
  "ipfix",
];

/** Options of a {@linkcode FlowDecoder}: the protocol and every bound. */
export interface FlowDecoderOptions extends TemplateLimits, HeldLimits {
  /** Accepted protocol (default `auto`); a datagram of another one is `BAD_VERSION`. */
  protocol?: FlowProtocol;
  /** Flow records or sFlow samples read from one datagram at most (default 1024). */
  maxRecordsPerDatagram?: number;
}

/**
 * Decodes flow datagrams of any supported protocol into `sink` (see {@linkcode FlowSink}):
 * pure and deterministic (time is passed in), never throws, never reads past the datagram.
 *
 * - The protocol is told by the first bytes: a 32-bit 5 is sFlow v5; a 16-bit 5, 9 or 10 is
 *   NetFlow v5, v9 or IPFIX; anything else (or under 4 bytes) is `BAD_VERSION`
 *   (`TRUNCATED_HEADER`).
 * - `exporter` is the datagram's source address (four words, IPv4 mapped): NetFlow v9 and
 *   IPFIX templates and sampling rates are kept per exporter and domain.
 * - `nowUs` (packet time, µs) stamps sFlow samples, ages held data sets and exporters.
 * - The state is bounded: see {@linkcode TemplateLimits}, {@linkcode HeldLimits} and
 *   `maxRecordsPerDatagram`; {@linkcode templates}, {@linkcode exporters} and
 *   {@linkcode heldSets} say how full it is.
 */
export class FlowDecoder {
  /** Counters of everything decoded and dropped. */
  readonly stats: FlowStats = new FlowStats();
  readonly #sink: FlowSink;
  readonly #protocol: FlowProtocol;
  readonly #maxRecords: number;
  readonly #record = new FlowRecord();
  readonly #scratch: SflowScratch = {
    meta: new PacketMeta(),
    sample: new FlowSample(),
    counters: new InterfaceCounters(),
  };
  readonly #cache: TemplateCache;
  readonly #held: HeldSets;
  readonly #templates: TemplateDecoder;

  /** Creates a decoder delivering to `sink`. */
  constructor(sink: FlowSink, options: FlowDecoderOptions = {}) {
    this.#sink = sink;
    this.#protocol = options.protocol ?? "auto";
    this.#maxRecords = options.maxRecordsPerDatagram ?? 1024;
    this.#cache = new TemplateCache(options);
    this.#held = new HeldSets(options);
    this.#templates = new TemplateDecoder(
      this.#cache,
      this.#held,
      this.#record,
      sink,
      this.stats,
      this.#maxRecords,
    );
  }

  /** Templates remembered now (over all exporters). */
  get templates(): number {
    return this.#cache.templates;
  }

  /** Exporters remembered now. */
  get exporters(): number {
    return this.#cache.exporters;
  }

  /** Data sets held for their template now. */
  get heldSets(): number {
    return this.#held.size;
  }

  /** Decodes the datagram `buf[offset, offset + length)` from `exporter` at `nowUs`. */
  decode(
    buf: Uint8Array,
    offset: number,
    length: number,
    exporter: Uint32Array,
    nowUs: number,
  ): void {
    const stats = this.stats;
    stats.datagrams++;
    const start = offset > 0 ? offset : 0;
    let end = start + (length > 0 ? length : 0);
    if (end > buf.length) end = buf.length;
    if (end - start < 4) return stats.drop(FlowDrop.TRUNCATED_HEADER);
    const protocol = this.#protocol;
    if (u32(buf, start) === 5) {
      if (protocol !== "auto" && protocol !== "sflow") return stats.drop(FlowDrop.BAD_VERSION);
      decodeSflow(buf, start, end, nowUs, this.#scratch, this.#sink, stats, this.#maxRecords);
      return;
    }
    const version = u16(buf, start);
    if (version === 5 && (protocol === "auto" || protocol === "netflow_v5")) {
      this.#record.exporter.set(exporter);
      decodeNetflowV5(buf, start, end, this.#record, this.#sink, stats, this.#maxRecords);
    } else if (
      version === 9 && (protocol === "auto" || protocol === "netflow_v9") ||
      version === 10 && (protocol === "auto" || protocol === "ipfix")
    ) {
      this.#templates.decode(buf, start, end, exporter, nowUs);
    } else {
      stats.drop(FlowDrop.BAD_VERSION);
    }
  }
}
