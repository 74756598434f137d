/**
 * The rule that picks the kernel sampling rate of a live capture (`capture_sample_above_pps`):
 * keep the packets user space reads under a budget, and capture everything again when the
 * flood is over.
 *
 * The source reports the packets it counted (each frame times the rate it was taken at); every
 * {@linkcode SAMPLING_PERIOD_US} they give the packets per second on the wire (R), an
 * overestimate only while user space catches up on a backlog (which errs towards sampling
 * more). With budget B:
 *
 * - Up at once: when R > B, the rate becomes the smallest power of two N with R / N <= B
 *   (and never falls in the same step).
 * - Down slowly (hysteresis): the rate falls only after R stayed low enough for
 *   {@linkcode SAMPLING_HOLD_PERIODS} periods in a row, to the smallest power of two that would
 *   keep R under 0.8 B (the highest such rate over the hold), so a rate at the edge of a step
 *   does not flap; below 0.8 B, that is 1: every packet again.
 *
 * @module
 */

/** Period of the rate check (µs). */
export const SAMPLING_PERIOD_US = 100_000;
/** Periods in a row the rate must stay low before sampling falls (3 s). */
export const SAMPLING_HOLD_PERIODS = 30;
/** The share of the budget a lower rate must leave free before sampling falls. */
const DOWN_MARGIN = 0.8;
/** Highest sampling rate used (the pipeline's `MAX_COPIES`). */
const MAX_RATE = 4096;

/** Picks 1-in-N kernel sampling from the frame rate user space reads. */
export class SamplingRule {
  /** The packet budget of user space (packets per second). */
  readonly budget: number;
  /** The sampling rate in use: 1 in this many packets reaches user space (1: all). */
  rate = 1;
  /** Packets per second on the wire, as estimated over the last period. */
  wirePps = 0;
  #periodStartUs = -1;
  #packets = 0;
  #low = 0;
  #lowRate = 1;

  /** Keeps user space under `budgetPps` packets per second (0: never samples). */
  constructor(budgetPps: number) {
    this.budget = budgetPps > 0 ? budgetPps : 0;
  }

  /**
   * `packets` more packets were counted (frames times their rate) by `nowUs` (µs of a monotonic
   * clock); returns the sampling rate to use from now on (the same most of the time).
   */
  update(packets: number, nowUs: number): number {
    if (this.budget === 0) return 1;
    this.#packets += packets;
    if (this.#periodStartUs < 0) this.#periodStartUs = nowUs;
    const elapsed = nowUs - this.#periodStartUs;
    if (elapsed < SAMPLING_PERIOD_US) return this.rate;
    const wire = this.#packets * 1e6 / elapsed;
    this.wirePps = wire;
    this.#packets = 0;
    this.#periodStartUs = nowUs;
    const up = rateFor(wire, this.budget);
    if (up > this.rate) {
      this.rate = up;
      this.#low = 0;
      return this.rate;
    }
    const down = rateFor(wire, this.budget * DOWN_MARGIN);
    if (down >= this.rate) {
      this.#low = 0;
      return this.rate;
    }
    this.#lowRate = this.#low === 0 ? down : Math.max(this.#lowRate, down);
    if (++this.#low >= SAMPLING_HOLD_PERIODS) {
      this.rate = this.#lowRate;
      this.#low = 0;
    }
    return this.rate;
  }
}

/** The smallest power of two N with `pps` / N <= `budget` (1 when `pps` is within it). */
function rateFor(pps: number, budget: number): number {
  if (!(pps > budget)) return 1;
  let n = 2;
  while (pps / n > budget && n < MAX_RATE) n *= 2;
  return n;
}
