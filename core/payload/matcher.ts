/**
 * Multi-pattern substring search (Aho-Corasick): every pattern of a set found in a byte range in
 * one pass over the bytes, whatever the number of patterns.
 *
 * @module
 */

/** Most patterns a {@linkcode PatternMatcher} takes (the control plane's limit). */
export const MAX_PATTERNS = 1000;
/** Longest pattern a {@linkcode PatternMatcher} takes, in bytes. */
export const MAX_PATTERN_BYTES = 512;

/**
 * An Aho-Corasick automaton built once per pattern set: {@linkcode scan} walks a byte range
 * once and lists the patterns it contains (each once per scan) in {@linkcode found}, without
 * allocating. Matching is exact on bytes (patterns are UTF-8 encoded by the caller).
 *
 * Memory: a trie of at most the patterns' total length in states (512,000 for 1000 patterns
 * of 512 bytes), each with its sorted edges, failure link and output link (about 20 bytes a
 * state), and a 256-entry table at the root.
 *
 * @example Which patterns a payload holds
 * ```ts
 * import { PatternMatcher } from "./mod.ts";
 *
 * const enc = new TextEncoder();
 * const m = new PatternMatcher([enc.encode("mirai"), enc.encode("rai")]);
 * const n = m.scan(enc.encode("xx mirai xx"), 0, 11);
 * console.log(n, m.found[0], m.found[1]); // 2 0 1
 * ```
 */
export class PatternMatcher {
  /** Number of patterns. */
  readonly size: number;
  /** Number of trie states. */
  readonly states: number;
  /** The patterns the last {@linkcode scan} found (indexes), in the order first found. */
  readonly found: Int32Array;
  readonly #root = new Int32Array(256);
  readonly #edgeStart: Int32Array;
  readonly #edgeByte: Uint8Array;
  readonly #edgeNext: Int32Array;
  readonly #fail: Int32Array;
  /** Per state: the state itself when a pattern ends there, else the next along the failure chain that ends one (-1: none). */
  readonly #emit: Int32Array;
  /** Per state with an output: the next state along its failure chain with one (-1: none). */
  readonly #dict: Int32Array;
  readonly #outStart: Int32Array;
  readonly #outIds: Int32Array;
  readonly #stamp: Int32Array;
  #serial = 0;

  /** Builds the automaton of `patterns` (each 1 .. {@linkcode MAX_PATTERN_BYTES} bytes). */
  constructor(patterns: readonly Uint8Array[]) {
    if (patterns.length > MAX_PATTERNS) {
      throw new RangeError(`at most ${MAX_PATTERNS} patterns (got ${patterns.length})`);
    }
    let total = 1;
    patterns.forEach((p, id) => {
      if (p.length < 1 || p.length > MAX_PATTERN_BYTES) {
        throw new RangeError(`pattern ${id}: ${p.length} bytes (1 to ${MAX_PATTERN_BYTES})`);
      }
      total += p.length;
    });
    // The trie: each state's children in a sibling list kept in byte order (the root's in a
    // table); patterns ending at a state as a list.
    const firstChild = new Int32Array(total).fill(-1);
    const nextSibling = new Int32Array(total).fill(-1);
    const byteOf = new Uint8Array(total);
    const root = this.#root;
    const outHead = new Int32Array(total).fill(-1);
    const outNext = new Int32Array(patterns.length).fill(-1);
    /** The child of `s` on byte `b`, or -1. */
    const child = (s: number, b: number): number => {
      if (s === 0) return root[b] === 0 ? -1 : root[b];
      for (let c = firstChild[s]; c >= 0 && byteOf[c] <= b; c = nextSibling[c]) {
        if (byteOf[c] === b) return c;
      }
      return -1;
    };
    let n = 1;
    let edges = 0;
    patterns.forEach((p, id) => {
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const b = p[i];
        let next = child(s, b);
        if (next < 0) {
          next = n++;
          edges++;
          byteOf[next] = b;
          if (s === 0) root[b] = next;
          else if (firstChild[s] < 0 || byteOf[firstChild[s]] > b) {
            nextSibling[next] = firstChild[s];
            firstChild[s] = next;
          } else {
            let c = firstChild[s];
            while (nextSibling[c] >= 0 && byteOf[nextSibling[c]] < b) c = nextSibling[c];
            nextSibling[next] = nextSibling[c];
            nextSibling[c] = next;
          }
        }
        s = next;
      }
      outNext[id] = outHead[s];
      outHead[s] = id;
    });
    this.size = patterns.length;
    this.states = n;
    this.found = new Int32Array(patterns.length);
    this.#stamp = new Int32Array(patterns.length);
    // Edges by state, in byte order (the root's too, though scans use its table).
    this.#edgeStart = new Int32Array(n + 1);
    this.#edgeByte = new Uint8Array(edges);
    this.#edgeNext = new Int32Array(edges);
    let e = 0;
    for (let s = 0; s < n; s++) {
      this.#edgeStart[s] = e;
      if (s === 0) {
        for (let b = 0; b < 256; b++) {
          if (root[b] === 0) continue;
          this.#edgeByte[e] = b;
          this.#edgeNext[e++] = root[b];
        }
      } else {
        for (let c = firstChild[s]; c >= 0; c = nextSibling[c]) {
          this.#edgeByte[e] = byteOf[c];
          this.#edgeNext[e++] = c;
        }
      }
    }
    this.#edgeStart[n] = e;
    const has = (s: number) => outHead[s] >= 0;
    const fail = new Int32Array(n);
    const dict = new Int32Array(n).fill(-1);
    const emit = new Int32Array(n).fill(-1);
    // Breadth-first: a state's failure link is set before its children's.
    const queue = new Int32Array(n);
    let head = 0, tail = 0;
    for (let e = this.#edgeStart[0]; e < this.#edgeStart[1]; e++) queue[tail++] = this.#edgeNext[e];
    while (head < tail) {
      const u = queue[head++];
      for (let e = this.#edgeStart[u]; e < this.#edgeStart[u + 1]; e++) {
        const b = this.#edgeByte[e], v = this.#edgeNext[e];
        let f = fail[u];
        while (f !== 0 && child(f, b) < 0) f = fail[f];
        fail[v] = Math.max(0, child(f, b));
        queue[tail++] = v;
      }
      const f = fail[u];
      dict[u] = has(f) ? f : emit[f];
      emit[u] = has(u) ? u : dict[u];
    }
    this.#fail = fail;
    this.#dict = dict;
    this.#emit = emit;
    this.#outStart = new Int32Array(n + 1);
    this.#outIds = new Int32Array(patterns.length);
    let o = 0;
    for (let s = 0; s < n; s++) {
      this.#outStart[s] = o;
      for (let id = outHead[s]; id >= 0; id = outNext[id]) this.#outIds[o++] = id;
    }
    this.#outStart[n] = o;
  }

  /**
   * Scans `buf[start, end)`: returns how many distinct patterns it contains and lists them in
   * {@linkcode found}. Allocates nothing.
   */
  scan(buf: Uint8Array, start: number, end: number): number {
    if (this.size === 0) return 0;
    if (++this.#serial === 0x3fffffff) {
      this.#stamp.fill(0);
      this.#serial = 1;
    }
    const serial = this.#serial;
    const root = this.#root, fail = this.#fail, emit = this.#emit, dict = this.#dict;
    const edgeStart = this.#edgeStart, edgeByte = this.#edgeByte, edgeNext = this.#edgeNext;
    const outStart = this.#outStart, outIds = this.#outIds, stamp = this.#stamp;
    const found = this.found;
    let count = 0;
    let s = 0;
    for (let i = start; i < end; i++) {
      const b = buf[i];
      for (;;) {
        if (s === 0) {
          s = root[b];
          break;
        }
        let next = -1;
        for (let e = edgeStart[s], last = edgeStart[s + 1]; e < last; e++) {
          const eb = edgeByte[e];
          if (eb === b) {
            next = edgeNext[e];
            break;
          }
          if (eb > b) break;
        }
        if (next >= 0) {
          s = next;
          break;
        }
        s = fail[s];
      }
      for (let o = emit[s]; o >= 0; o = dict[o]) {
        for (let k = outStart[o], last = outStart[o + 1]; k < last; k++) {
          const id = outIds[k];
          if (stamp[id] !== serial) {
            stamp[id] = serial;
            found[count++] = id;
          }
        }
      }
    }
    return count;
  }
}
