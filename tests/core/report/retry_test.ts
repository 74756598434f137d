import { assert, assertEquals } from "../../support/assert.ts";
import {
  backoffMs,
  CircuitBreaker,
  parseRetryAfter,
  RETRY_AFTER_CAP_S,
} from "../../../core/report/mod.ts";
import { xorshift32 } from "../../support/random.ts";

Deno.test("CircuitBreaker opens after N consecutive failures and a failed half-open probe reopens it", () => {
  const b = new CircuitBreaker({ failureThreshold: 3, coolOffMs: 1000 });
  assertEquals(b.state(0), "closed");
  b.failure(0);
  b.success(); // a success in between restarts the count
  b.failure(10);
  b.failure(20);
  assertEquals(b.state(20), "closed");
  b.failure(30);
  assertEquals(b.state(30), "open");
  assertEquals(b.tryAcquire(500), false);
  assertEquals(b.waitMs(500), 530);
  assertEquals(b.state(1030), "half-open");
  assertEquals(b.tryAcquire(1030), true); // the probe
  assertEquals(b.tryAcquire(1031), false); // only one probe at a time
  b.failure(1100); // the probe failed
  assertEquals(b.state(1100), "open");
  assertEquals(b.state(2099), "open");
  assertEquals(b.opened, 2);
  assertEquals(b.state(2100), "half-open");
  assertEquals(b.tryAcquire(2100), true);
  b.success();
  assertEquals(b.state(2100), "closed");
  assertEquals(b.failures, 0);
});

Deno.test("CircuitBreaker never stays half-open: every probe outcome leaves it closed or open", () => {
  const b = new CircuitBreaker({ failureThreshold: 1, coolOffMs: 100 });
  const random = xorshift32(7);
  let now = 0;
  for (let i = 0; i < 1000; i++) {
    now += 1 + Math.floor(random() * 150);
    if (!b.tryAcquire(now)) continue;
    const wasHalfOpen = b.state(now) === "half-open";
    if (random() < 0.7) b.failure(now);
    else b.success();
    if (wasHalfOpen) assert(b.state(now) !== "half-open", `half-open after a probe at ${now}`);
  }
});

Deno.test("backoffMs() grows exponentially, jitters within 50-100% and stops at the maximum", () => {
  const low = () => 0;
  const high = () => 0.999999;
  assertEquals(backoffMs(0, low, { baseMs: 1000 }), 500);
  assertEquals(backoffMs(0, high, { baseMs: 1000 }), 1000);
  assertEquals(backoffMs(3, low, { baseMs: 1000 }), 4000);
  assertEquals(backoffMs(3, high, { baseMs: 1000 }), 8000);
  assertEquals(backoffMs(40, high, { baseMs: 1000, maxMs: 60000 }), 60000);
  const a = xorshift32(1);
  const b = xorshift32(1);
  const first = Array.from({ length: 8 }, (_, i) => backoffMs(i, a));
  assertEquals(Array.from({ length: 8 }, (_, i) => backoffMs(i, b)), first);
  for (let i = 1; i < first.length; i++) assert(first[i] >= first[i - 1] / 2);
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates and caps hostile values", () => {
  const now = Date.parse("2026-06-10T12:00:00Z");
  assertEquals(parseRetryAfter("7", now), 7);
  assertEquals(parseRetryAfter(" 2.5 ", now), 2.5);
  assertEquals(parseRetryAfter("99999999999", now), RETRY_AFTER_CAP_S);
  assertEquals(parseRetryAfter("1e400", now), null);
  assertEquals(parseRetryAfter("Wed, 10 Jun 2026 12:00:30 GMT", now), 30);
  assertEquals(parseRetryAfter("Wed, 10 Jun 2026 11:00:00 GMT", now), 0);
  assertEquals(parseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now), RETRY_AFTER_CAP_S);
  assertEquals(parseRetryAfter("-5", now), null);
  assertEquals(parseRetryAfter("soon", now), null);
  assertEquals(parseRetryAfter("", now), null);
  assertEquals(parseRetryAfter(null, now), null);
  assertEquals(parseRetryAfter("120", now, 10), 10);
});
