/**
 * Traffic statistics of one time window (normally one second of packet time) in fixed
 * memory: counters, histograms, top talkers, distinct sources and source entropy.
 *
 * @module
 */

import { entropyOfCounts, hashWords, HyperLogLog, PortCounts, SpaceSaving } from "../sketch/mod.ts";
import { type DnsQuestion, Fragment, type PacketMeta } from "../packet/mod.ts";
import { DnsNames } from "./dns_names.ts";
import { topAddresses } from "./_top_addresses.ts";
import { combineTraits, pureSyn, SourceRun, TRAIT_WIDTH } from "./_source_traits.ts";
import {
  type PacketLengthHistogram,
  type ProtocolCounter,
  tcpFlagStats,
  type WindowStats,
} from "./window_stats.ts";
import { LEN_LABELS, lenClass, PROTO_CLASS } from "./_window_layout.ts";

/** Options of a {@linkcode Window}. */
export interface WindowOptions {
  /** Counters per top-K table (source and destination addresses); default 64. */
  topK?: number;
}

// Protocol classes.
const P_TCP = 0;
const P_UDP = 1;
const P_ICMP = 2;
const P_GRE = 3;
const P_OTHER = 4;

// Scalar counters (indexes into a Float64Array: exact integers up to 2^53).
const C_PACKETS = 0;
const C_BYTES = 1;
const C_MALFORMED = 2;
const C_IPV4 = 3;
const C_IPV6 = 4;
const C_NON_IP = 5;
const C_FRAG_FIRST = 6;
const C_FRAG_NON_FIRST = 7;
const C_OUT_PACKETS = 8;
const C_OUT_BYTES = 9;
const C_COUNT = 10;
// Then the per-class, per-flags, per-TTL and per-length counters, in one layout for the
// integer counters a packet increments and the float totals they are folded into.
const PROTO_PACKETS = C_COUNT;
const PROTO_BYTES = PROTO_PACKETS + 5;
const FLAGS = PROTO_BYTES + 5;
const TTL = FLAGS + 256;
const LEN_HIST = TTL + 256;
const COUNTERS = LEN_HIST + 7;
/**
 * Packets counted in the integer counters before they are folded into the totals: with at most
 * 65535 bytes of a packet there (see {@linkcode Window.add}), no integer counter can overflow.
 */
const FOLD_PACKETS = 16384;
/** Most copies one {@linkcode Window.add} counts (its integer counters stay in range). */
export const MAX_COPIES = 4096;

const ENTROPY_BITS = 12;
const ENTROPY_BUCKETS = 1 << ENTROPY_BITS;
const ENTROPY_MASK = ENTROPY_BUCKETS - 1;

const FRAG_FIRST = Fragment.FIRST;
const FRAG_NON_FIRST = Fragment.NON_FIRST;

/**
 * Statistics of the packets of one window, in fixed memory whatever the traffic: about
 * 340 KB with the default top-K of 64 (850 KB once ports pass 65535 packets each way).
 *
 * {@linkcode add} runs once per packet and allocates nothing; {@linkcode snapshot} turns the
 * counters into plain {@linkcode WindowStats} (allocation is fine there, once per window).
 * A window is reused across seconds with {@linkcode reset}. Consecutive packets from one
 * source (to one destination) are counted as a run and folded into the sketches when it
 * ends, so floods from one host cost little; the results are the same as packet by packet.
 *
 * Packets marked outbound (`PacketMeta.outbound`) only add to the `outbound` counters: every
 * other statistic describes the traffic towards the protected addresses.
 *
 * Ports are counted exactly (65536 counters each way). Sketches: distinct sources are a
 * HyperLogLog of precision 14 (about 0.8% standard error); top-K tables of addresses are
 * Space-Saving summaries: a key with more than packets / topK packets is always tracked, and
 * snapshots list guaranteed counts (the estimate minus its error bound), which are exact while
 * the keys fit and never overestimate.
 *
 * Source entropy is estimated from 4096 buckets indexed by the source address hash: it is
 * exact while no two sources share a bucket (a handful of sources; with tens of sources a
 * collision or two lowers it slightly), and it cannot exceed log2(4096) = 12 bits: a uniform
 * spread over many thousands of sources reads about 11.3 to 12 bits rather than log2(sources).
 * Read it as "concentrated (low) vs spread (near 12)", with `src_count` for the scale.
 */
export class Window {
  /** Window start, epoch seconds. */
  start = 0;
  /** Seconds covered: 1 for a one-second window, more after {@linkcode merge}. */
  seconds = 1;
  /** Counters per top-K table. */
  readonly topK: number;

  /**
   * Counters (layout above): packets add to the integer ones, because V8 adds integers kept
   * in a Float64Array through float-to-integer conversions, several times slower; they are
   * folded into the float totals (exact to 2^53) every {@linkcode FOLD_PACKETS} packets and
   * before any read.
   */
  readonly #hot = new Int32Array(COUNTERS);
  readonly #total = new Float64Array(COUNTERS);
  readonly #entropy = new Float64Array(ENTROPY_BUCKETS);
  readonly #srcCount = new HyperLogLog(14);
  readonly #topSrc: SpaceSaving;
  readonly #topDst: SpaceSaving;
  // Current run of one source address (already in the HyperLogLog; not yet in the entropy
  // buckets and top-K table) and of one destination address.
  #srcRun = 0;
  #srcHash = 0;
  #srcW0 = 0;
  #srcW1 = 0;
  #srcW2 = 0;
  #srcW3 = 0;
  /** Traits of the current source run (pure SYNs, protocols, TTL), kept per top source. */
  readonly #run = new SourceRun();
  #dstRun = 0;
  #dstW0 = 0;
  #dstW1 = 0;
  #dstW2 = 0;
  #dstW3 = 0;
  readonly #srcPorts = new PortCounts();
  readonly #dstPorts = new PortCounts();
  readonly #dns = new DnsNames();

  /** Creates an empty window starting at 0 and covering 1 second. */
  constructor(options: WindowOptions = {}) {
    const topK = options.topK ?? 64;
    this.topK = topK;
    this.#topSrc = new SpaceSaving(topK, TRAIT_WIDTH);
    this.#topDst = new SpaceSaving(topK);
  }

  /** Inbound frames counted so far (decodable or not; outbound ones are counted apart). */
  get packets(): number {
    return this.#total[C_PACKETS] + this.#hot[C_PACKETS];
  }

  /** Sum of wire lengths counted so far. */
  get bytes(): number {
    return this.#total[C_BYTES] + this.#hot[C_BYTES];
  }

  /**
   * Counts one packet, or `n` copies of it (a frame kernel sampling took 1 in `n`, `n` at most
   * {@linkcode MAX_COPIES}). Hot path: allocates nothing.
   */
  add(meta: PacketMeta, n = 1): void {
    const c = this.#hot;
    if (c[C_PACKETS] > FOLD_PACKETS - n) this.#fold();
    const len = meta.wireLen;
    // The integer counters take up to 65535 bytes of a packet, the totals the rest (never,
    // on real links).
    const low = len & 0xffff;
    if (meta.outbound) {
      c[C_OUT_PACKETS] += n;
      c[C_OUT_BYTES] += low * n;
      if (low !== len) this.#total[C_OUT_BYTES] += (len - low) * n;
      return;
    }
    c[C_PACKETS] += n;
    c[C_BYTES] += low * n;
    if (low !== len) this.#total[C_BYTES] += (len - low) * n;
    if (meta.malformed !== 0) {
      c[C_MALFORMED] += n;
      return;
    }
    c[
      LEN_HIST +
      (len <= 256
        ? (len <= 64 ? 0 : len <= 128 ? 1 : 2)
        : len <= 1024
        ? (len <= 512 ? 3 : 4)
        : len <= 1500
        ? 5
        : 6)
    ] += n;
    const version = meta.ipVersion;
    const cls = version === 4 || version === 6 ? PROTO_CLASS[meta.protocol & 0xff] : P_OTHER;
    c[PROTO_PACKETS + cls] += n;
    c[PROTO_BYTES + cls] += low * n;
    if (low !== len) this.#total[PROTO_BYTES + cls] += (len - low) * n;
    if (version !== 4 && version !== 6) {
      c[C_NON_IP] += n;
      return;
    }
    c[version === 4 ? C_IPV4 : C_IPV6] += n;
    const ttl = meta.ttl & 0xff;
    c[TTL + ttl] += n;
    const frag = meta.fragment;
    if (frag === FRAG_FIRST) c[C_FRAG_FIRST] += n;
    else if (frag === FRAG_NON_FIRST) c[C_FRAG_NON_FIRST] += n;

    // Addresses: consecutive packets from one source (or to one destination) are counted as
    // a run and folded into the sketches when the address changes: a flood from one host
    // costs a comparison per packet. Words are read signed: they stay small integers in V8.
    const src = meta.src;
    const s0 = src[0] | 0, s1 = src[1] | 0, s2 = src[2] | 0, s3 = src[3] | 0;
    if (
      s3 === this.#srcW3 && s2 === this.#srcW2 && s1 === this.#srcW1 && s0 === this.#srcW0 &&
      this.#srcRun !== 0
    ) {
      this.#srcRun += n;
      this.#run.count(cls, ttl, n);
    } else {
      if (this.#srcRun !== 0) this.#flushSrc();
      const h = hashWords(s0, s1, s2, s3);
      this.#srcCount.addHash(h);
      this.#srcHash = h;
      this.#srcW0 = s0;
      this.#srcW1 = s1;
      this.#srcW2 = s2;
      this.#srcW3 = s3;
      this.#srcRun = n;
      this.#run.start(cls, ttl);
    }
    const dst = meta.dst;
    const d0 = dst[0] | 0, d1 = dst[1] | 0, d2 = dst[2] | 0, d3 = dst[3] | 0;
    if (
      d3 === this.#dstW3 && d2 === this.#dstW2 && d1 === this.#dstW1 && d0 === this.#dstW0 &&
      this.#dstRun !== 0
    ) {
      this.#dstRun += n;
    } else {
      if (this.#dstRun !== 0) this.#flushDst();
      this.#dstW0 = d0;
      this.#dstW1 = d1;
      this.#dstW2 = d2;
      this.#dstW3 = d3;
      this.#dstRun = n;
    }

    if ((cls === P_TCP || cls === P_UDP) && frag !== FRAG_NON_FIRST) {
      if (n === 1) {
        this.#srcPorts.add(meta.srcPort & 0xffff);
        this.#dstPorts.add(meta.dstPort & 0xffff);
      } else {
        this.#srcPorts.addCount(meta.srcPort & 0xffff, n);
        this.#dstPorts.addCount(meta.dstPort & 0xffff, n);
      }
      if (cls === P_TCP) {
        c[FLAGS + (meta.tcpFlags & 0xff)] += n;
        if (pureSyn(meta.tcpFlags)) this.#run.syn += n;
      }
    }
  }

  /**
   * Counts `meta` as `packets` packets (a whole number, at least 1) of `bytes` bytes in all (a
   * flow record's share, an sFlow sample): the statistics of that many copies of one packet of
   * the average length. About the cost of one {@linkcode add}: one copy is counted there, the
   * other copies go straight into the totals of the counters it touched.
   */
  addWeighted(meta: PacketMeta, packets: number, bytes: number): void {
    const len = meta.wireLen;
    const avg = Math.min(0xffff, Math.round(bytes / packets));
    meta.wireLen = avg;
    this.add(meta);
    meta.wireLen = len;
    const t = this.#total, n = packets - 1, rest = bytes - avg;
    if (meta.outbound) {
      t[C_OUT_PACKETS] += n;
      t[C_OUT_BYTES] += rest;
      return;
    }
    t[C_PACKETS] += n;
    t[C_BYTES] += rest;
    if (meta.malformed !== 0) {
      t[C_MALFORMED] += n;
      return;
    }
    t[LEN_HIST + lenClass(avg)] += n;
    const v = meta.ipVersion;
    const cls = v === 4 || v === 6 ? PROTO_CLASS[meta.protocol & 0xff] : P_OTHER;
    t[PROTO_PACKETS + cls] += n;
    t[PROTO_BYTES + cls] += rest;
    if (v !== 4 && v !== 6) {
      t[C_NON_IP] += n;
      return;
    }
    t[v === 4 ? C_IPV4 : C_IPV6] += n;
    const ttl = meta.ttl & 0xff, frag = meta.fragment;
    t[TTL + ttl] += n;
    if (frag === FRAG_FIRST) t[C_FRAG_FIRST] += n;
    else if (frag === FRAG_NON_FIRST) t[C_FRAG_NON_FIRST] += n;
    const ports = (cls === P_TCP || cls === P_UDP) && frag !== FRAG_NON_FIRST;
    if (ports && cls === P_TCP) t[FLAGS + (meta.tcpFlags & 0xff)] += n;
    if (n <= 0) return;
    this.#srcRun += n; // add() left this packet's addresses as the current runs
    this.#dstRun += n;
    this.#run.count(cls, ttl, n);
    if (!ports) return;
    if (cls === P_TCP && pureSyn(meta.tcpFlags)) this.#run.syn += n;
    this.#srcPorts.addCount(meta.srcPort & 0xffff, n);
    this.#dstPorts.addCount(meta.dstPort & 0xffff, n);
  }

  /** Counts the DNS query `q` of the packet just added (its bytes in `buf`). */
  addDns(buf: Uint8Array, q: DnsQuestion): void {
    this.#dns.add(buf, q);
  }

  /** Folds the current source-address run into the entropy buckets and top-K table. */
  #flushSrc(): void {
    const run = this.#srcRun;
    const h = this.#srcHash;
    this.#entropy[h & ENTROPY_MASK] += run;
    const s = this.#topSrc.addHashed(h, this.#srcW0, this.#srcW1, this.#srcW2, this.#srcW3, run);
    this.#run.flush(this.#topSrc.side, s, run);
    this.#srcRun = 0;
  }

  /** Folds the current destination-address run into its top-K table. */
  #flushDst(): void {
    const d0 = this.#dstW0, d1 = this.#dstW1, d2 = this.#dstW2, d3 = this.#dstW3;
    this.#topDst.addHashed(hashWords(d0, d1, d2, d3), d0, d1, d2, d3, this.#dstRun);
    this.#dstRun = 0;
  }

  /** Adds the integer counters into the totals and zeroes them. */
  #fold(): void {
    const hot = this.#hot;
    const total = this.#total;
    for (let i = 0; i < COUNTERS; i++) total[i] += hot[i];
    hot.fill(0);
  }

  /** Folds pending runs and counters into the sketches and totals (before reading them). */
  #flushRuns(): void {
    this.#fold();
    if (this.#srcRun !== 0) this.#flushSrc();
    if (this.#dstRun !== 0) this.#flushDst();
  }

  /**
   * Adds `other` into this window: counters, histograms and port counts add, distinct-source
   * registers take the maximum, top-K tables merge (their overestimate bounds add). The result
   * covers from the earlier start to the later end: `start = min(starts)`,
   * `seconds = max(ends) - start` (so consecutive one-second windows give N seconds).
   */
  merge(other: Window): void {
    const end = Math.max(this.start + this.seconds, other.start + other.seconds);
    this.start = Math.min(this.start, other.start);
    this.seconds = end - this.start;
    this.#flushRuns();
    other.#flushRuns();
    addInto(this.#total, other.#total);
    addInto(this.#entropy, other.#entropy);
    this.#srcCount.merge(other.#srcCount);
    this.#topSrc.merge(other.#topSrc, combineTraits);
    this.#topDst.merge(other.#topDst);
    this.#srcPorts.merge(other.#srcPorts);
    this.#dstPorts.merge(other.#dstPorts);
    this.#dns.merge(other.#dns);
  }

  /** Empties the window for reuse, starting at `start` (epoch seconds) for `seconds` (1). */
  reset(start: number, seconds = 1): void {
    this.start = start;
    this.seconds = seconds;
    this.#srcRun = 0;
    this.#dstRun = 0;
    this.#hot.fill(0);
    this.#total.fill(0);
    this.#entropy.fill(0);
    this.#srcCount.reset();
    this.#topSrc.reset();
    this.#topDst.reset();
    this.#srcPorts.reset();
    this.#dstPorts.reset();
    this.#dns.reset();
  }

  /**
   * The window's statistics as plain data, with the `topN` (default 10) of each top list; with
   * `sourceTraits`, each top source carries its `traits` (`SourceTraits`).
   */
  snapshot(topN = 10, sourceTraits = false): WindowStats {
    this.#flushRuns();
    const c = this.#total;
    const packets = c[C_PACKETS];
    const bytes = c[C_BYTES];
    const seconds = this.seconds > 0 ? this.seconds : 1;
    const protocol = (i: number): ProtocolCounter => ({
      packets: c[PROTO_PACKETS + i],
      bytes: c[PROTO_BYTES + i],
    });

    const tcp = tcpFlagStats(c, FLAGS);

    const hist = {} as PacketLengthHistogram;
    for (let i = 0; i < LEN_LABELS.length; i++) hist[LEN_LABELS[i]] = c[LEN_HIST + i];

    const ttl: Record<string, number> = {};
    for (let t = 0; t < 256; t++) {
      if (c[TTL + t] !== 0) ttl[t] = c[TTL + t];
    }

    return {
      t: this.start,
      seconds: this.seconds,
      packets,
      bytes,
      pps: round3(packets / seconds),
      bps: round3((bytes * 8) / seconds),
      malformed: c[C_MALFORMED],
      ipv4: c[C_IPV4],
      ipv6: c[C_IPV6],
      non_ip: c[C_NON_IP],
      outbound: { packets: c[C_OUT_PACKETS], bytes: c[C_OUT_BYTES] },
      protocols: {
        tcp: protocol(P_TCP),
        udp: protocol(P_UDP),
        icmp: protocol(P_ICMP),
        gre: protocol(P_GRE),
        other: protocol(P_OTHER),
      },
      tcp_flags: tcp.flags,
      tcp_flag_combos: tcp.combos,
      fragments: { first: c[C_FRAG_FIRST], non_first: c[C_FRAG_NON_FIRST] },
      pkt_len_hist: hist,
      avg_pkt_len: packets > 0 ? round3(bytes / packets) : 0,
      ttl,
      top_src_ips: topAddresses(this.#topSrc, topN, sourceTraits),
      top_dst_ips: topAddresses(this.#topDst, topN),
      top_src_ports: this.#srcPorts.top(topN),
      top_dst_ports: this.#dstPorts.top(topN),
      src_count: Math.round(this.#srcCount.estimate()),
      src_ip_entropy: round3(entropyOfCounts(this.#entropy)),
      dns: this.#dns.snapshot(topN),
    };
  }
}

function addInto(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
