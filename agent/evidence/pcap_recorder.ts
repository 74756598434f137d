/**
 * PCAP evidence: one capture file per incident (`${pcap_dir}/${id}.pcap`) that starts
 * `pcap_pre_seconds` before the onset (from the pre-attack ring) and goes on until the incident
 * resolves or reaches `pcap_max_packets` / `pcap_max_seconds`. The capture loop never waits on
 * the disk: frames are appended to bounded in-memory chunks, written asynchronously, and dropped
 * (counted) when the disk falls behind. Disk limits (`pcap_max_total_mb`, `pcap_min_free_mb`)
 * are checked before a file is opened and before every write; a violation stops PCAP writing
 * with a reason in {@linkcode PcapRecorder.stats}, never detection. A write failure or a
 * violated limit is said once when it happens (`onWarning`: one line per cause, with the path
 * and the system's error), again only after writing worked in between. Files are created with
 * mode 0600, the directory with 0700.
 *
 * @module
 */

import {
  type PacketMeta,
  PacketRing,
  type PacketRingOptions,
  parseAddress,
  PCAP_RECORD_HEADER_BYTES,
  pcapFileHeader,
  type RingFrameFn,
  writePcapRecordHeader,
} from "../../core/packet/mod.ts";
import type { Config } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import { PcapDisk } from "./_pcap_disk.ts";
import { ChunkPool, errorCause, isoToUs, Recording, SampleHistory } from "./_pcap_recording.ts";
import type { PcapFileStats, PcapRecorderStats } from "./pcap_stats.ts";

/** The config keys the recorder reads. */
export type PcapConfig = Pick<
  Config,
  | "pcap_dir"
  | "pcap_max_packets"
  | "pcap_max_seconds"
  | "pcap_retention_days"
  | "pcap_pre_seconds"
  | "pcap_max_total_mb"
  | "pcap_min_free_mb"
>;

/** Tuning of a {@linkcode PcapRecorder} (defaults suit a live agent). */
export interface PcapRecorderOptions {
  /** Sizes of the pre-attack ring. */
  ring?: PacketRingOptions;
  /** Bytes kept of each frame recorded after the open (default 65535). */
  snaplen?: number;
  /** Unwritten bytes one recording may hold; beyond, frames are dropped (default 8 MiB). */
  maxPendingBytes?: number;
  /** Interval of the write timer (ms, default 250). */
  flushMs?: number;
  /** Longest time a `df` reading or directory scan is reused (ms, default 5000). */
  diskCheckMs?: number;
  /** One line when writing fails or stops, once per cause (default: none). */
  onWarning?: (message: string) => void;
}

const FILE_SNAPLEN = 65535;
const RECENT = 32;

/** Writes one PCAP file per incident, fed per packet by the capture loop. */
export class PcapRecorder {
  readonly #cfg: PcapConfig;
  readonly #ring: PacketRing;
  readonly #snaplen: number;
  readonly #maxPending: number;
  readonly #flushMs: number;
  readonly #pool = new ChunkPool();
  readonly #disk: PcapDisk;
  /** Recordings taking frames (the per-packet list), and every one not yet closed. */
  #active: Recording[] = [];
  readonly #open = new Map<string, Recording>();
  readonly #recent: PcapFileStats[] = [];
  readonly #sampling = new SampleHistory();
  #linktype = -1;
  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #onWarning: (message: string) => void;
  /** Causes already warned about since writing last worked. */
  readonly #warned = new Set<string>();
  readonly #stats = {
    files: 0,
    packets: 0,
    bytesWritten: 0,
    droppedFrames: 0,
    limited: 0,
    skipped: 0,
    stoppedReason: null as string | null,
    errors: 0,
    lastError: null as string | null,
  };

  /** Allocates the ring; nothing touches the disk before the first incident or prune. */
  constructor(config: PcapConfig, options: PcapRecorderOptions = {}) {
    this.#cfg = config;
    this.#ring = new PacketRing(options.ring);
    this.#snaplen = Math.min(options.snaplen ?? FILE_SNAPLEN, FILE_SNAPLEN);
    this.#maxPending = options.maxPendingBytes ?? 8 * 1024 * 1024;
    this.#flushMs = options.flushMs ?? 250;
    this.#onWarning = options.onWarning ?? (() => {});
    const checkMs = options.diskCheckMs ?? 5000;
    this.#disk = new PcapDisk({
      dir: config.pcap_dir,
      maxTotalBytes: config.pcap_max_total_mb * 1048576,
      minFreeBytes: config.pcap_min_free_mb * 1048576,
      dfIntervalMs: checkMs,
      scanIntervalMs: checkMs,
    });
  }

  /** A source's batch of frames, before their {@linkcode packet} calls (see `PacketRing.batch`). */
  batch(buf: Uint8Array, start: number, end: number, frames: number): void {
    this.#ring.batch(buf, start, end, frames);
  }

  /**
   * One captured frame (call after the pipeline decoded it, with its `meta`, so address targets
   * can match `meta.dst`; without `meta` only interface-wide captures take it). Allocation-free.
   */
  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
    meta?: PacketMeta,
  ): void {
    this.#ring.push(buf, offset, capLen, wireLen, tsUs, linktype);
    this.#linktype = linktype;
    const active = this.#active;
    for (let i = 0; i < active.length; i++) {
      const rec = active[i];
      const t = rec.target;
      if (t !== null) {
        if (meta === undefined) continue;
        const d = meta.dst;
        if (d[3] !== t[3] || d[2] !== t[2] || d[1] !== t[1] || d[0] !== t[0]) continue;
      }
      if (tsUs > rec.untilUs) {
        this.#end(rec, "pcap_max_seconds");
        i--;
        continue;
      }
      this.#append(rec, buf, offset, capLen, wireLen, tsUs, linktype);
      if (rec.info.packets >= this.#cfg.pcap_max_packets) {
        this.#end(rec, "pcap_max_packets");
        i--;
      }
    }
  }

  /** Kernel sampling's rate from frame time `tsUs` on: each capture says the largest it holds. */
  sampling(rate: number, tsUs: number): void {
    this.#sampling.set(rate, tsUs);
    for (const rec of this.#active) rec.info.sampleRate = Math.max(rec.info.sampleRate, rate);
  }

  /** An incident event: "open" starts a capture, "resolve" finishes it, "update" is ignored. */
  incident(event: IncidentEvent): void {
    if (event.event === "open") this.#start(event);
    else if (event.event === "resolve") {
      const rec = this.#open.get(event.id);
      if (rec !== undefined && rec.active) this.#end(rec, "resolve");
    }
  }

  /** Deletes captures older than pcap_retention_days (run at start and hourly). */
  async prune(nowSec: number = Date.now() / 1000): Promise<number> {
    try {
      return await this.#disk.prune(nowSec, this.#cfg.pcap_retention_days, this.#busyPaths());
    } catch (err) {
      this.#error(err);
      return 0;
    }
  }

  /** Counters, the stop reason and the recent captures. */
  stats(): PcapRecorderStats {
    return {
      ...this.#stats,
      recording: this.#active.length,
      deletedForSpace: this.#disk.deletedForSpace,
      pruned: this.#disk.pruned,
      recent: this.#recent.map((r) => ({ ...r })),
    };
  }

  /** True while the capture of incident `id` is taken or written (its file is not complete). */
  writing(id: string): boolean {
    return this.#open.has(id);
  }

  /** Finishes every capture: writes what is pending and closes the files. */
  async close(): Promise<void> {
    for (const rec of [...this.#active]) this.#end(rec, "close");
    while (this.#open.size > 0) {
      await Promise.all([...this.#open.values()].map((r) => r.chain));
    }
    this.#stopTimer();
  }

  #start(event: IncidentEvent): void {
    const cfg = this.#cfg;
    const id = event.id;
    const startedUs = isoToUs(event.started_at);
    const detectedUs = isoToUs(event.detected_at);
    let target: Uint32Array | null = null;
    try {
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new Error(`incident id ${JSON.stringify(id)}`);
      if (this.#open.has(id)) return;
      if (this.#linktype < 0 || Number.isNaN(startedUs) || Number.isNaN(detectedUs)) {
        throw new Error(`incident ${id}: no frames or times to start a capture`);
      }
      // (An outbound finding records every frame, as the interface does.)
      // (So does a prefix's, in mirror mode: its frames are every address's of the prefix.)
      const prefix = String(event.target).includes("/");
      if (event.target !== "interface" && event.direction !== "outbound" && !prefix) {
        target = parseAddress(String(event.target));
      }
    } catch (err) {
      this.#stats.skipped++;
      this.#error(err);
      return;
    }
    const info: PcapFileStats = {
      id,
      path: `${cfg.pcap_dir}/${id}.pcap`,
      packets: 0,
      preFrames: 0,
      bytes: 0,
      dropped: 0,
      endedBy: null,
      sampleRate: this.#sampling.maxSince(startedUs - cfg.pcap_pre_seconds * 1e6),
    };
    const rec = new Recording(
      info,
      target,
      this.#linktype,
      detectedUs + cfg.pcap_max_seconds * 1e6,
      this.#pool.take(),
    );
    const header = pcapFileHeader(rec.linktype, this.#snaplen);
    rec.cur.bytes.set(header, 0);
    rec.cur.pos = header.length;
    rec.pending = header.length;
    this.#open.set(id, rec);
    this.#active.push(rec);
    this.#recent.push(info);
    if (this.#recent.length > RECENT) this.#recent.shift();
    this.#stats.files++;
    this.#fromRing(rec, startedUs - cfg.pcap_pre_seconds * 1e6, startedUs);
    if (rec.info.packets >= cfg.pcap_max_packets) this.#end(rec, "pcap_max_packets");
    this.#startTimer();
    this.#then(rec, () => this.#openFile(rec));
  }

  /**
   * Copies the ring's frames from `fromUs`: at most half of pcap_max_packets, shared between
   * the frames before the onset and those after it. When the frames before the onset are too
   * many, the earliest half of their share shows the traffic as it was and the latest half the
   * ramp into the onset (with a gap between); after the onset the latest ones are kept, so they
   * run on into the frames recorded live.
   */
  #fromRing(rec: Recording, fromUs: number, onsetUs: number): void {
    const ring = this.#ring;
    const budget = Math.max(1, Math.floor(this.#cfg.pcap_max_packets / 2));
    const a = ring.seqAt(fromUs);
    const s = Math.max(a, ring.seqAt(onsetUs));
    const n = ring.nextSeq;
    let pre = Math.min(s - a, Math.ceil(budget / 2));
    const post = Math.min(n - s, budget - pre);
    pre = Math.min(s - a, budget - post);
    const add: RingFrameFn = (buf, offset, capLen, wireLen, tsUs, linktype) => {
      if (tsUs < fromUs) return;
      this.#append(rec, buf, offset, capLen, wireLen, tsUs, linktype);
      rec.info.preFrames++;
    };
    const early = s - a > pre ? pre >>> 1 : pre;
    ring.range(a, a + early, add);
    ring.range(s - (pre - early), s, add);
    ring.range(n - post, n, add);
  }

  #append(
    rec: Recording,
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    const len = capLen < this.#snaplen ? capLen : this.#snaplen;
    const need = PCAP_RECORD_HEADER_BYTES + len;
    if (linktype !== rec.linktype || rec.pending + need > this.#maxPending) {
      rec.info.dropped++;
      this.#stats.droppedFrames++;
      return;
    }
    let chunk = rec.cur;
    if (chunk.pos + need > chunk.bytes.length) {
      rec.full.push(chunk);
      chunk = rec.cur = this.#pool.take();
      if (rec.full.length >= 4) this.#scheduleFlush(rec);
    }
    writePcapRecordHeader(chunk.view, chunk.pos, tsUs, len, wireLen);
    chunk.copier.copy(buf, offset, len, chunk.pos + PCAP_RECORD_HEADER_BYTES);
    chunk.pos += need;
    rec.pending += need;
    rec.info.packets++;
    this.#stats.packets++;
  }

  /** Stops taking frames; the rest is written and the file closed in the background. */
  #end(rec: Recording, why: string): void {
    if (!rec.active) return;
    rec.active = false;
    rec.info.endedBy = why;
    if (why === "pcap_max_packets" || why === "pcap_max_seconds") this.#stats.limited++;
    const i = this.#active.indexOf(rec);
    if (i >= 0) this.#active.splice(i, 1);
    this.#then(rec, async () => {
      await this.#write(rec);
      rec.file?.close();
      rec.file = null;
      this.#release(rec);
      this.#open.delete(rec.info.id);
      if (this.#open.size === 0) this.#stopTimer();
    });
  }

  async #openFile(rec: Recording): Promise<void> {
    await this.#disk.ensureDir();
    const reason = await this.#disk.check(rec.pending, this.#busyPaths());
    if (reason !== null) {
      this.#stats.skipped++;
      return this.#stopAll(reason);
    }
    this.#stats.stoppedReason = null;
    const path = rec.info.path;
    rec.file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
    await Deno.chmod(path, 0o600);
  }

  /** Writes the pending chunks (after the disk checks). */
  async #write(rec: Recording): Promise<void> {
    rec.flushQueued = false;
    if (rec.file === null || rec.discarded) return;
    if (rec.cur.pos > 0) {
      rec.full.push(rec.cur);
      rec.cur = this.#pool.take();
    }
    const chunks = rec.full.splice(0);
    let bytes = 0;
    for (const c of chunks) bytes += c.pos;
    const reason = await this.#disk.check(bytes, this.#busyPaths());
    if (reason !== null) {
      for (const c of chunks) this.#pool.give(c);
      rec.pending -= bytes;
      return this.#stopAll(reason);
    }
    for (const c of chunks) {
      const data = c.bytes.subarray(0, c.pos);
      for (let done = 0; done < data.length;) done += await rec.file.write(data.subarray(done));
      this.#disk.wrote(c.pos);
      rec.info.bytes += c.pos;
      rec.pending -= c.pos;
      this.#stats.bytesWritten += c.pos;
      this.#pool.give(c);
    }
    this.#warned.clear(); // Writing works: the next failure is news again.
  }

  /** Disk limits violated: every capture stops (what is written stays), new ones are refused. */
  #stopAll(reason: string): void {
    this.#stats.stoppedReason = reason;
    this.#warn(
      reason.split(" ")[0],
      `PCAP writing stopped: ${reason}; detection goes on, new captures are tried at the next incident`,
    );
    for (const rec of [...this.#open.values()]) {
      rec.discarded = true;
      if (rec.active) this.#end(rec, `stopped: ${reason}`);
      this.#release(rec);
    }
  }

  #release(rec: Recording): void {
    for (const c of rec.full.splice(0)) this.#pool.give(c);
    rec.cur.pos = 0;
    rec.pending = 0;
  }

  #scheduleFlush(rec: Recording): void {
    if (rec.flushQueued || rec.discarded) return;
    rec.flushQueued = true;
    this.#then(rec, () => this.#write(rec));
  }

  /** Runs `op` after the recording's earlier operations; failures are counted, never thrown. */
  #then(rec: Recording, op: () => Promise<void>): void {
    rec.chain = rec.chain.then(op).catch((err) => {
      this.#error(err, rec.info.path);
      rec.discarded = true;
      const file = rec.file; // given up: a failed write leaves it open
      rec.file = null;
      try {
        file?.close();
      } catch { /* already gone */ }
      this.#release(rec);
      if (rec.active) this.#end(rec, `error: ${this.#stats.lastError}`);
      else this.#open.delete(rec.info.id);
    });
  }

  #startTimer(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      for (const rec of this.#active) if (rec.pending > 0) this.#scheduleFlush(rec);
    }, this.#flushMs);
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #busyPaths(): Set<string> {
    return new Set([...this.#open.values()].map((r) => r.info.path));
  }

  /** Counts a failure; one of a capture (at `path`) is also said, once per cause. */
  #error(err: unknown, path?: string): void {
    const message = err instanceof Error ? err.message : String(err);
    this.#stats.errors++;
    this.#stats.lastError = message;
    if (path === undefined) return;
    this.#warn(errorCause(err), `PCAP capture ${path} failed: ${message}; detection goes on`);
  }

  /** Says `message` unless `cause` was said since writing last worked. */
  #warn(cause: string, message: string): void {
    if (this.#warned.has(cause)) return;
    this.#warned.add(cause);
    this.#onWarning(message);
  }
}
