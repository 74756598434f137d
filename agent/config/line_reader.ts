/**
 * Line-by-line input for the setup wizard: the same on a terminal (cooked mode hands over one
 * line per read) and on a pipe (many lines per read, or a last line without "\n"), split by
 * the {@linkcode LineSplitter} the log tailer uses.
 *
 * @module
 */

import { LineSplitter } from "../../core/l7/mod.ts";

/** Something to read bytes from (`Deno.stdin`, a file). */
export interface ByteReader {
  /** Reads into `p`; the number of bytes read, or null at the end. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Reads lines from a {@linkcode ByteReader}; `null` at the end of the input. */
export class LineReader {
  readonly #reader: ByteReader;
  readonly #splitter = new LineSplitter();
  readonly #lines: string[] = [];
  readonly #buf = new Uint8Array(4096);
  #ended = false;

  /** Reads from `reader` (never closed here). */
  constructor(reader: ByteReader) {
    this.#reader = reader;
  }

  /** The next line without its line ending, or `null` when the input ended. */
  async line(): Promise<string | null> {
    const push = (line: string) => this.#lines.push(line);
    while (this.#lines.length === 0 && !this.#ended) {
      const n = await this.#reader.read(this.#buf);
      if (n === null) {
        this.#ended = true;
        this.#splitter.flush(push);
      } else {
        this.#splitter.push(this.#buf.subarray(0, n), push);
      }
    }
    return this.#lines.shift() ?? null;
  }
}
