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
  /** Packets of TCP, UDP and ICMP (ICMP + ICMPv6) in the window. */
  tcp: number;
  udp: number;
  icmp: number;
  /** All packets in the window. */
  packets: number;
}

/** The body of `POST /agent/metrics` (spec keys and units). */
export interface MetricsBody extends Record<string, unknown> {
  pps: number;
  bps: number;
  avg_pps: number;
  samples: number;
  tcp_pct: number;
  udp_pct: number;
  icmp_pct: number;
  conn_count: number;
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
