/**
 * The contract every packet source (capture file, libpcap file, live interface) fulfils, so
 * replay and live capture feed the same pipeline.
 *
 * @module
 */

import type { PacketSink } from "../../core/packet/mod.ts";

/** Counters a source keeps about what it read. */
export interface SourceStats {
  /** Frames delivered to the sink. */
  packets: number;
  /** Frames the kernel received (live only; equals `packets` for files). */
  received: number;
  /** Frames dropped because the capture buffer was full (live only). */
  dropped: number;
  /** Frames dropped by the interface or driver (live only). */
  ifDropped: number;
  /**
   * Kernel sampling (live only): 1 in this many packets is read, each frame counting as that
   * many (1 or none: every packet). `dropped` stays ring overflow, apart from sampling.
   */
  sampleRate?: number;
}

/** Options for {@linkcode CaptureSource.run}. */
export interface RunOptions {
  /** Stops reading when aborted; `run()` then resolves. */
  signal?: AbortSignal;
  /**
   * Live sources call this with the wall time (microseconds since the epoch) at least every
   * 100 ms, with or without packets, so windows close on an idle link.
   */
  onTick?: (nowUs: number) => void;
  /**
   * File sources: deliver packets at the pace they were recorded (the first packet at once,
   * each next one when as much wall time has passed as packet time did).
   */
  paced?: boolean;
}

/** A source of captured frames. */
export interface CaptureSource {
  /** Human-readable name (file path or interface). */
  readonly name: string;
  /** Reads until the source ends (files) or the signal aborts (live), feeding `sink`. */
  run(sink: PacketSink, options?: RunOptions): Promise<void>;
  /** Counters so far. */
  stats(): SourceStats;
  /** Releases the handle; safe to call twice. */
  close(): void;
}
