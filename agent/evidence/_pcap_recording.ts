/**
 * State of one incident capture of the PCAP recorder and its write buffers: fixed-size chunks
 * of whole pcap records, reused through a pool so the per-packet path allocates only when a
 * capture needs more memory than it had.
 *
 * @module
 */

import { ByteCopier } from "../../core/packet/mod.ts";
import type { PcapFileStats } from "./pcap_stats.ts";

/** Size of one chunk; larger than the largest record (16 + 65535 bytes). */
const CHUNK_BYTES = 256 * 1024;
/** Free chunks kept for reuse (beyond, they are left to the collector). */
const POOL_MAX = 64;

/** A buffer of whole pcap records with its views. */
export class Chunk {
  readonly bytes: Uint8Array = new Uint8Array(CHUNK_BYTES);
  readonly view: DataView = new DataView(this.bytes.buffer);
  readonly copier: ByteCopier = new ByteCopier(this.bytes);
  /** Bytes filled. */
  pos = 0;
}

/** Free chunks. */
export class ChunkPool {
  readonly #free: Chunk[] = [];

  /** An empty chunk (reused when one is free). */
  take(): Chunk {
    const c = this.#free.pop() ?? new Chunk();
    c.pos = 0;
    return c;
  }

  /** Returns a chunk whose bytes are no longer needed. */
  give(chunk: Chunk): void {
    chunk.pos = 0;
    if (this.#free.length < POOL_MAX) this.#free.push(chunk);
  }
}

/** One capture being written: its target, limits, pending chunks and file. */
export class Recording {
  readonly info: PcapFileStats;
  readonly target: Uint32Array | null;
  readonly linktype: number;
  readonly untilUs: number;
  /** Full chunks waiting to be written, and the one being filled. */
  readonly full: Chunk[] = [];
  cur: Chunk;
  pending = 0;
  file: Deno.FsFile | null = null;
  active = true;
  discarded = false;
  flushQueued = false;
  chain: Promise<void> = Promise.resolve();

  constructor(
    info: PcapFileStats,
    target: Uint32Array | null,
    linktype: number,
    untilUs: number,
    cur: Chunk,
  ) {
    this.info = info;
    this.target = target;
    this.linktype = linktype;
    this.untilUs = untilUs;
    this.cur = cur;
  }
}

/** Most rate changes {@linkcode SampleHistory} keeps (older ones count as the oldest kept). */
const HISTORY = 64;

/** The kernel sampling rates in effect over time, for the frames a capture takes. */
export class SampleHistory {
  /** [from µs, rate] pairs, oldest first. */
  readonly #changes: [number, number][] = [];
  #rate = 1;

  /** The rate is `rate` from frame time `tsUs` on. */
  set(rate: number, tsUs: number): void {
    if (rate === this.#rate) return;
    this.#changes.push([tsUs, this.#rate]);
    if (this.#changes.length > HISTORY) this.#changes.shift();
    this.#rate = rate;
  }

  /** The largest rate in effect from `fromUs` until now. */
  maxSince(fromUs: number): number {
    let max = this.#rate;
    // Each change records the rate that ended at its time.
    for (const [untilUs, rate] of this.#changes) if (untilUs >= fromUs && rate > max) max = rate;
    return max;
  }
}

/** An ISO-8601 time of an incident event (`...T12:00:00.123456+00:00`) in µs; NaN when invalid. */
export function isoToUs(value: unknown): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(
    String(value),
  );
  if (m === null) return NaN;
  const ms = Date.parse(m[1] + m[3]);
  return ms * 1000 + Number((m[2] ?? "").padEnd(6, "0").slice(0, 6));
}
/** What kind of failure `err` is: the system's error code (EROFS, ENOSPC...) or its name. */
export function errorCause(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  return err instanceof Error ? err.name : "error";
}
