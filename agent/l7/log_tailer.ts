/**
 * Follows web server access logs as they grow, surviving every way logs are rotated:
 *
 * - **rename and create** (logrotate `create`, the nginx/Apache default): the path points to
 *   a new file; the old one (renamed) is read to its end and kept open while the server still
 *   writes to it (until it is quiet for `drainMs`), and the new one is read from its start;
 * - **copytruncate**: the file shrinks, or its first bytes change; reading restarts at 0. The
 *   lines written between the last read and the copy are read from the rotated copy (the
 *   newest uncompressed sibling `NAME.1`, `NAME-20260101`...), so only the lines the server
 *   wrote between logrotate's copy and its truncate (logrotate's own race) are lost;
 * - **deletion** and **late creation**: a deleted log is read to its end; a log that appears
 *   later is read from its start.
 *
 * Files that exist at start are read from their end (history is not an attack happening now).
 * A partial last line waits for its newline; lines over `maxLineBytes` and binary garbage are
 * skipped and counted. Only new bytes are read.
 *
 * Why polling (every `pollMs`, default 250 ms) and not inotify (`Deno.watchFs`): a watch
 * follows an inode or a directory, not a path, so rotation needs re-arming with races of its
 * own, and events are coalesced or dropped under load; one `stat()` per file four times a
 * second costs nothing, catches every rotation scheme the same way, and its latency is far
 * below the one-second windows detection works in.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { LineSplitter } from "../../core/l7/mod.ts";

/** Options of a {@linkcode LogTailer}. */
export interface LogTailerOptions {
  /** Paths to follow (several at once). */
  paths: string[];
  /** Receives every complete line (without newline) with the path it came from. */
  onLine: (line: string, path: string) => void;
  /** Notices (rotation seen, file gone, read errors), one line each. */
  onNotice?: (path: string, message: string) => void;
  /** Poll interval, ms (default 250). */
  pollMs?: number;
  /** Longest line kept (bytes; default 64 KiB). */
  maxLineBytes?: number;
  /** Keep reading a rotated-away file until it is quiet this long (ms; default 5000). */
  drainMs?: number;
  /** Read existing files from their start instead of their end (default false). */
  fromStart?: boolean;
  /** Clock (ms), for tests; default Date.now. */
  now?: () => number;
}

/** Counters of one followed path. */
export interface TailedFileStats {
  /** The followed path. */
  path: string;
  /** Open and following. */
  following: boolean;
  /** Bytes read. */
  bytes: number;
  /** Lines handed on. */
  lines: number;
  /** Rename-and-create rotations seen. */
  rotations: number;
  /** Copytruncate truncations seen. */
  truncations: number;
  /** Bytes read from a rotated copy after a copytruncate. */
  recoveredBytes: number;
  /** Lines skipped for being too long. */
  tooLong: number;
  /** Lines skipped for holding NUL bytes. */
  binary: number;
  /** Read errors. */
  errors: number;
  /** The last read error, or null. */
  lastError: string | null;
}

const HEAD_BYTES = 128;
const TAIL_BYTES = 64;
/** A rotated copy modified longer ago than this is not the copy of a copytruncate now. */
const RECENT_COPY_MS = 120_000;
const CHUNK = 1 << 20;

/** One open file being read. */
interface Handle {
  file: Deno.FsFile;
  ino: number;
  offset: number;
  /** The file's first bytes (to notice a truncate-and-regrow between two polls). */
  head: Uint8Array;
  lastGrowthMs: number;
  /** Lines of this file (a rotated file's last line is not mixed with the new file's). */
  splitter: LineSplitter;
  /** The last bytes read (a rotated copy is this file's past only if it holds them too). */
  tail: Uint8Array;
}

class Followed {
  cur: Handle | null = null;
  readonly draining: Handle[] = [];
  seen = false;
  readonly stats: TailedFileStats;
  constructor(readonly path: string) {
    this.stats = {
      path,
      following: false,
      bytes: 0,
      lines: 0,
      rotations: 0,
      truncations: 0,
      recoveredBytes: 0,
      tooLong: 0,
      binary: 0,
      errors: 0,
      lastError: null,
    };
  }
}

/** Follows several log files; call {@linkcode start}, later {@linkcode stop}. */
export class LogTailer {
  readonly #files: Followed[];
  readonly #opts: Required<Omit<LogTailerOptions, "onNotice">> & {
    onNotice: (path: string, message: string) => void;
  };
  readonly #buf = new Uint8Array(CHUNK);
  /** Reading a rotated copy happens in the middle of a read of `#buf`. */
  readonly #copyBuf = new Uint8Array(CHUNK);
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #first = true;

  /** A tailer of `options.paths` (nothing is read before {@linkcode start} or {@linkcode poll}). */
  constructor(options: LogTailerOptions) {
    this.#opts = {
      pollMs: 250,
      maxLineBytes: 65536,
      drainMs: 5000,
      fromStart: false,
      now: Date.now,
      onNotice: () => {},
      ...options,
    };
    this.#files = [...new Set(options.paths)].map((p) => new Followed(p));
  }

  /**
   * Starts polling; resolves after the first poll, from which on every line written is read
   * (existing files are taken from their end at that poll).
   */
  async start(): Promise<void> {
    const loop = async () => {
      this.#timer = null;
      if (this.#stopped) return;
      this.#running = this.poll();
      await this.#running;
      this.#running = null;
      if (!this.#stopped) this.#timer = setTimeout(loop, this.#opts.pollMs);
    };
    await loop();
  }

  /** One round over every file: notices rotation, reads what is new. Never throws. */
  async poll(): Promise<void> {
    const first = this.#first;
    this.#first = false;
    for (const f of this.#files) {
      try {
        await this.#pollFile(f, first);
      } catch (err) {
        this.#error(f, err);
      }
    }
  }

  /** Stops polling, reads what is left once more, closes every file. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running) await this.#running;
    await this.poll();
    for (const f of this.#files) {
      for (const h of f.draining) this.#close(f, h);
      f.draining.length = 0;
      if (f.cur) this.#close(f, f.cur);
      f.cur = null;
      f.stats.following = false;
    }
  }

  /** Counters of every followed path. */
  stats(): TailedFileStats[] {
    return this.#files.map((f) => {
      const open = f.cur ? [f.cur, ...f.draining] : f.draining;
      return {
        ...f.stats,
        tooLong: open.reduce((n, h) => n + h.splitter.tooLong, f.stats.tooLong),
        binary: open.reduce((n, h) => n + h.splitter.binary, f.stats.binary),
      };
    });
  }

  async #pollFile(f: Followed, first: boolean): Promise<void> {
    const now = this.#opts.now();
    let info: Deno.FileInfo | null = null;
    try {
      info = await Deno.stat(f.path);
      if (!info.isFile) info = null;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const cur = f.cur;
    if (cur !== null && (info === null || info.ino !== cur.ino)) {
      // Renamed away or deleted: finish it, keep it while the server may still write to it.
      f.cur = null;
      await this.#read(f, cur, now);
      f.stats.rotations++;
      this.#opts.onNotice(
        f.path,
        info === null ? "log file gone; finishing the old file" : "log rotated (new file)",
      );
      f.draining.push(cur);
    }
    for (let i = f.draining.length - 1; i >= 0; i--) {
      const h = f.draining[i];
      await this.#read(f, h, now);
      if (now - h.lastGrowthMs >= this.#opts.drainMs || this.#stopped) {
        this.#close(f, h);
        f.draining.splice(i, 1);
      }
    }
    if (info === null) {
      f.seen = true;
      f.stats.following = false;
      return;
    }
    if (f.cur === null) {
      const file = await Deno.open(f.path, { read: true });
      const atEnd = first && !this.#opts.fromStart;
      const offset = atEnd ? info.size : 0;
      if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
      f.cur = {
        file,
        ino: info.ino ?? 0,
        offset,
        head: new Uint8Array(0),
        lastGrowthMs: now,
        splitter: new LineSplitter(this.#opts.maxLineBytes),
        tail: new Uint8Array(0),
      };
      f.stats.following = true;
      if (f.seen) this.#opts.onNotice(f.path, "log file appeared; following it from its start");
      f.seen = true;
      await this.#captureHead(f.cur);
    } else if (await this.#truncated(f.cur, info.size)) {
      await this.#onTruncated(f, f.cur);
      f.cur.offset = 0;
      f.cur.tail = new Uint8Array(0);
      await f.cur.file.seek(0, Deno.SeekMode.Start);
    }
    await this.#read(f, f.cur, now);
    if (f.cur.head.length < HEAD_BYTES && f.cur.offset > f.cur.head.length) {
      await this.#captureHead(f.cur);
    }
  }

  /** Counts a truncation and reads the rotated copy from where reading stopped. */
  async #onTruncated(f: Followed, h: Handle): Promise<void> {
    this.#truncation(f);
    await this.#recover(f, h);
    h.head = new Uint8Array(0);
  }

  #truncation(f: Followed): void {
    f.stats.truncations++;
    this.#opts.onNotice(f.path, "log truncated (copytruncate); reading it from its start");
  }

  /** Shrunk below what was read, or the first bytes differ (truncated and regrown since). */
  async #truncated(h: Handle, size: number): Promise<boolean> {
    if (size < h.offset) return true;
    if (h.head.length === 0) return false;
    const now = await this.#pread(h, 0, h.head.length);
    if (now.length < h.head.length) return true;
    for (let i = 0; i < now.length; i++) if (now[i] !== h.head[i]) return true;
    return false;
  }

  async #captureHead(h: Handle): Promise<void> {
    h.head = await this.#pread(h, 0, HEAD_BYTES);
  }

  /** Reads `length` bytes at `position` and puts the file position back. */
  async #pread(h: Handle, position: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await h.file.seek(position, Deno.SeekMode.Start);
    let got = 0;
    while (got < length) {
      const n = await h.file.read(out.subarray(got));
      if (n === null || n === 0) break;
      got += n;
    }
    await h.file.seek(h.offset, Deno.SeekMode.Start);
    return out.subarray(0, got);
  }

  /** Reads everything new in `h`. */
  async #read(f: Followed, h: Handle, now: number): Promise<void> {
    const buf = this.#buf;
    for (;;) {
      const n = await h.file.read(buf);
      if (n === null || n === 0) return;
      h.lastGrowthMs = now;
      f.stats.bytes += n;
      let chunk = buf.subarray(0, n);
      // NUL bytes: the file may have been truncated between the stat and this read under a
      // writer that does not append (it leaves a hole up to its position). The bytes before
      // them are the old file's; the rest of the old file is in the rotated copy, if any.
      const z = h === f.cur && h.offset > 0 ? chunk.indexOf(0) : -1;
      if (z >= 0) {
        this.#consume(f, h, chunk.subarray(0, z));
        if (await this.#recover(f, h)) this.#truncation(f);
        h.head = new Uint8Array(0); // the first bytes may have changed: taken again
        chunk = chunk.subarray(z);
      }
      this.#consume(f, h, chunk);
    }
  }

  /** Hands bytes read from `h` at its offset to its splitter. */
  #consume(f: Followed, h: Handle, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    h.offset += bytes.length;
    const keep = Math.min(TAIL_BYTES, h.tail.length + bytes.length);
    const tail = new Uint8Array(keep);
    const fromChunk = Math.min(keep, bytes.length);
    tail.set(h.tail.subarray(h.tail.length - (keep - fromChunk)), 0);
    tail.set(bytes.subarray(bytes.length - fromChunk), keep - fromChunk);
    h.tail = tail;
    h.splitter.push(bytes, (line) => this.#line(f, line));
  }

  /**
   * After a copytruncate: the bytes from the offset read so far on, in the rotated copy; then
   * `h`'s unfinished line is complete or lost. True when a recent copy holds the bytes last
   * read (it is this file's past).
   */
  async #recover(f: Followed, h: Handle): Promise<boolean> {
    const offset = h.offset;
    const splitter = h.splitter;
    const dir = dirname(f.path);
    const name = basename(f.path);
    let best: { path: string; mtime: number; size: number } | null = null;
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.isFile || e.name === name || !e.name.startsWith(name)) continue;
        if (!/^[.-]/.test(e.name.slice(name.length))) continue;
        if (/\.(gz|bz2|xz|zst|lz4|z)$/i.test(e.name)) continue;
        const p = join(dir, e.name);
        const st = await Deno.stat(p);
        const mtime = st.mtime?.getTime() ?? 0;
        // Only a copy made just now (an old rotated file is not this file's past).
        if (Date.now() - mtime > RECENT_COPY_MS) continue;
        if (st.size >= offset && (best === null || mtime > best.mtime)) {
          best = { path: p, mtime, size: st.size };
        }
      }
    } catch {
      return false;
    }
    if (best === null || best.size < offset) {
      splitter.discardPartial();
      return false;
    }
    const file = await Deno.open(best.path, { read: true });
    try {
      // The copy must hold the bytes last read from this file just before `offset`.
      const tail = h.tail;
      const check = new Uint8Array(tail.length);
      await file.seek(offset - tail.length, Deno.SeekMode.Start);
      let got = 0;
      while (got < check.length) {
        const n = await file.read(check.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      if (got !== tail.length || check.some((b, i) => b !== tail[i])) {
        splitter.discardPartial();
        return false;
      }
      await file.seek(offset, Deno.SeekMode.Start);
      const buf = this.#copyBuf;
      for (;;) {
        const n = await file.read(buf);
        if (n === null || n === 0) break;
        f.stats.bytes += n;
        f.stats.recoveredBytes += n;
        splitter.push(buf.subarray(0, n), (line) => this.#line(f, line));
        h.tail = new Uint8Array(0); // the copy's bytes are not this file's any more
      }
      // The copy ends where the truncation cut: its last line is complete or lost.
      splitter.discardPartial();
      return true;
    } finally {
      file.close();
    }
  }

  /** Closes a file; a last line without its newline is still a line. */
  #close(f: Followed, h: Handle): void {
    h.splitter.flush((line) => this.#line(f, line));
    f.stats.tooLong += h.splitter.tooLong;
    f.stats.binary += h.splitter.binary;
    h.file.close();
  }

  #line(f: Followed, line: string): void {
    f.stats.lines++;
    this.#opts.onLine(line, f.path);
  }

  #error(f: Followed, err: unknown): void {
    f.stats.errors++;
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    if (message !== f.stats.lastError) this.#opts.onNotice(f.path, `cannot read: ${message}`);
    f.stats.lastError = message;
  }
}
