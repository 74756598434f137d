/**
 * Sampled payload inspection with a bounded amount of work per second: indicator patterns
 * (`ioc_patterns`) and the built-in amplification signatures, counted per second of packet time
 * and per watched target (an incident's), for the incident's findings.
 *
 * @module
 */

import { IpProto, type PacketMeta, parseAddress } from "../packet/mod.ts";
import { MAX_PATTERN_BYTES, MAX_PATTERNS, PatternMatcher } from "./matcher.ts";
import { signatureOf, SIGNATURES } from "./signatures.ts";

/** Most payloads inspected per second of packet time. */
export const MAX_PAYLOADS_PER_SECOND = 1000;
/** Most payload bytes scanned per second of packet time (1 MiB). */
export const MAX_BYTES_PER_SECOND = 1 << 20;
/** Bytes of one payload scanned at most (its start: where tools and answers put their marks). */
export const MAX_SCAN_BYTES = 1500;
/** Seconds of interface-wide counts kept for an incident that opens after its start. */
export const HISTORY_SECONDS = 16;
/** Targets watched at once (incidents beyond it get no payload findings). */
export const MAX_WATCHED = 8;

/** An indicator pattern, as the control plane sends it (and the local `ioc_patterns` key). */
export interface IocPatternSpec {
  /** Text looked for (its UTF-8 bytes, exact). */
  pattern: string;
  /** The attack (tool, botnet) it indicates. */
  attack_name?: string;
  /** The family of that attack. */
  attack_family?: string;
}

/** One indicator found in a target's payloads. */
export interface IocFinding {
  /** `"name:family"`, as `ioc_hits` lists it. */
  hit: string;
  /** The attack name (`unknown` when the pattern has none). */
  name: string;
  /** The attack family (`unknown` when the pattern has none). */
  family: string;
  /** Inspected payloads holding the pattern. */
  hits: number;
}

/** One built-in signature found in a target's payloads. */
export interface SignatureFinding {
  /** Signature name (`ntp_monlist`). */
  name: string;
  /** The amplification service it confirms. */
  service: string;
  /** In words. */
  label: string;
  /** Inspected payloads carrying it. */
  hits: number;
}

/** What a target's inspected payloads held. */
export interface PayloadFindings {
  /** Payloads inspected. */
  inspected: number;
  /** Indicators found, most frequent first. */
  ioc: IocFinding[];
  /** Signatures found, most frequent first. */
  signatures: SignatureFinding[];
}

const SIGS = SIGNATURES.length;

/** A watched target's counts. */
interface Watch {
  target: string;
  all: boolean;
  readonly words: Uint32Array;
  counts: Float64Array;
  /** Hits of patterns replaced by a new set, by `"name:family"`. */
  carried: Map<string, number>;
}

/**
 * Looks into a sample of the inbound payloads: at most {@linkcode MAX_PAYLOADS_PER_SECOND}
 * payloads and {@linkcode MAX_BYTES_PER_SECOND} bytes per second of packet time, taken evenly
 * (one payload in every N, N set each second from the last second's payloads and bytes, with a
 * small deterministic jitter so periodic traffic does not alias), the first
 * {@linkcode MAX_SCAN_BYTES} of each. Each inspected payload is matched against the indicator
 * patterns (one Aho-Corasick pass, whatever their number) and, for UDP, the built-in signatures.
 *
 * Counts are kept for the second in progress and the last {@linkcode HISTORY_SECONDS}
 * (interface-wide), and per watched target ({@linkcode watch}): the interface counts every
 * inspected payload, a destination those sent to it. A target watched after its incident
 * started is seeded with the interface-wide counts of the seconds since the start.
 * {@linkcode inspect} allocates nothing.
 */
export class PayloadInspector {
  /** Payloads inspected since the start. */
  inspected = 0;
  /** Payload bytes scanned since the start. */
  scannedBytes = 0;
  #matcher = new PatternMatcher([]);
  #hits: string[] = [];
  #names: string[] = [];
  #families: string[] = [];
  #key = "[]";
  /** Columns: patterns, then signatures, then inspected payloads. */
  #columns = SIGS + 1;
  #history = new Float64Array(HISTORY_SECONDS * (SIGS + 1));
  readonly #historySecond = new Float64Array(HISTORY_SECONDS).fill(NaN);
  readonly #watches: (Watch | null)[] = new Array(MAX_WATCHED).fill(null);
  #watched = 0;
  #second = NaN;
  #endUs = -Infinity;
  #row = 0;
  #offered = 0;
  #offeredBytes = 0;
  #step = 1;
  #countdown = 1;
  #jitter = 0x9e3779b9;
  #payloadsLeft = MAX_PAYLOADS_PER_SECOND;
  #bytesLeft = MAX_BYTES_PER_SECOND;

  /** An inspector looking for `patterns` (and the built-in signatures). */
  constructor(patterns: readonly IocPatternSpec[] = []) {
    this.setPatterns(patterns);
  }

  /** Number of indicator patterns in use. */
  get patterns(): number {
    return this.#matcher.size;
  }

  /**
   * Puts a new pattern set in use (from the next payload on); returns null when it is the set
   * in use, else one line per pattern left out (over {@linkcode MAX_PATTERN_BYTES} bytes of
   * UTF-8; at most 1000 patterns are taken). Watched targets keep the hits of the patterns
   * replaced (by `"name:family"`).
   */
  setPatterns(all: readonly IocPatternSpec[]): string[] | null {
    const key = JSON.stringify(all.map((p) => [p.pattern, p.attack_name, p.attack_family]));
    if (key === this.#key) return null;
    const enc = new TextEncoder();
    const refused: string[] = [];
    const patterns: IocPatternSpec[] = [];
    const bytes: Uint8Array[] = [];
    for (const p of all) {
      const b = enc.encode(p.pattern);
      if (b.length < 1 || b.length > MAX_PATTERN_BYTES || bytes.length === MAX_PATTERNS) {
        refused.push(
          `ioc pattern ${JSON.stringify(p.pattern.slice(0, 40))} left out: ` +
            (bytes.length === MAX_PATTERNS
              ? `more than ${MAX_PATTERNS} patterns`
              : `${b.length} bytes of UTF-8 (1 to ${MAX_PATTERN_BYTES})`),
        );
        continue;
      }
      patterns.push(p);
      bytes.push(b);
    }
    const matcher = new PatternMatcher(bytes);
    const oldN = this.#matcher.size;
    for (const w of this.#watches) {
      if (w === null) continue;
      for (let i = 0; i < oldN; i++) {
        if (w.counts[i] > 0) {
          w.carried.set(this.#hits[i], (w.carried.get(this.#hits[i]) ?? 0) + w.counts[i]);
        }
      }
      w.counts = this.#resized(w.counts, oldN, patterns.length);
    }
    const history = new Float64Array(HISTORY_SECONDS * (patterns.length + SIGS + 1));
    for (let r = 0; r < HISTORY_SECONDS; r++) {
      const from = this.#history.subarray(r * this.#columns, (r + 1) * this.#columns);
      history.set(this.#resized(from, oldN, patterns.length), r * (patterns.length + SIGS + 1));
    }
    this.#history = history;
    this.#matcher = matcher;
    this.#key = key;
    this.#names = patterns.map((p) => p.attack_name || "unknown");
    this.#families = patterns.map((p) => p.attack_family || "unknown");
    this.#hits = patterns.map((_, i) => `${this.#names[i]}:${this.#families[i]}`);
    this.#columns = patterns.length + SIGS + 1;
    return refused;
  }

  /** `counts` with its first `oldN` (pattern) columns dropped for `newN` empty ones. */
  #resized(counts: Float64Array, oldN: number, newN: number): Float64Array {
    const out = new Float64Array(newN + SIGS + 1);
    out.set(counts.subarray(oldN, oldN + SIGS + 1), newN);
    return out;
  }

  /** One decoded packet (its frame in `buf`): inspected when its turn in the sample comes. */
  inspect(buf: Uint8Array, meta: PacketMeta): void {
    const len = meta.payloadLen;
    if (len <= 0 || meta.outbound || meta.malformed !== 0) return;
    if (meta.tsUs >= this.#endUs) this.#roll(meta.tsUs);
    this.#offered++;
    this.#offeredBytes += len;
    if (--this.#countdown > 0) return;
    this.#countdown = this.#nextStep();
    if (this.#payloadsLeft === 0 || this.#bytesLeft <= 0) return;
    const n = Math.min(len, MAX_SCAN_BYTES, this.#bytesLeft);
    this.#payloadsLeft--;
    this.#bytesLeft -= n;
    this.inspected++;
    this.scannedBytes += n;
    const off = meta.payloadOffset;
    const found = this.#matcher.scan(buf, off, off + n);
    const sig = meta.protocol === IpProto.UDP ? signatureOf(buf, off, len, meta.srcPort) : -1;
    const patterns = this.#matcher.size;
    this.#count(this.#history, this.#row * this.#columns, found, sig, patterns);
    if (this.#watched === 0) return;
    const dst = meta.dst;
    for (let i = 0; i < MAX_WATCHED; i++) {
      const w = this.#watches[i];
      if (w === null) continue;
      const words = w.words;
      if (
        w.all ||
        (words[3] === dst[3] && words[2] === dst[2] && words[1] === dst[1] && words[0] === dst[0])
      ) this.#count(w.counts, 0, found, sig, patterns);
    }
  }

  #count(into: Float64Array, base: number, found: number, sig: number, patterns: number): void {
    const ids = this.#matcher.found;
    for (let k = 0; k < found; k++) into[base + ids[k]]++;
    if (sig >= 0) into[base + patterns + sig]++;
    into[base + patterns + SIGS]++;
  }

  /** The sampling step with its jitter (within a quarter of the step either way). */
  #nextStep(): number {
    const step = this.#step;
    if (step < 4) return step;
    let x = this.#jitter;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#jitter = x;
    const quarter = step >> 2;
    return step - quarter + ((x >>> 0) % (2 * quarter + 1));
  }

  /** A packet of a later second: budgets renewed, the step set from the second that ended. */
  #roll(tsUs: number): void {
    const second = Math.floor(tsUs / 1e6);
    const byPayloads = Math.ceil(this.#offered / MAX_PAYLOADS_PER_SECOND);
    const byBytes = Math.ceil(this.#offeredBytes / MAX_BYTES_PER_SECOND);
    if (second === this.#second + 1) this.#step = Math.max(1, byPayloads, byBytes);
    else this.#step = 1; // after a gap, the last second says nothing of this one
    this.#countdown = Math.min(this.#countdown, this.#step);
    this.#offered = 0;
    this.#offeredBytes = 0;
    this.#payloadsLeft = MAX_PAYLOADS_PER_SECOND;
    this.#bytesLeft = MAX_BYTES_PER_SECOND;
    this.#second = second;
    this.#endUs = (second + 1) * 1e6;
    this.#row = second % HISTORY_SECONDS;
    this.#historySecond[this.#row] = second;
    this.#history.fill(0, this.#row * this.#columns, (this.#row + 1) * this.#columns);
  }

  /**
   * Starts counting `target`'s payloads (`"interface"`: all of them; else a destination
   * address), seeded with the interface-wide counts of the seconds since `sinceUs`. Returns
   * false when {@linkcode MAX_WATCHED} targets are watched already (or it is not an address).
   */
  watch(target: string, sinceUs: number): boolean {
    if (this.#find(target) !== null) return true;
    const slot = this.#watches.indexOf(null);
    if (slot < 0) return false;
    const all = target === "interface";
    const words = new Uint32Array(4);
    if (!all) {
      try {
        parseAddress(target, words);
      } catch {
        return false;
      }
    }
    const counts = new Float64Array(this.#columns);
    const from = Math.floor(sinceUs / 1e6);
    for (let r = 0; r < HISTORY_SECONDS; r++) {
      const s = this.#historySecond[r];
      if (!(s >= from && s <= this.#second)) continue;
      for (let c = 0; c < this.#columns; c++) counts[c] += this.#history[r * this.#columns + c];
    }
    this.#watches[slot] = { target, all, words, counts, carried: new Map() };
    this.#watched++;
    return true;
  }

  /** Stops counting `target`'s payloads. */
  unwatch(target: string): void {
    const i = this.#watches.findIndex((w) => w !== null && w.target === target);
    if (i < 0) return;
    this.#watches[i] = null;
    this.#watched--;
  }

  /** What `target`'s payloads held since it is watched, or null when it is not. */
  findings(target: string): PayloadFindings | null {
    const w = this.#find(target);
    return w === null ? null : this.#findingsOf(w.counts, w.carried);
  }

  /** What the payloads of the second in progress held (interface-wide). */
  current(): PayloadFindings {
    const base = this.#row * this.#columns;
    return this.#findingsOf(this.#history.subarray(base, base + this.#columns), new Map());
  }

  #find(target: string): Watch | null {
    return this.#watches.find((w) => w !== null && w.target === target) ?? null;
  }

  #findingsOf(counts: Float64Array, carried: Map<string, number>): PayloadFindings {
    const n = this.#matcher.size;
    const byHit = new Map<string, IocFinding>();
    const add = (hit: string, hits: number) => {
      const f = byHit.get(hit);
      if (f) f.hits += hits;
      else {
        const cut = hit.indexOf(":");
        byHit.set(hit, { hit, name: hit.slice(0, cut), family: hit.slice(cut + 1), hits });
      }
    };
    for (let i = 0; i < n; i++) if (counts[i] > 0) add(this.#hits[i], counts[i]);
    for (const [hit, hits] of carried) add(hit, hits);
    const signatures: SignatureFinding[] = [];
    SIGNATURES.forEach((s, j) => {
      const hits = counts[n + j];
      if (hits > 0) signatures.push({ name: s.name, service: s.service, label: s.label, hits });
    });
    return {
      inspected: counts[n + SIGS],
      ioc: [...byHit.values()].sort((a, b) => b.hits - a.hits || (a.hit < b.hit ? -1 : 1)),
      signatures: signatures.sort((a, b) => b.hits - a.hits),
    };
  }
}
