/**
 * Drains one outbox channel in order: one delivery at a time, exponential backoff with jitter
 * after a failure (or the server's capped `Retry-After`), and a circuit breaker that stops
 * calling a service that keeps failing and probes it once per cool-off. A permanent failure
 * (the server refused the entry, e.g. HTTP 400) moves the entry to the dead letters with the
 * reason, so it never blocks the lane. Everything runs on timers and promises: the capture
 * loop never waits for it.
 *
 * @module
 */

import {
  backoffMs,
  type BreakerState,
  CircuitBreaker,
  RETRY_AFTER_CAP_S,
} from "../../core/report/mod.ts";
import type { Outbox, OutboxItem } from "../state/mod.ts";

/** The outcome of one delivery attempt. */
export type DeliveryResult =
  | { ok: true; response?: unknown }
  | { ok: false; error: string; retryAfterS?: number; permanent?: boolean };

/** Delivers one entry; must honour `signal` (stop, timeout) and never throw on purpose. */
export type Deliver = (item: OutboxItem, signal: AbortSignal) => Promise<DeliveryResult>;

/** Counters of one sender. */
export interface SenderStats {
  /** The lane. */
  channel: string;
  /** Entries delivered. */
  sent: number;
  /** Failed attempts. */
  failed: number;
  /** Entries refused for good (moved to the dead letters). */
  dead: number;
  /** The circuit breaker's state. */
  breaker: BreakerState;
  /** The last failure, or null. */
  lastError: string | null;
}

/** Options of a {@linkcode Sender}. */
export interface SenderOptions {
  /** Consecutive failures that open the breaker (default 5). */
  failureThreshold?: number;
  /** Breaker cool-off (ms, default 30000). */
  coolOffMs?: number;
  /** First backoff delay (ms, default 1000) and the largest (ms, default 60000). */
  backoffBaseMs?: number;
  /** Longest backoff between attempts (ms). */
  backoffMaxMs?: number;
  /** Longest wait a Retry-After imposes (s, default 60). */
  retryAfterCapS?: number;
  /** Random source in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  /** Wall clock in ms (default Date.now). */
  now?: () => number;
  /** Hears each failed attempt (to log) and each dead letter. */
  onFailure?: (item: OutboxItem, error: string, attempt: number) => void;
  /** An entry was refused for good. */
  onDead?: (item: OutboxItem, reason: string) => void;
  /** Hears each delivered entry with the delivery's response. */
  onDelivered?: (item: OutboxItem, response: unknown) => void;
}

/** The drain loop of one channel. */
export class Sender {
  /** The lane it drains. */
  readonly channel: string;
  /** Its circuit breaker. */
  readonly breaker: CircuitBreaker;
  readonly #outbox: Outbox;
  readonly #deliver: Deliver;
  readonly #opts: SenderOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  #wake: (() => void) | null = null;
  #pending = false;
  #attempt = 0;
  #loop: Promise<void>;
  #unsubscribe: () => void;
  readonly #stats = { sent: 0, failed: 0, dead: 0, lastError: null as string | null };

  /** Starts draining `channel` of `outbox` with `deliver`. */
  constructor(outbox: Outbox, channel: string, deliver: Deliver, options: SenderOptions = {}) {
    this.channel = channel;
    this.#outbox = outbox;
    this.#deliver = deliver;
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      coolOffMs: options.coolOffMs,
    });
    this.#unsubscribe = outbox.onEnqueue((ch) => {
      if (ch === channel) this.notify();
    });
    this.#loop = this.#run();
  }

  /** Something was added: wake the loop if it sleeps on an empty lane. */
  notify(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** Counters and the breaker's state. */
  stats(): SenderStats {
    return {
      channel: this.channel,
      ...this.#stats,
      breaker: this.breaker.state(this.#now()),
    };
  }

  /**
   * Stops: waits up to `graceMs` for the lane to empty (deliveries go on meanwhile), then
   * aborts the delivery in flight and returns once the loop has ended.
   */
  async stop(graceMs = 0): Promise<void> {
    const until = this.#now() + graceMs;
    while (graceMs > 0 && this.#now() < until && this.#outbox.next(this.channel) !== null) {
      if (this.breaker.state(this.#now()) === "open") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#unsubscribe();
    this.#stop.abort();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      this.#pending = false;
      let item: OutboxItem | null;
      try {
        item = this.#outbox.next(this.channel);
      } catch (err) {
        this.#stats.lastError = `outbox: ${(err as Error).message}`;
        await this.#sleep(1000);
        continue;
      }
      if (item === null) {
        if (!this.#pending) await this.#sleep(null);
        continue;
      }
      const now = this.#now();
      if (!this.breaker.tryAcquire(now)) {
        await this.#sleep(Math.max(50, this.breaker.waitMs(now)));
        continue;
      }
      let result: DeliveryResult;
      try {
        result = await this.#deliver(item, signal);
      } catch (err) {
        result = { ok: false, error: (err as Error).message ?? String(err) };
      }
      if (signal.aborted && !result.ok) {
        this.breaker.success(); // the stop aborted it: say nothing about the service
        break;
      }
      this.#settle(item, result);
      if (!result.ok && !result.permanent) {
        const cap = (this.#opts.retryAfterCapS ?? RETRY_AFTER_CAP_S) * 1000;
        const backoff = backoffMs(this.#attempt++, this.#random, {
          baseMs: this.#opts.backoffBaseMs,
          maxMs: this.#opts.backoffMaxMs,
        });
        const asked = result.retryAfterS === undefined
          ? 0
          : Math.min(Math.max(0, result.retryAfterS * 1000), cap);
        await this.#sleep(Math.max(backoff, asked));
      }
    }
  }

  #settle(item: OutboxItem, result: DeliveryResult): void {
    try {
      if (result.ok) {
        this.breaker.success();
        this.#attempt = 0;
        this.#outbox.done(item.seq);
        this.#stats.sent++;
        this.#opts.onDelivered?.(item, result.response);
      } else if (result.permanent) {
        // The service answered (it is up); it refused this entry for good.
        this.breaker.success();
        this.#attempt = 0;
        this.#outbox.dead(item.seq, result.error, this.#now() * 1000);
        this.#stats.dead++;
        this.#stats.lastError = result.error;
        this.#opts.onDead?.(item, result.error);
      } else {
        this.breaker.failure(this.#now());
        this.#outbox.failed(item.seq, result.error);
        this.#stats.failed++;
        this.#stats.lastError = result.error;
        this.#opts.onFailure?.(item, result.error, item.attempts + 1);
      }
    } catch (err) {
      this.#stats.lastError = `outbox: ${(err as Error).message}`;
    }
  }

  /** Sleeps `ms` (null: until notified), waking early on notify or stop. */
  #sleep(ms: number | null): Promise<void> {
    if (this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      if (ms !== null) timer = setTimeout(done, ms);
      // A new entry wakes an idle lane, never one backing off.
      this.#wake = ms === null ? done : () => {
        if (this.#stop.signal.aborted) done();
      };
    });
  }
}
