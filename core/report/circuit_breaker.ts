/**
 * A circuit breaker for one remote service (pure: time is passed in). Closed: calls go through.
 * After `failureThreshold` consecutive failures it opens: no calls for `coolOffMs`. Then it is
 * half-open: exactly one probe call may go; its success closes the breaker, its failure opens
 * it again for another cool-off (it never stays half-open).
 *
 * @module
 */

/** Where a {@linkcode CircuitBreaker} stands. */
export type BreakerState = "closed" | "open" | "half-open";

/** Options of a {@linkcode CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker (default 5). */
  failureThreshold?: number;
  /** Time the breaker stays open before a probe is allowed (ms, default 30000). */
  coolOffMs?: number;
}

/** Counts consecutive failures and decides whether a call may go now. */
export class CircuitBreaker {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** Time (ms) an open breaker waits before one probe call. */
  readonly coolOffMs: number;
  #open = false;
  #openedAtMs = 0;
  #failures = 0;
  #probing = false;
  /** Times the breaker went from closed or half-open to open. */
  opened = 0;

  /** Creates a closed breaker. */
  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 5);
    this.coolOffMs = Math.max(0, options.coolOffMs ?? 30_000);
  }

  /** The state at `nowMs` (open turns half-open once the cool-off has passed). */
  state(nowMs: number): BreakerState {
    if (!this.#open) return "closed";
    return nowMs - this.#openedAtMs >= this.coolOffMs ? "half-open" : "open";
  }

  /** Consecutive failures counted so far. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Asks to make a call at `nowMs`: true when closed, or when half-open and no probe is out
   * (the call is then the probe, and the breaker waits for its outcome).
   */
  tryAcquire(nowMs: number): boolean {
    const s = this.state(nowMs);
    if (s === "closed") return true;
    if (s === "open" || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** Milliseconds from `nowMs` until a call may be attempted (0: now). */
  waitMs(nowMs: number): number {
    if (!this.#open) return 0;
    return Math.max(0, this.#openedAtMs + this.coolOffMs - nowMs);
  }

  /** The call succeeded: the breaker closes and the failure count restarts. */
  success(): void {
    this.#open = false;
    this.#probing = false;
    this.#failures = 0;
  }

  /** The call failed at `nowMs`: a failed probe, or the threshold reached, opens the breaker. */
  failure(nowMs: number): void {
    this.#failures++;
    if (this.#probing || (!this.#open && this.#failures >= this.failureThreshold)) {
      this.#open = true;
      this.#openedAtMs = nowMs;
      this.opened++;
    }
    this.#probing = false;
  }
}
