// Line-by-line input for interactive commands: works the same on a terminal (cooked mode hands
// over one line per read) and on a pipe (many lines per read, or a last line without "\n").

/** Something to read bytes from (`Deno.stdin`, a file, a test double). */
export interface ByteReader {
  read(p: Uint8Array): Promise<number | null>;
}

/** Reads lines from a {@linkcode ByteReader}; `null` at the end of the input. */
export class LineReader {
  readonly #reader: ByteReader;
  readonly #decoder = new TextDecoder();
  #pending = "";
  #ended = false;

  /** Reads from `reader` (never closed here). */
  constructor(reader: ByteReader) {
    this.#reader = reader;
  }

  /** The next line without its line ending, or `null` when the input ended. */
  async line(): Promise<string | null> {
    const buf = new Uint8Array(4096);
    while (true) {
      const nl = this.#pending.indexOf("\n");
      if (nl >= 0) {
        const line = this.#pending.slice(0, nl);
        this.#pending = this.#pending.slice(nl + 1);
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
      if (this.#ended) {
        if (this.#pending === "") return null;
        const last = this.#pending;
        this.#pending = "";
        return last;
      }
      const n = await this.#reader.read(buf);
      if (n === null) {
        this.#ended = true;
        this.#pending += this.#decoder.decode();
      } else {
        this.#pending += this.#decoder.decode(buf.subarray(0, n), { stream: true });
      }
    }
  }
}
