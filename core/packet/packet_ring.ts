/**
 * The pre-attack ring: the most recent frames (their first `snaplen` bytes) in one preallocated
 * byte buffer with typed-array indexes, so an incident's capture can start before its onset.
 * Pure and allocation-free per packet: frames are copied word by word (see `byte_copier.ts`) at
 * positions aligned to their source, and the oldest frames are overwritten. A source that reads
 * frames in batches can hand each batch to {@linkcode PacketRing.batch} first: a batch of small
 * frames (a flood) is then copied in one block and its frames are only indexed.
 *
 * @module
 */

import { ByteCopier } from "./byte_copier.ts";

/** Sizes of a {@linkcode PacketRing}. */
export interface PacketRingOptions {
  /** Bytes of frame data held (default 16 MiB). */
  bytes?: number;
  /** Frames held at most (default 262,144; rounded up to a power of two). */
  slots?: number;
  /**
   * Bytes kept of each frame (default 256: link, IP and L4 headers plus the start of the
   * payload). The copy costs about 0.2 ns a byte, so a larger value keeps more per frame, fewer
   * frames, and costs more per packet.
   */
  snaplen?: number;
}

/** Receives one frame of the ring; `buf` is the ring's buffer, valid only during the call. */
export type RingFrameFn = (
  buf: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  tsUs: number,
  linktype: number,
) => void;

/**
 * A batch is copied in one block when its bytes per frame are at most the ring's snaplen plus
 * this (record headers, a little more of each frame): beyond, frame-by-frame copies of
 * `snaplen` bytes keep more frames in the ring.
 */
const BLOCK_SLACK = 32;

/** A bounded ring of recent frames (bytes plus time, lengths and link type per frame). */
export class PacketRing {
  /** Bytes kept of each frame. */
  readonly snaplen: number;
  readonly #buf: Uint8Array;
  readonly #copier: ByteCopier;
  readonly #offset: Uint32Array;
  readonly #capLen: Uint32Array;
  readonly #wireLen: Uint32Array;
  readonly #tsUs: Float64Array;
  readonly #linktype: Uint32Array;
  /** Slots - 1 (slots are a power of two): frame `seq` is in slot `seq & #mask`. */
  readonly #mask: number;
  /** Sequence number of the oldest frame held, and of the next frame pushed. */
  #first = 0;
  #next = 0;
  /** Where the next frame's bytes go. */
  #pos = 0;
  /** The batch last copied in one block (null: none), and where its first byte went. */
  #block: Uint8Array | null = null;
  #blockStart = 0;
  #blockEnd = 0;
  #blockPos = 0;

  /** Allocates the buffer and indexes once. */
  constructor(options: PacketRingOptions = {}) {
    const bytes = options.bytes ?? 16 * 1024 * 1024;
    let slots = 1;
    while (slots < (options.slots ?? 262_144)) slots *= 2;
    this.#mask = slots - 1;
    this.snaplen = Math.min(options.snaplen ?? 256, bytes - 4);
    if (!(this.snaplen > 0)) throw new RangeError("empty packet ring");
    this.#buf = new Uint8Array(bytes);
    this.#copier = new ByteCopier(this.#buf);
    this.#offset = new Uint32Array(slots);
    this.#capLen = new Uint32Array(slots);
    this.#wireLen = new Uint32Array(slots);
    this.#tsUs = new Float64Array(slots);
    this.#linktype = new Uint32Array(slots);
  }

  /** Frames held. */
  get count(): number {
    return this.#next - this.#first;
  }

  /** Sequence number the next pushed frame gets (frames are numbered from 0). */
  get nextSeq(): number {
    return this.#next;
  }

  /**
   * A source's batch, `buf[start, end)` holding `frames` frames, about to be pushed frame by
   * frame. When the frames are small (a flood) the whole batch is copied in one block, and the
   * pushes of frames inside it only index them. A source that calls this must call it for every
   * batch it reads into `buf`: the block stands for the buffer's bytes until the next call.
   */
  batch(buf: Uint8Array, start: number, end: number, frames: number): void {
    this.#block = null;
    const len = end - start;
    const size = this.#buf.length;
    if (
      !(frames > 0 && len > 0) || len > frames * (this.snaplen + BLOCK_SLACK) || len > size >>> 2
    ) {
      return;
    }
    const pos = this.#place(buf, start, len);
    this.#buf.set(buf.subarray(start, end), pos);
    this.#block = buf;
    this.#blockStart = start;
    this.#blockEnd = end;
    this.#blockPos = pos;
  }

  /**
   * Adds one frame (at most `snaplen` bytes of it), evicting the oldest as needed: copied, or
   * only indexed when its batch was copied in one block.
   */
  push(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    const len = capLen < this.snaplen ? capLen : this.snaplen;
    let pos: number;
    const next = this.#next;
    if (buf === this.#block && offset >= this.#blockStart && offset + len <= this.#blockEnd) {
      // Already copied with its batch: only a full index evicts.
      pos = this.#blockPos + (offset - this.#blockStart);
      if (next - this.#first > this.#mask) this.#first++;
    } else {
      pos = this.#place(buf, offset, len);
      this.#copier.copy(buf, offset, len, pos);
    }
    const slot = next & this.#mask;
    this.#offset[slot] = pos;
    this.#capLen[slot] = len;
    this.#wireLen[slot] = wireLen;
    this.#tsUs[slot] = tsUs;
    this.#linktype[slot] = linktype;
    this.#next = next + 1;
  }

  /**
   * Reserves `len` bytes for a copy from `buf[offset]` (same phase modulo 4, so the copy moves
   * whole words), evicting the frames in the way and one more when the index is full; returns
   * the position.
   */
  #place(buf: Uint8Array, offset: number, len: number): number {
    const phase = this.#copier.phase(buf, offset);
    const oldPos = this.#pos;
    let pos = ((oldPos + 3) & ~3) + phase;
    let wrapped = false;
    if (pos + len > this.#buf.length) {
      pos = phase;
      wrapped = true;
    }
    const end = pos + len;
    // Frames lie in sequence order around the buffer, so the ones in the way are the oldest.
    const mask = this.#mask;
    const next = this.#next;
    let first = this.#first;
    while (first < next) {
      const o = this.#offset[first & mask];
      const inWay = wrapped ? o >= oldPos || o < end : o >= oldPos && o < end;
      if (!inWay && next - first <= mask) break;
      first++;
    }
    this.#first = first;
    this.#pos = end;
    return pos;
  }

  /**
   * Sequence number of the first frame with time >= `tsUs` (binary search: frames arrive in
   * time order); {@linkcode nextSeq} when there is none.
   */
  seqAt(tsUs: number): number {
    let lo = this.#first;
    let hi = this.#next;
    while (lo < hi) {
      const mid = lo + ((hi - lo) >>> 1);
      if (this.#tsUs[mid & this.#mask] < tsUs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Time of frame `seq` (µs), NaN when it is no longer (or not yet) held. */
  timeOf(seq: number): number {
    return seq >= this.#first && seq < this.#next ? this.#tsUs[seq & this.#mask] : NaN;
  }

  /** Calls `fn` for the frames held with sequence numbers in [from, to), oldest first. */
  range(from: number, to: number, fn: RingFrameFn): number {
    const start = from > this.#first ? from : this.#first;
    const stop = to < this.#next ? to : this.#next;
    for (let seq = start; seq < stop; seq++) {
      const s = seq & this.#mask;
      fn(
        this.#buf,
        this.#offset[s],
        this.#capLen[s],
        this.#wireLen[s],
        this.#tsUs[s],
        this.#linktype[s],
      );
    }
    return stop > start ? stop - start : 0;
  }

  /** Calls `fn` for every frame held with time >= `tsUs`, oldest first; returns how many. */
  since(tsUs: number, fn: RingFrameFn): number {
    let n = 0;
    for (let seq = this.seqAt(tsUs); seq < this.#next; seq++) {
      const s = seq & this.#mask;
      if (this.#tsUs[s] < tsUs) continue; // A frame out of time order.
      fn(
        this.#buf,
        this.#offset[s],
        this.#capLen[s],
        this.#wireLen[s],
        this.#tsUs[s],
        this.#linktype[s],
      );
      n++;
    }
    return n;
  }

  /** Forgets every frame (the buffer is kept). */
  clear(): void {
    this.#first = this.#next;
    this.#pos = 0;
    this.#block = null;
  }
}
