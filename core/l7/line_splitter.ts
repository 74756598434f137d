/**
 * Splits a byte stream (a log read in chunks) into text lines: a partial last line waits for
 * its newline, a line longer than the limit is skipped and counted (the stream goes on at the
 * next newline), a line with NUL bytes (binary garbage) is skipped and counted, NUL bytes at
 * the start of a line (a hole left by truncation) are skipped. Pure.
 *
 * @module
 */

/** Default longest line (bytes): longer lines are skipped. */
export const DEFAULT_MAX_LINE_BYTES = 65536;

const DECODE_BYTES = 16384;

/** Turns chunks of bytes into lines. */
export class LineSplitter {
  /** Lines skipped for being longer than the limit. */
  tooLong = 0;
  /** Lines skipped for holding NUL bytes (binary garbage). */
  binary = 0;
  /**
   * NUL bytes skipped at line starts: the hole a writer without O_APPEND leaves when its log
   * is truncated under it (logrotate copytruncate) before its next line.
   */
  holeBytes = 0;
  readonly #max: number;
  readonly #decoder = new TextDecoder();
  #partial: Uint8Array = new Uint8Array(0);
  #partialLen = 0;
  /** Discarding a too-long line until its newline. */
  #skipping = false;

  /** A splitter skipping lines longer than `maxLineBytes`. */
  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.#max = maxLineBytes;
  }

  /** Bytes of an unfinished last line held back. */
  get pendingBytes(): number {
    return this.#partialLen;
  }

  /** Feeds a chunk; calls `onLine` for every complete line (without "\n" or "\r\n"). */
  push(chunk: Uint8Array, onLine: (line: string) => void): void {
    let start = 0;
    if (this.#skipping) {
      const nl = chunk.indexOf(10);
      if (nl < 0) return;
      this.#skipping = false;
      start = nl + 1;
    }
    if (this.#partialLen === 0) {
      const from = start;
      while (start < chunk.length && chunk[start] === 0) start++;
      this.holeBytes += start - from;
    }
    const last = chunk.lastIndexOf(10);
    if (last < start) {
      this.#hold(chunk.subarray(start));
      return;
    }
    let region = chunk.subarray(start, last + 1);
    if (this.#partialLen > 0) {
      const joined = new Uint8Array(this.#partialLen + region.length);
      joined.set(this.#partial.subarray(0, this.#partialLen));
      joined.set(region, this.#partialLen);
      region = joined;
      this.#partialLen = 0;
    }
    // Decoded in pieces of about DECODE_BYTES: lines sliced from one huge string parse several
    // times slower (measured: 1 MiB pieces 5.5 s, 16 KiB pieces 0.8 s for 500k lines).
    for (let from = 0; from < region.length;) {
      let end = from + DECODE_BYTES;
      if (end >= region.length) end = region.length;
      else {
        const nl = region.lastIndexOf(10, end - 1);
        end = nl >= from ? nl + 1 : region.indexOf(10, end) + 1;
      }
      this.#emit(this.#decoder.decode(region.subarray(from, end)), onLine);
      from = end;
    }
    this.#hold(chunk.subarray(last + 1));
  }

  /** End of the stream: the unfinished last line, if any, is a line. */
  flush(onLine: (line: string) => void): void {
    if (this.#partialLen > 0) {
      const text = this.#decoder.decode(this.#partial.subarray(0, this.#partialLen));
      this.#partialLen = 0;
      this.#emit(text + "\n", onLine);
    }
    this.#skipping = false;
  }

  /** Forgets an unfinished line (the file it came from was truncated or replaced). */
  discardPartial(): void {
    this.#partialLen = 0;
    this.#skipping = false;
  }

  #hold(rest: Uint8Array): void {
    if (rest.length === 0) return;
    const need = this.#partialLen + rest.length;
    if (need > this.#max) {
      this.tooLong++;
      this.#partialLen = 0;
      this.#skipping = true;
      return;
    }
    if (need > this.#partial.length) {
      const grown = new Uint8Array(
        Math.min(this.#max, Math.max(need, 2 * this.#partial.length, 4096)),
      );
      grown.set(this.#partial.subarray(0, this.#partialLen));
      this.#partial = grown;
    }
    this.#partial.set(rest, this.#partialLen);
    this.#partialLen = need;
  }

  /** Emits the lines of `text`, which ends with "\n". */
  #emit(text: string, onLine: (line: string) => void): void {
    let from = 0;
    const max = this.#max;
    let nul = text.indexOf("\0");
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
      let end = nl;
      if (end > from && text.charCodeAt(end - 1) === 13) end--;
      if (nul >= 0 && nul < from) nul = text.indexOf("\0", from);
      if (end - from > max) this.tooLong++;
      else if (nul >= 0 && nul < end) this.binary++;
      else onLine(text.slice(from, end));
      from = nl + 1;
    }
  }
}
