/**
 * Capture sources backed by libpcap: a live interface ({@linkcode LiveSource}) and a capture
 * file read by libpcap ({@linkcode LibpcapFileSource}).
 *
 * libpcap writes each batch as pcap records into one memory buffer (see `ffi/pcap_handle.ts`)
 * and core's {@linkcode CaptureParser} walks them, so live frames reach the sink exactly as
 * frames read from a file do.
 *
 * The loop reads batches synchronously and gives the event loop a turn at least every
 * {@linkcode SLICE_MS} of work; with nothing to read it awaits `poll()` on a worker thread for
 * at most {@linkcode POLL_MS}, so timers, signals and `onTick` keep running on an idle link.
 *
 * Kernel sampling (`sampleAbovePps`): when the sink counts sampled frames (a `SampledSink`,
 * such as the pipeline), the {@linkcode SamplingRule} checks the rate every 100 ms and the
 * handle's socket filter passes 1 in N packets above the budget. Frames already in the ring at a
 * change were sampled at the old rate: they keep it, told apart by their kernel timestamp.
 *
 * @module
 */

import { CaptureFormatError, CaptureParser, type PacketSink } from "../../core/packet/mod.ts";
import { type SampledSink, SamplingRule } from "../../core/traffic/mod.ts";
import { type LiveCaptureOptions, PcapError, PcapHandle } from "../../ffi/mod.ts";
import type { CaptureSource, RunOptions, SourceStats } from "./source.ts";

export { PcapError } from "../../ffi/mod.ts";
export type { PcapErrorKind } from "../../ffi/mod.ts";

/** Longest stretch of batch processing before the event loop gets a turn (ms). */
const SLICE_MS = 10;
/** Longest single wait for packets (ms); also bounds abort latency on an idle link. */
const POLL_MS = 50;
/** `onTick` is called whenever this much wall time passed since the last call (ms). */
const TICK_MS = 50;

/** Options for {@linkcode LiveSource}: those of the libpcap live handle, and sampling. */
export interface LiveSourceOptions extends LiveCaptureOptions {
  /**
   * Kernel sampling above this many packets per second, keeping user space under it (the
   * `capture_sample_above_pps` key); 0 or none: every packet, always.
   */
  sampleAbovePps?: number;
  /** Each change of the sampling rate, with the wire rate estimated when it was decided. */
  onSampling?: (rate: number, wirePps: number) => void;
  /** Sampling could not be used (the kernel refused the filter): one line, said once. */
  onWarning?: (message: string) => void;
}

/** Options for {@linkcode LibpcapFileSource}. */
export interface LibpcapFileSourceOptions {
  /** BPF filter expression (tcpdump syntax); none by default. */
  filter?: string;
  /** Explicit libpcap path (else `$FTAGENT_LIBPCAP`, else libpcap.so.0.8, .so.1, .so). */
  libraryPath?: string;
  /** Batch memory buffer size in bytes (bounds packets per batch). Default 64 MiB. */
  batchBytes?: number;
}

/**
 * Live capture on one interface through libpcap. The constructor opens the interface and
 * throws a one-line {@linkcode PcapError} when it cannot (no libpcap, no such interface, no
 * permission, unsupported link type, bad filter).
 */
export class LiveSource implements CaptureSource {
  /** The interface name. */
  readonly name: string;
  /** Link type of the frames (LINKTYPE_* value). */
  readonly linktype: number;
  /** libpcap's activation warning, if any (e.g. promiscuous mode not supported). */
  readonly warning: string | null;
  /** libpcap's version string. */
  readonly libraryVersion: string;
  readonly #handle: PcapHandle;
  readonly #parser = new CaptureParser();
  #rule: SamplingRule;
  readonly #options: LiveSourceOptions;
  /** Rate changes whose first frame has not been read yet (see {@linkcode RateChanges}). */
  #changes: RateChanges | null = null;
  /** The sink's packet count at the last rule update. */
  #counted = 0;
  #running = false;
  #closed = false;
  #last: SourceStats = { packets: 0, received: 0, dropped: 0, ifDropped: 0, sampleRate: 1 };

  /** Opens `options.device` for capture. */
  constructor(options: LiveSourceOptions) {
    this.#handle = PcapHandle.openLive(options);
    this.#rule = new SamplingRule(options.sampleAbovePps ?? 0);
    this.#options = options;
    this.name = options.device;
    this.linktype = this.#handle.linktype;
    this.warning = this.#handle.warning;
    this.libraryVersion = this.#handle.libraryVersion;
  }

  /**
   * Feeds every captured frame to `sink` until `options.signal` aborts or the source is
   * closed; calls `options.onTick` at least every 100 ms. Throws a {@linkcode PcapError} when
   * the capture fails (e.g. the interface went away).
   */
  async run(sink: PacketSink, options: RunOptions = {}): Promise<void> {
    if (this.#closed) throw new Error(`${this.name}: source is closed`);
    if (this.#running) throw new Error(`${this.name}: source is already running`);
    this.#running = true;
    const { signal, onTick } = options;
    const handle = this.#handle;
    const sampled = this.#rule.budget > 0 && isSampled(sink) ? sink : null;
    let lastTick = 0;
    let sliceStart = performance.now();
    try {
      while (!signal?.aborted && !this.#closed) {
        const n = handle.readBatch();
        const changes = this.#changes;
        if (n > 0) deliver(this.#parser, handle, n, changes?.pending ? changes : sink);
        if (sampled !== null) this.#sample(sampled);
        if (onTick) {
          const now = Date.now();
          if (now - lastTick >= TICK_MS) {
            lastTick = now;
            onTick(now * 1000);
          }
        }
        if (handle.packets < handle.batchPackets) {
          // Everything ready was read: sleep in poll() until the next kernel block.
          await handle.wait(POLL_MS);
          sliceStart = performance.now();
        } else if (performance.now() - sliceStart >= SLICE_MS) {
          await handle.yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    } finally {
      this.#running = false;
      if (this.#closed) {
        this.#refresh();
        handle.close();
      }
    }
  }

  /** The sampling rate in use: 1 in this many packets is read (1: every packet). */
  get sampleRate(): number {
    return this.#handle.sampleRate;
  }

  /** Changes the kernel's sampling rate when the rule says so, from the packets counted. */
  #sample(sink: PacketSink & SampledSink): void {
    const handle = this.#handle;
    const counted = sink.packets;
    const rate = this.#rule.update(counted - this.#counted, performance.now() * 1000);
    this.#counted = counted;
    if (rate === handle.sampleRate) return;
    // Kernel timestamps are wall-clock µs; Date.now() has ms steps: the middle of this one.
    const fromUs = Date.now() * 1000 + 500;
    try {
      handle.setSampling(rate);
    } catch (err) {
      this.#rule = new SamplingRule(0);
      this.#options.onWarning?.(
        `kernel sampling is off: ${
          err instanceof Error ? err.message : err
        }; capturing every packet`,
      );
      return;
    }
    this.#changes ??= new RateChanges(sink);
    this.#changes.add(fromUs, handle.sampleRate);
    this.#options.onSampling?.(handle.sampleRate, Math.round(this.#rule.wirePps));
  }

  /** Frames delivered, and the kernel's received / dropped counters. */
  stats(): SourceStats {
    if (!this.#closed) this.#refresh();
    return { ...this.#last };
  }

  /** Stops capturing and releases the handle; safe to call twice (a running `run()` ends). */
  close(): void {
    if (this.#closed) return;
    this.#refresh();
    this.#closed = true;
    if (!this.#running) this.#handle.close();
  }

  #refresh(): void {
    const k = this.#handle.stats();
    this.#last = {
      packets: this.#parser.records,
      received: k?.received ?? this.#parser.records,
      dropped: k?.dropped ?? 0,
      ifDropped: k?.ifDropped ?? 0,
      sampleRate: this.#handle.sampleRate,
    };
  }
}

/**
 * A pcap or pcapng file read through libpcap. The constructor opens the file and throws a
 * one-line {@linkcode PcapError} when it cannot. The TypeScript `FileSource` is the faster
 * reader; this one reads exactly what libpcap reads, and takes a BPF filter.
 */
export class LibpcapFileSource implements CaptureSource {
  /** The file's path. */
  readonly name: string;
  /** Link type of the frames (LINKTYPE_* value). */
  readonly linktype: number;
  readonly #handle: PcapHandle;
  readonly #parser = new CaptureParser();
  #running = false;
  #closed = false;

  /** Opens `path` through libpcap. */
  constructor(path: string, options: LibpcapFileSourceOptions = {}) {
    this.#handle = PcapHandle.openOffline({ ...options, path });
    this.name = path;
    this.linktype = this.#handle.linktype;
  }

  /**
   * Feeds every record to `sink` until the end of the file or `options.signal` aborts. Throws a
   * one-line {@linkcode PcapError} on a cut or corrupt file, after the records before the fault.
   */
  async run(sink: PacketSink, options: RunOptions = {}): Promise<void> {
    if (this.#closed) throw new Error(`${this.name}: source is closed`);
    if (this.#running) throw new Error(`${this.name}: source is already running`);
    this.#running = true;
    const handle = this.#handle;
    let sliceStart = performance.now();
    try {
      while (!options.signal?.aborted && !this.#closed) {
        const n = handle.readBatch();
        if (n > 0) deliver(this.#parser, handle, n, sink);
        if (handle.eof) break;
        if (performance.now() - sliceStart >= SLICE_MS) {
          await handle.yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    } finally {
      this.#running = false;
      if (this.#closed) handle.close();
    }
  }

  /** Counters so far (a file has no drops). */
  stats(): SourceStats {
    const n = this.#parser.records;
    return { packets: n, received: n, dropped: 0, ifDropped: 0 };
  }

  /** Releases the handle; safe to call twice (a running `run()` ends). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#running) this.#handle.close();
  }
}

/** Whether `sink` counts sampled frames (the pipeline, the recorder's tee). */
function isSampled(sink: PacketSink): sink is PacketSink & SampledSink {
  return typeof (sink as Partial<SampledSink>).sampling === "function";
}

/**
 * Passes frames on after sampling rate changes: each frame stamped before a change was taken at
 * the rate before it (and is counted so); the first one stamped after it switches the sink to
 * its rate. Changes wait in order until their first frame arrives.
 */
class RateChanges implements PacketSink {
  /** The changes not reached yet: their times (µs) and rates, oldest first. */
  readonly #fromUs: number[] = [];
  readonly #rates: number[] = [];
  readonly #sink: PacketSink & SampledSink;

  constructor(sink: PacketSink & SampledSink) {
    this.#sink = sink;
  }

  /** True while a change waits for its first frame. */
  get pending(): boolean {
    return this.#rates.length > 0;
  }

  /** Frames stamped from `fromUs` on are taken at `rate`. */
  add(fromUs: number, rate: number): void {
    this.#fromUs.push(fromUs);
    this.#rates.push(rate);
  }

  batch(buf: Uint8Array, start: number, end: number, frames: number): void {
    this.#sink.batch?.(buf, start, end, frames);
  }

  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    while (this.#rates.length > 0 && tsUs >= this.#fromUs[0]) {
      this.#fromUs.shift();
      this.#sink.sampling(this.#rates.shift()!);
    }
    this.#sink.packet(buf, offset, capLen, wireLen, tsUs, linktype);
  }
}

/** Parses one batch; libpcap writes whole records, so every byte must be consumed. */
function deliver(parser: CaptureParser, handle: PcapHandle, n: number, sink: PacketSink): void {
  let used: number;
  try {
    sink.batch?.(handle.buffer, 0, n, handle.packets);
    used = parser.parse(handle.buffer, 0, n, sink);
  } catch (err) {
    if (err instanceof CaptureFormatError) {
      throw new PcapError("read", `${handle.name}: libpcap returned bad records: ${err.message}`);
    }
    throw err;
  }
  if (used !== n) {
    throw new PcapError(
      "read",
      `${handle.name}: libpcap returned a partial record (${n - used} bytes left of ${n})`,
    );
  }
}
