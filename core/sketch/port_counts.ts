// Exact packet counts per TCP/UDP port (0-65535) for the windows' top-port lists.
//
// Ports are only 65536 keys, so they are counted exactly instead of in a top-K sketch: a packet
// is one increment (a sketch miss, the usual case under a random-port flood, costs several
// times more), and the lists are exact counts rather than guaranteed minimums. A count is split
// in a 16-bit low part (128 KB a table, so a window's two tables stay in a core's L2 cache) and
// a 32-bit high part allocated at the first carry: exact to 2^48 packets per port.
//
// Merges and top lists run once a second per window, over every port: they read the low parts
// two ports at a time (a 32-bit view; while both counts are below 2^15 their sum cannot carry
// into the neighbour, the usual case), and visit only the blocks of high parts that ever
// carried (a carry is rare: one in 65536 packets of a port).

/** A top TCP/UDP port and its packet count (exact). */
export interface TopPort {
  /** The port number. */
  port: number;
  /** Packets to or from it. */
  count: number;
}

const PORTS = 65536;
/** Both lanes' top bits: a lane without it can take another such lane without carrying. */
const LANE_TOPS = 0x80008000 | 0;
/** Ports per block of high parts. */
const BLOCK = 1024;
const BLOCKS = PORTS / BLOCK;

/** Pair indexes a merge finishes after its main loop (shared: merges never run concurrently). */
const mergeSlowPairs = new Int32Array(PORTS / 2);

/** Exact packets per port of one window. */
export class PortCounts {
  /** Low 16 bits of each port's count. */
  readonly #low: Uint16Array = new Uint16Array(PORTS);
  /** `#low` two ports at a time (ports 2i and 2i+1 in one word, in the machine's order). */
  readonly #pairs: Int32Array = new Int32Array(this.#low.buffer);
  /** Count / 65536 of each port; null until a count first passes 65535. */
  #high: Uint32Array | null = null;
  /** Per block of {@linkcode BLOCK} ports: whether its high parts may be non-zero. */
  readonly #carriedBlocks = new Uint8Array(BLOCKS);
  /** Whether any block carried (so merges, resets and top lists must read high parts). */
  #carried = false;

  /** Counts one packet to or from `port` (0-65535). Hot path: no allocation after a first carry. */
  add(port: number): void {
    const low = this.#low;
    const v = low[port] + 1;
    if (v === PORTS) {
      low[port] = 0;
      this.#carry(port, 1);
    } else low[port] = v;
  }

  /** Counts `n` packets (a whole number) to or from `port` at once (a flow record's share). */
  addCount(port: number, n: number): void {
    const v = this.#low[port] + n;
    this.#low[port] = v % PORTS;
    if (v >= PORTS) this.#carry(port, Math.floor(v / PORTS));
  }

  /** Adds `n` x 65536 to `port`'s count. */
  #carry(port: number, n: number): void {
    this.#high ??= new Uint32Array(PORTS);
    this.#high[port] += n;
    this.#carriedBlocks[Math.floor(port / BLOCK)] = 1;
    this.#carried = true;
  }

  /** Adds `other`'s counts into these. */
  merge(other: PortCounts): void {
    const pairs = this.#pairs;
    const from = other.#pairs;
    // Pairs that may carry are done after the loop, which stays free of calls.
    const slow = mergeSlowPairs;
    let slowCount = 0;
    for (let i = 0; i < PORTS / 2; i++) {
      const a = pairs[i];
      const b = from[i];
      if (((a | b) & LANE_TOPS) === 0) pairs[i] = a + b;
      else slow[slowCount++] = i;
    }
    const low = this.#low;
    for (let k = 0; k < slowCount; k++) {
      for (let p = 2 * slow[k]; p < 2 * slow[k] + 2; p++) {
        const v = low[p] + other.#low[p];
        low[p] = v; // the store keeps the low 16 bits
        if (v > 0xffff) this.#carry(p, 1);
      }
    }
    if (!other.#carried) return;
    const fromHigh = other.#high!;
    for (let b = 0; b < BLOCKS; b++) {
      if (other.#carriedBlocks[b] === 0) continue;
      for (let p = b * BLOCK; p < (b + 1) * BLOCK; p++) {
        if (fromHigh[p] !== 0) this.#carry(p, fromHigh[p]);
      }
    }
  }

  /** Forgets every count (no reallocation). */
  reset(): void {
    this.#low.fill(0);
    if (!this.#carried) return;
    for (let b = 0; b < BLOCKS; b++) {
      if (this.#carriedBlocks[b] !== 0) this.#high!.fill(0, b * BLOCK, (b + 1) * BLOCK);
    }
    this.#carriedBlocks.fill(0);
    this.#carried = false;
  }

  /** The `n` ports with the most packets, count descending, ties by port ascending; no zeros. */
  top(n: number): TopPort[] {
    const out: TopPort[] = [];
    if (n <= 0) return out;
    const low = this.#low;
    const pairs = this.#pairs;
    const high = this.#high;
    let floor = 0; // a port must beat this to enter a full list
    let lift = liftOver(floor);
    // Written twice: one loop over every pair is about a quarter faster than the block loop.
    if (high === null || !this.#carried) {
      for (let i = 0; i < PORTS / 2; i++) {
        const x = pairs[i];
        if (((((x + lift) | 0) | x) & LANE_TOPS) === 0) continue;
        const p = 2 * i;
        if (low[p] > floor) floor = enter(out, n, p, low[p]);
        if (low[p + 1] > floor) floor = enter(out, n, p + 1, low[p + 1]);
        lift = liftOver(floor);
      }
      return out;
    }
    for (let b = 0; b < BLOCKS; b++) {
      if (this.#carriedBlocks[b] !== 0) {
        for (let p = b * BLOCK; p < (b + 1) * BLOCK; p++) {
          if (low[p] <= floor && high[p] === 0) continue;
          const c = low[p] + high[p] * PORTS;
          if (c > floor) floor = enter(out, n, p, c);
        }
      } else {
        for (let i = (b * BLOCK) / 2; i < ((b + 1) * BLOCK) / 2; i++) {
          const x = pairs[i];
          if (((((x + lift) | 0) | x) & LANE_TOPS) === 0) continue;
          const p = 2 * i;
          if (low[p] > floor) floor = enter(out, n, p, low[p]);
          if (low[p + 1] > floor) floor = enter(out, n, p + 1, low[p + 1]);
          lift = liftOver(floor);
        }
      }
      lift = liftOver(floor);
    }
    return out;
  }
}

/** What sets the top bit of a lane holding more than `floor` (2^15 - 1 - floor in each lane). */
function liftOver(floor: number): number {
  return floor < 0x7fff ? (0x7fff - floor) * 0x10001 : 0;
}

/**
 * Puts `port` with `count` into `out`, sorted by count descending, keeping at most `n` (ports
 * come in ascending order, so a tie keeps the earlier port ahead); returns the count a port
 * must beat to enter next.
 */
function enter(out: TopPort[], n: number, port: number, count: number): number {
  let i = out.length;
  while (i > 0 && out[i - 1].count < count) i--;
  if (i < n) {
    out.splice(i, 0, { port, count });
    if (out.length > n) out.length = n;
  }
  return out.length === n ? out[n - 1].count : 0;
}
