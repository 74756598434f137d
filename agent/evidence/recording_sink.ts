/**
 * The tee on the capture path when PCAP evidence is on: every frame goes to the pipeline
 * (decode, windows, detection) and then, with the decoded packet, to the recorder's pre-attack
 * ring and open captures.
 *
 * @module
 */

import type { PacketSink } from "../../core/packet/mod.ts";
import { isPacketTime, type Pipeline, type SampledSink } from "../../core/traffic/mod.ts";
import type { PcapRecorder } from "./pcap_recorder.ts";

/** Feeds each frame to a pipeline, then to a PCAP recorder. */
export class RecordingSink implements PacketSink, SampledSink {
  readonly #pipeline: Pipeline;
  readonly #recorder: PcapRecorder;

  /** A tee of `pipeline` and `recorder`. */
  constructor(pipeline: Pipeline, recorder: PcapRecorder) {
    this.#pipeline = pipeline;
    this.#recorder = recorder;
  }

  /** A batch of frames announced by the source: the recorder may copy it in one block. */
  batch(buf: Uint8Array, start: number, end: number, frames: number): void {
    this.#recorder.batch(buf, start, end, frames);
  }

  /** Packets the pipeline counted so far (each frame times its sampling rate). */
  get packets(): number {
    return this.#pipeline.packets;
  }

  /** Kernel sampling's rate for the frames to come: counted by it, and said by the captures. */
  sampling(rate: number): void {
    this.#pipeline.sampling(rate);
    this.#recorder.sampling(this.#pipeline.sampleRate, this.#pipeline.lastTsUs);
  }

  /** One frame: counted and detected, then recorded (not when its time cannot be a date). */
  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    const pipeline = this.#pipeline;
    pipeline.packet(buf, offset, capLen, wireLen, tsUs, linktype);
    if (!isPacketTime(tsUs)) return;
    this.#recorder.packet(buf, offset, capLen, wireLen, tsUs, linktype, pipeline.meta);
  }
}
