/**
 * Reads pcap and pcapng files with the TypeScript parser of `core/`: faster than libpcap for
 * files, and the reader `replay` uses by default.
 *
 * @module
 */

import { CaptureFormatError, CaptureParser, type PacketSink } from "../../core/packet/mod.ts";
import type { CaptureSource, RunOptions, SourceStats } from "./source.ts";
import { PacedDelivery } from "./_paced.ts";

/** Large enough for the biggest pcapng block the parser accepts, plus a read's worth. */
const BUFFER_BYTES = 24 * 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;

/** A capture file read in large chunks and parsed in place. */
export class FileSource implements CaptureSource {
  /** The file's path. */
  readonly name: string;
  readonly #parser = new CaptureParser();
  #file: Deno.FsFile | null = null;

  /** Opens `path`; throws a one-line error when it cannot be read. */
  constructor(path: string) {
    this.name = path;
    try {
      this.#file = Deno.openSync(path, { read: true });
      if (!this.#file.statSync().isFile) throw new CaptureFormatError("not a regular file");
    } catch (err) {
      this.close();
      throw oneLine(path, err);
    }
  }

  /** Link type of the capture's first interface (-1 until the header was read). */
  get linktype(): number {
    return this.#parser.linktype;
  }

  /**
   * Feeds every record to `sink` (at the recorded pace with `options.paced`); throws
   * {@linkcode CaptureFormatError} on a bad or cut file.
   */
  async run(sink: PacketSink, options: RunOptions = {}): Promise<void> {
    const file = this.#file;
    if (file === null) throw new Error(`${this.name}: source is closed`);
    try {
      await this.#read(file, sink, options);
    } catch (err) {
      throw oneLine(this.name, err);
    }
  }

  async #read(file: Deno.FsFile, sink: PacketSink, options: RunOptions): Promise<void> {
    const paced = options.paced ? new PacedDelivery(sink, options.signal) : null;
    const buf = new Uint8Array(BUFFER_BYTES);
    let start = 0;
    let end = 0;
    while (!options.signal?.aborted) {
      if (BUFFER_BYTES - end < READ_BYTES) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const n = await file.read(buf.subarray(end, Math.min(BUFFER_BYTES, end + READ_BYTES)));
      if (n === null) break;
      end += n;
      start += this.#parser.parse(buf, start, end, paced ?? sink);
      await paced?.deliver(buf);
      if (start === 0 && end === BUFFER_BYTES) {
        throw new CaptureFormatError(`a record larger than ${BUFFER_BYTES} bytes`);
      }
    }
    if (!options.signal?.aborted) this.#parser.finish(end - start);
  }

  /** Counters so far (a file has no drops). */
  stats(): SourceStats {
    const n = this.#parser.records;
    return { packets: n, received: n, dropped: 0, ifDropped: 0 };
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}

function oneLine(path: string, err: unknown): Error {
  if (err instanceof Deno.errors.NotFound) return new CaptureFormatError(`${path}: no such file`);
  if (err instanceof Deno.errors.PermissionDenied) {
    return new CaptureFormatError(`${path}: permission denied`);
  }
  return new CaptureFormatError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
}
