/**
 * Allocation-free byte copying between buffers for the per-packet paths (the pre-attack ring and
 * the PCAP recorder). `Uint8Array.prototype.set` needs a `subarray` view of the source, which
 * allocates an object per call; a plain byte loop is allocation-free but costs about 1 ns a byte.
 * Copying 32-bit words through `Uint32Array` views is allocation-free and as fast as `set` up to
 * a few hundred bytes, but only when source and destination agree modulo 4: the ring chooses its
 * write positions so they always do; elsewhere unaligned words go through `DataView`.
 *
 * @module
 */

/** Copies frames from any source buffer into one fixed destination buffer. */
export class ByteCopier {
  readonly #dst: Uint8Array;
  readonly #dst32: Uint32Array;
  readonly #dstView: DataView;
  /**
   * Views of the last source array's buffer (sources reuse one array, so these rarely change).
   * Keyed on the array, not its `buffer`: reading `buffer` costs about 10 ns a call in V8.
   */
  #srcArray: Uint8Array | null = null;
  #src: Uint8Array = new Uint8Array(0);
  #src32: Uint32Array = new Uint32Array(0);
  #srcView: DataView = new DataView(new ArrayBuffer(0));

  /** `dst` must start at a multiple of 4 bytes in its buffer. */
  constructor(dst: Uint8Array) {
    if (dst.byteOffset % 4 !== 0) throw new RangeError("destination must be 4-byte aligned");
    this.#dst = dst;
    this.#dst32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.length >>> 2);
    this.#dstView = new DataView(dst.buffer, dst.byteOffset, dst.length);
  }

  /** Absolute position of `offset` of `src` in its buffer modulo 4 (to align a destination). */
  phase(src: Uint8Array, offset: number): number {
    return (src.byteOffset + offset) & 3;
  }

  /** Copies `len` bytes at `offset` of `src` to `pos` of the destination. */
  copy(src: Uint8Array, offset: number, len: number, pos: number): void {
    if (src !== this.#srcArray) this.#setSource(src);
    const s8 = this.#src;
    const d8 = this.#dst;
    let o = src.byteOffset + offset;
    let p = pos;
    const end = o + len;
    if (((o - p) & 3) === 0) {
      while ((o & 3) !== 0 && o < end) d8[p++] = s8[o++];
      const s32 = this.#src32;
      const d32 = this.#dst32;
      let si = o >>> 2;
      let di = p >>> 2;
      const stop = si + ((end - o) >>> 2);
      while (si < stop) d32[di++] = s32[si++];
      o = si << 2;
      p = di << 2;
    } else {
      const sv = this.#srcView;
      const dv = this.#dstView;
      while (o + 4 <= end) {
        dv.setUint32(p, sv.getUint32(o, true), true);
        o += 4;
        p += 4;
      }
    }
    while (o < end) d8[p++] = s8[o++];
  }

  #setSource(src: Uint8Array): void {
    const buffer = src.buffer;
    this.#srcArray = src;
    this.#src = new Uint8Array(buffer);
    this.#src32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.#srcView = new DataView(buffer);
  }
}
