/**
 * Disk safety of the PCAP directory: the captures' total size (deleting the oldest to make room),
 * the disk's free space (read with `df`, cached) and the retention prune. Private to the recorder.
 *
 * @module
 */

/** One capture file in the directory. */
interface CaptureFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Limits and cache intervals of a {@linkcode PcapDisk}. */
export interface PcapDiskOptions {
  dir: string;
  maxTotalBytes: number;
  minFreeBytes: number;
  /** Longest time a `df` reading is reused (ms). */
  dfIntervalMs: number;
  /** Longest time a directory scan is reused (ms). */
  scanIntervalMs: number;
}

/** Keeps the captures within their size cap and the disk above its free-space floor. */
export class PcapDisk {
  /** Captures deleted to make room, and by the retention prune. */
  deletedForSpace = 0;
  pruned = 0;
  /** Last failure to read the free space (the check is skipped then), or null. */
  dfError: string | null = null;
  readonly #o: PcapDiskOptions;
  #used = 0;
  #scannedAt = -Infinity;
  #free = Infinity;
  #dfAt = -Infinity;
  #writtenSinceDf = 0;

  /** Creates the guard (nothing is read before the first check). */
  constructor(options: PcapDiskOptions) {
    this.#o = options;
  }

  /** Creates the directory (mode 0700) when it is missing. */
  async ensureDir(): Promise<void> {
    try {
      await Deno.stat(this.#o.dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      await Deno.mkdir(this.#o.dir, { recursive: true, mode: 0o700 });
      await Deno.chmod(this.#o.dir, 0o700);
    }
  }

  /** Counts bytes appended to a capture since the last scan and `df` reading. */
  wrote(bytes: number): void {
    this.#used += bytes;
    this.#writtenSinceDf += bytes;
  }

  /**
   * Checks that `extra` more bytes may be written: deletes the oldest captures not in `busy` to
   * stay under the size cap. Returns why writing must stop, or null.
   */
  async check(extra: number, busy: ReadonlySet<string>): Promise<string | null> {
    const o = this.#o;
    const now = performance.now();
    if (now - this.#scannedAt > o.scanIntervalMs || this.#used + extra > o.maxTotalBytes) {
      const files = await this.#scan();
      if (this.#used + extra > o.maxTotalBytes) {
        files.sort((a, b) => a.mtimeMs - b.mtimeMs);
        for (const f of files) {
          if (this.#used + extra <= o.maxTotalBytes) break;
          if (busy.has(f.path)) continue;
          if (await removeQuietly(f.path)) {
            this.#used -= f.size;
            this.deletedForSpace++;
          }
        }
        if (this.#used + extra > o.maxTotalBytes) {
          return `pcap_max_total_mb (${mb(o.maxTotalBytes)} MB) reached by captures being written`;
        }
      }
    }
    if (now - this.#dfAt > o.dfIntervalMs) await this.#readFree(now);
    const free = this.#free - this.#writtenSinceDf - extra;
    if (free < o.minFreeBytes) {
      return `free space on ${o.dir} (${mb(free)} MB) below pcap_min_free_mb (${
        mb(o.minFreeBytes)
      } MB)`;
    }
    return null;
  }

  /** Deletes captures last modified before `nowSec - days`, except those in `busy`. */
  async prune(nowSec: number, days: number, busy: ReadonlySet<string>): Promise<number> {
    const cutoffMs = (nowSec - days * 86400) * 1000;
    let n = 0;
    for (const f of await this.#scan()) {
      if (f.mtimeMs < cutoffMs && !busy.has(f.path) && await removeQuietly(f.path)) {
        this.#used -= f.size;
        n++;
      }
    }
    this.pruned += n;
    return n;
  }

  async #scan(): Promise<CaptureFile[]> {
    const files: CaptureFile[] = [];
    let used = 0;
    try {
      for await (const e of Deno.readDir(this.#o.dir)) {
        if (!e.isFile || !e.name.endsWith(".pcap")) continue;
        const path = `${this.#o.dir}/${e.name}`;
        try {
          const st = await Deno.stat(path);
          files.push({ path, size: st.size, mtimeMs: st.mtime?.getTime() ?? 0 });
          used += st.size;
        } catch {
          // Deleted meanwhile.
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    this.#used = used;
    this.#scannedAt = performance.now();
    return files;
  }

  async #readFree(now: number): Promise<void> {
    this.#dfAt = now;
    this.#writtenSinceDf = 0;
    try {
      const out = await new Deno.Command("df", {
        args: ["-B1", "--output=avail", this.#o.dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const value = Number(new TextDecoder().decode(out.stdout).trim().split("\n").pop());
      if (!out.success || !Number.isFinite(value)) throw new Error(`df exited ${out.code}`);
      this.#free = value;
      this.dfError = null;
    } catch (err) {
      this.#free = Infinity;
      this.dfError = `cannot read free space: ${err instanceof Error ? err.message : err}`;
    }
  }
}

async function removeQuietly(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch {
    return false;
  }
}

function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
