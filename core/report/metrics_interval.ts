/**
 * The `POST /agent/metrics` body: the per-second interface windows of one `metrics_interval`
 * folded into max and average rates and protocol shares. Pure; one `add` per closed window.
 *
 * @module
 */

/** One closed second as the aggregator needs it. */
export interface IntervalSecond {
  /** Packets per second. */
  pps: number;
  /** BITS per second. */
  bps: number;
  /** TCP packets in the window. */
  tcp: number;
  /** UDP packets in the window. */
  udp: number;
  /** ICMP and ICMPv6 packets in the window. */
  icmp: number;
  /** All packets in the window. */
  packets: number;
}

/** The body of `POST /agent/metrics` (spec keys and units). */
export interface MetricsBody extends Record<string, unknown> {
  /** Highest packets per second of the interval's seconds. */
  pps: number;
  /** Highest bits per second of the interval's seconds. */
  bps: number;
  /** Mean packets per second of the interval's seconds. */
  avg_pps: number;
  /** Seconds in the interval. */
  samples: number;
  /** TCP share of the packets (percent). */
  tcp_pct: number;
  /** UDP share of the packets (percent). */
  udp_pct: number;
  /** ICMP share of the packets (percent). */
  icmp_pct: number;
  /** Established TCP connections now. */
  conn_count: number;
  /** The interface's pps threshold now. */
  threshold: number;
}

/** Accumulates seconds until the next metrics report. */
export class MetricsInterval {
  #samples = 0;
  #maxPps = 0;
  #maxBps = 0;
  #sumPps = 0;
  #packets = 0;
  #tcp = 0;
  #udp = 0;
  #icmp = 0;

  /** Seconds accumulated since the last {@linkcode take}. */
  get samples(): number {
    return this.#samples;
  }

  /** Adds one closed second. */
  add(s: IntervalSecond): void {
    this.#samples++;
    if (s.pps > this.#maxPps) this.#maxPps = s.pps;
    if (s.bps > this.#maxBps) this.#maxBps = s.bps;
    this.#sumPps += s.pps;
    this.#packets += s.packets;
    this.#tcp += s.tcp;
    this.#udp += s.udp;
    this.#icmp += s.icmp;
  }

  /**
   * The body for the seconds since the last call (pps and bps are the interval's maxima),
   * with the host's connection count and the pps threshold in force; then starts afresh.
   */
  take(connCount: number, threshold: number): MetricsBody {
    const n = this.#samples;
    const pct = (x: number) => (this.#packets > 0 ? round1((100 * x) / this.#packets) : 0);
    const body: MetricsBody = {
      pps: round1(this.#maxPps),
      bps: round1(this.#maxBps),
      avg_pps: n > 0 ? round1(this.#sumPps / n) : 0,
      samples: n,
      tcp_pct: pct(this.#tcp),
      udp_pct: pct(this.#udp),
      icmp_pct: pct(this.#icmp),
      conn_count: Math.max(0, Math.round(connCount)),
      threshold: Number.isFinite(threshold) ? round1(threshold) : 0,
    };
    this.#samples =
      this.#maxPps =
      this.#maxBps =
      this.#sumPps =
        0;
    this.#packets =
      this.#tcp =
      this.#udp =
      this.#icmp =
        0;
    return body;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
