// Exact packet counts per TCP/UDP port (0-65535) for the windows' top-port lists.
//
// Ports are only 65536 keys, so they are counted exactly instead of in a top-K sketch: a packet
// is one increment (a sketch miss, the usual case under a random-port flood, costs several
// times more), and the lists are exact counts rather than guaranteed minimums. A count is split
// in a 16-bit low part (128 KB a table, so a window's two tables stay in a core's L2 cache) and
// a 32-bit high part allocated at the first carry: exact to 2^48 packets per port.

import type { TopPort } from "./window.ts";

const PORTS = 65536;

/** Exact packets per port of one window. */
export class PortCounts {
  /** Low 16 bits of each port's count. */
  readonly #low: Uint16Array = new Uint16Array(PORTS);
  /** Count / 65536 of each port; null until a count first passes 65535. */
  #high: Uint32Array | null = null;
  /** Whether `#high` may hold non-zero counts (so a reset must clear it). */
  #carried = false;

  /** Counts one packet to or from `port` (0-65535). Hot path: no allocation after a first carry. */
  add(port: number): void {
    const low = this.#low;
    const v = low[port] + 1;
    if (v === PORTS) this.#carry(port);
    else low[port] = v;
  }

  #carry(port: number): void {
    this.#low[port] = 0;
    this.#highs()[port]++;
  }

  #highs(): Uint32Array {
    this.#high ??= new Uint32Array(PORTS);
    this.#carried = true;
    return this.#high;
  }

  /** Adds `other`'s counts into these. */
  merge(other: PortCounts): void {
    const low = this.#low;
    const from = other.#low;
    for (let p = 0; p < PORTS; p++) {
      const v = low[p] + from[p];
      low[p] = v; // the store keeps the low 16 bits
      if (v > 0xffff) this.#highs()[p]++;
    }
    if (other.#carried) {
      const high = this.#highs();
      const fromHigh = other.#high!;
      for (let p = 0; p < PORTS; p++) high[p] += fromHigh[p];
    }
  }

  /** Forgets every count (no reallocation). */
  reset(): void {
    this.#low.fill(0);
    if (this.#carried) this.#high!.fill(0);
    this.#carried = false;
  }

  /** The `n` ports with the most packets, count descending, ties by port ascending; no zeros. */
  top(n: number): TopPort[] {
    const out: TopPort[] = [];
    if (n <= 0) return out;
    const low = this.#low;
    let floor = 0; // a port must beat this to enter a full list
    if (!this.#carried) {
      for (let p = 0; p < PORTS; p++) {
        if (low[p] > floor) floor = enter(out, n, p, low[p]);
      }
      return out;
    }
    const high = this.#high!;
    for (let p = 0; p < PORTS; p++) {
      if (low[p] <= floor && high[p] === 0) continue;
      const c = low[p] + high[p] * PORTS;
      if (c > floor) floor = enter(out, n, p, c);
    }
    return out;
  }
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
