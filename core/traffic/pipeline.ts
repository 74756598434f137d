/**
 * The per-packet path: decode each frame into the one reused {@linkcode PacketMeta}, mark it
 * outbound when a protected address sends it out, count it in the current one-second window and
 * hand it to the detector. Sources (files, libpcap, live) all feed it, so
 * replay and live capture run the same code.
 *
 * @module
 */

import {
  decode,
  DnsQuestion,
  IcmpFragmentWatch,
  IpProto,
  LocalNetworks,
  PacketMeta,
  type PacketSink,
  readDnsQuestion,
} from "../packet/mod.ts";
import { MAX_COPIES, type Window } from "./window.ts";
import { Windower } from "./windower.ts";

/**
 * What the pipeline feeds besides its windows: flood detection (`Detector` of `core/detect`
 * fulfils it), told of every packet, the window in progress and each closed window.
 */
export interface PacketAnalyzer {
  /** Counts one decoded packet (the reused meta: read it during the call only). */
  add(meta: PacketMeta): void;
  /** Counts `meta` as `packets` packets of `bytes` bytes in all (a flow record's share). */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void;
  /** The window being filled, so statistics can include the second in progress. */
  watchWindow(window: Window): void;
  /** A one-second window closed (before the pipeline's own listener hears of it). */
  window(window: Window): void;
  /** Packet time moved to `tsUs` without a packet (an idle link). */
  advance(tsUs: number): void;
  /** End of the traffic. */
  finish(): void;
}

/**
 * A sink whose frames may each stand for several packets: a live source sampling in the kernel
 * tells it the rate (the {@linkcode Pipeline} and the PCAP recorder's tee take it).
 */
export interface SampledSink {
  /** From the next frame on, each frame stands for `rate` packets (1: every packet is read). */
  sampling(rate: number): void;
  /** Packets counted so far (each frame times its rate). */
  readonly packets: number;
}

/** Looks into packet payloads (`PayloadInspector` of `core/payload` fulfils it). */
export interface PayloadAnalyzer {
  /** One decoded packet, its frame in `buf` (read both during the call only). */
  inspect(buf: Uint8Array, meta: PacketMeta): void;
}

/** Earliest packet time the pipeline takes: 1970-01-01 (µs since the epoch). */
export const PACKET_TIME_MIN_US = 0;
/** First packet time the pipeline refuses: 2100-01-01 (µs since the epoch). */
export const PACKET_TIME_MAX_US: number = Date.UTC(2100, 0, 1) * 1000;

/**
 * Whether `tsUs` is a packet time the pipeline takes: finite, from 1970 up to (not including)
 * 2100. Anything else (a corrupt or hostile capture's 64-bit time) cannot be a date.
 */
export function isPacketTime(tsUs: number): boolean {
  return tsUs >= PACKET_TIME_MIN_US && tsUs < PACKET_TIME_MAX_US;
}

/** Most packets one {@linkcode Pipeline.addWeighted} call counts (integer counters stay exact). */
const MAX_WEIGHT = 2 ** 30;

/** Options for {@linkcode Pipeline}. */
export interface PipelineOptions {
  /** Counters per top-K table in each window. */
  topK?: number;
  /** Largest packet-time gap (seconds) filled with empty windows. */
  maxGapSeconds?: number;
  /** Flood detection on the same packets (none: windows only). */
  detector?: PacketAnalyzer;
  /** The protected addresses (default: none known, every packet inbound). */
  local?: LocalNetworks;
  /**
   * The first frame whose time is not a packet time ({@linkcode isPacketTime}), with that time
   * (µs); later ones are only counted ({@linkcode Pipeline.badTime}).
   */
  onBadTime?: (tsUs: number) => void;
  /** Payload inspection of the same packets (none: payloads are not looked into). */
  inspector?: PayloadAnalyzer;
}

/**
 * Decodes frames and groups them into per-second windows of packet time, and hands every
 * packet and window to the detector when there is one.
 *
 * @example Per-second statistics of a capture, without detection
 * ```ts
 * import { CaptureParser } from "../packet/mod.ts";
 * import { Pipeline } from "./mod.ts";
 *
 * const pipeline = new Pipeline((window) => {
 *   const s = window.snapshot(3);
 *   console.log(s.t, s.pps, s.top_src_ips);
 * });
 * const bytes = await Deno.readFile("attack.pcap");
 * new CaptureParser().parse(bytes, 0, bytes.length, pipeline);
 * pipeline.flush();
 * ```
 */
export class Pipeline implements PacketSink, SampledSink {
  /** Frames seen. */
  packets = 0;
  /** Wire bytes seen. */
  bytes = 0;
  /** Frames the decoder rejected, and those with a time out of range ({@linkcode badTime}). */
  malformed = 0;
  /**
   * Frames whose time is not a packet time ({@linkcode isPacketTime}): counted as malformed,
   * never windowed nor detected.
   */
  badTime = 0;
  /** Packet time of the first frame (microseconds), -1 before any. */
  firstTsUs: number = -1;
  /** Latest packet time seen (microseconds), -1 before any. */
  lastTsUs: number = -1;
  /**
   * Count the packet a GRE tunnel carries (its own addresses, ports and length) instead of the
   * tunnel packet, when the decoder read it (`gre_mode`; default false).
   */
  stripGre = false;
  /** The reused decoded packet (valid during a sink call). */
  readonly meta: PacketMeta = new PacketMeta();
  /** Overlapping ICMP fragments (marked `Vector.ICMP_OVERSIZED`, as a ping of death). */
  readonly fragments: IcmpFragmentWatch = new IcmpFragmentWatch();
  /**
   * The protected addresses: a packet from one of them to an outside address is outbound
   * (`meta.outbound`). Change them with `local.set()` at any time (interface addresses move).
   */
  readonly local: LocalNetworks;
  readonly #windower: Windower;
  readonly #detector: PacketAnalyzer | null;
  readonly #question = new DnsQuestion();
  readonly #onBadTime: ((tsUs: number) => void) | null;
  readonly #inspector: PayloadAnalyzer | null;
  /** Packets each frame stands for (kernel sampling's rate; 1: every packet). */
  #weight = 1;

  /** `onWindow` receives each closed window; it is reused afterwards. */
  constructor(onWindow: (window: Window) => void, options: PipelineOptions = {}) {
    const detector = options.detector ?? null;
    this.#detector = detector;
    this.#onBadTime = options.onBadTime ?? null;
    this.#inspector = options.inspector ?? null;
    this.local = options.local ?? new LocalNetworks();
    this.#windower = new Windower(
      detector === null ? onWindow : (window) => {
        detector.window(window);
        onWindow(window);
      },
      options,
    );
    detector?.watchWindow(this.#windower.window);
  }

  /** Decodes one frame and counts it (a frame with a time out of range only as malformed). */
  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    if (!(tsUs >= PACKET_TIME_MIN_US && tsUs < PACKET_TIME_MAX_US)) return this.#badTime(tsUs);
    let meta = this.meta;
    meta.tsUs = tsUs;
    meta.wireLen = wireLen;
    meta.capLen = capLen;
    if (!decode(buf, offset, capLen, linktype, meta)) this.malformed++;
    else {
      // A GRE tunnel host (gre_mode): the packet inside the tunnel is the one counted.
      if (this.stripGre && meta.hasInner) meta = meta.inner!;
      if (this.local.size !== 0) meta.outbound = this.local.isOutbound(meta.src, meta.dst);
    }
    if (meta.fragment !== 0) this.fragments.mark(meta);
    if (this.#weight !== 1) return this.#sampled(buf, meta);
    this.packets++;
    this.bytes += wireLen;
    if (this.firstTsUs < 0) this.firstTsUs = tsUs;
    if (tsUs > this.lastTsUs) this.lastTsUs = tsUs;
    this.#windower.add(meta);
    if (
      meta.dstPort === 53 && meta.protocol === IpProto.UDP && !meta.outbound &&
      readDnsQuestion(buf, meta.payloadOffset, meta.payloadLen, this.#question)
    ) this.#windower.window.addDns(buf, this.#question);
    if (this.#inspector !== null) this.#inspector.inspect(buf, meta);
    if (this.#detector !== null) this.#detector.add(meta);
  }

  /**
   * Counts a packet already decoded into `meta` (`meta.tsUs` set) as `packets` packets of
   * `bytes` bytes in all: a flow record's share or an sFlow sample scaled by its sampling rate.
   * No frame, so no DNS names. `packets` is rounded and capped at 2^30 (fewer than 1: ignored).
   */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void {
    const tsUs = meta.tsUs;
    if (!(tsUs >= PACKET_TIME_MIN_US && tsUs < PACKET_TIME_MAX_US)) return this.#badTime(tsUs);
    const n = Math.min(Math.round(packets), MAX_WEIGHT);
    if (!(n >= 1)) return;
    const b = bytes >= 0 ? Math.round(bytes) : 0;
    meta.outbound = meta.malformed === 0 && this.local.size !== 0 &&
      this.local.isOutbound(meta.src, meta.dst);
    this.packets += n;
    this.bytes += b;
    if (this.firstTsUs < 0) this.firstTsUs = tsUs;
    if (tsUs > this.lastTsUs) this.lastTsUs = tsUs;
    this.#windower.addWeighted(meta, n, b);
    this.#detector?.addWeighted(meta, n, b);
  }

  /** The sampling rate of the frames to come (see {@linkcode SampledSink}). */
  sampling(rate: number): void {
    this.#weight = rate >= 1 ? Math.min(Math.round(rate), MAX_COPIES) : 1;
  }

  /** The sampling rate in use (1: every packet). */
  get sampleRate(): number {
    return this.#weight;
  }

  /** A decoded sampled frame: counted as `#weight` copies of itself. */
  #sampled(buf: Uint8Array, meta: PacketMeta): void {
    const n = this.#weight, tsUs = meta.tsUs;
    if (meta.malformed !== 0) this.malformed += n - 1;
    this.packets += n;
    this.bytes += meta.wireLen * n;
    if (this.firstTsUs < 0) this.firstTsUs = tsUs;
    if (tsUs > this.lastTsUs) this.lastTsUs = tsUs;
    this.#windower.add(meta, n);
    if (
      meta.dstPort === 53 && meta.protocol === IpProto.UDP && !meta.outbound &&
      readDnsQuestion(buf, meta.payloadOffset, meta.payloadLen, this.#question)
    ) this.#windower.window.addDns(buf, this.#question);
    this.#inspector?.inspect(buf, meta);
    this.#detector?.addWeighted(meta, n, meta.wireLen * n);
  }

  /** A frame whose time cannot be a date: counted, reported once, never passed on. */
  #badTime(tsUs: number): void {
    this.packets++;
    this.malformed++;
    if (this.badTime++ === 0) this.#onBadTime?.(tsUs);
  }

  /** Closes windows whose second has passed (live capture on an idle link). */
  advance(nowUs: number): void {
    this.#windower.advance(nowUs);
    this.#detector?.advance(nowUs);
  }

  /** End of the traffic: closes the current window and resolves open incidents. */
  flush(): void {
    this.#windower.flush();
    this.#detector?.finish();
  }
}
