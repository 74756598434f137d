import { assert, assertEquals, assertMatch, assertThrows } from "../../support/assert.ts";
import { Receiver } from "../../support/receiver.ts";
import { alertDeliver, retryAfterSeconds, webhookSignature } from "../../../agent/report/mod.ts";
import type { OutboxItem } from "../../../agent/state/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";

function item(body: unknown, key = "id-1:open"): OutboxItem {
  return { seq: 1, attempts: 0, channel: "alert:x", kind: "alert", key, eventUs: 0, body };
}

const signal = new AbortController().signal;

Deno.test("alertDeliver() maps HTTP answers: 2xx done, 429/5xx/408 retried with Retry-After, other 4xx permanent", async () => {
  const receiver = new Receiver([
    { status: 200, body: "ok" },
    { status: 204 },
    { status: 429, headers: { "retry-after": "7" }, body: "slow down" },
    { status: 503, headers: { "retry-after": "Sun, 22 Nov 2026 05:00:30 GMT" } },
    { status: 500, body: "boom\n  trace" },
    { status: 408 },
    { status: 400, body: "invalid_payload" },
    { status: 404, body: "no_service" },
  ]);
  try {
    const alerts = parseConfig({ alerts: { slack: { webhook_url: receiver.url + "/hook" } } })
      .config.alerts;
    const deliver = alertDeliver("slack", alerts, {
      userAgent: "ftagent/test",
      now: () => Date.parse("2026-11-22T05:00:00Z"),
    });
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await deliver(item({ text: "hi" }), signal));
    assertEquals(results, [
      { ok: true },
      { ok: true },
      { ok: false, error: "slack: HTTP 429: slow down", retryAfterS: 7 },
      { ok: false, error: "slack: HTTP 503", retryAfterS: 30 },
      { ok: false, error: "slack: HTTP 500: boom trace" },
      { ok: false, error: "slack: HTTP 408" },
      { ok: false, error: "slack: HTTP 400: invalid_payload", permanent: true },
      { ok: false, error: "slack: HTTP 404: no_service", permanent: true },
    ]);
    assertEquals(receiver.received[0].path, "/hook");
    assertEquals(receiver.received[0].json, { text: "hi" });
    assertEquals(receiver.received[0].headers.get("content-type"), "application/json");
    assertEquals(receiver.received[0].headers.get("user-agent"), "ftagent/test");
  } finally {
    await receiver.close();
  }
});

Deno.test("alertDeliver() retries (not permanent) when nothing listens or the receiver is too slow", async () => {
  const gone = new Receiver();
  const url = gone.url;
  await gone.close();
  const alerts = parseConfig({ alerts: { discord: { webhook_url: url } } }).config.alerts;
  const refused = await alertDeliver("discord", alerts, { userAgent: "t" })(item({}), signal);
  assert(!refused.ok && refused.permanent === undefined, JSON.stringify(refused));
  assertMatch(refused.ok ? "" : refused.error, /^discord: /);

  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  const slow = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await held;
    return new Response("late");
  });
  try {
    const slowAlerts = parseConfig({
      alerts: { teams: { webhook_url: `http://127.0.0.1:${slow.addr.port}/` } },
    }).config.alerts;
    const result = await alertDeliver("teams", slowAlerts, { userAgent: "t", timeoutMs: 200 })(
      item({}),
      signal,
    );
    assertEquals(result, { ok: false, error: "teams: no answer within 200 ms" });
  } finally {
    release();
    await slow.shutdown();
  }
});

Deno.test("alertDeliver() adds the PagerDuty routing key and signs the generic webhook with HMAC-SHA256 over timestamp.body", async () => {
  const receiver = new Receiver();
  try {
    const alerts = parseConfig({
      alerts: {
        pagerduty: { routing_key: "R0UT1NG", events_url: receiver.url + "/v2/enqueue" },
        webhook: { url: receiver.url + "/ftagent", secret: "s3cret" },
      },
    }).config.alerts;
    const now = () => 1_795_000_000_000;
    await alertDeliver("pagerduty", alerts, { userAgent: "t", now })(
      item({ event_action: "resolve", dedup_key: "id-1" }),
      signal,
    );
    assertEquals(receiver.received[0].json, {
      routing_key: "R0UT1NG",
      event_action: "resolve",
      dedup_key: "id-1",
    });
    await alertDeliver("webhook", alerts, { userAgent: "t", now })(
      item({ a: 1 }, "k:open"),
      signal,
    );
    const hook = receiver.received[1];
    assertEquals(hook.headers.get("x-ftagent-timestamp"), "1795000000");
    assertEquals(hook.headers.get("x-ftagent-delivery"), "k:open");
    // The receiver's check: HMAC-SHA256(secret, "<timestamp>.<raw body>"), computed independently.
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("s3cret"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const sig = hook.headers.get("x-ftagent-signature")!;
    assertMatch(sig, /^sha256=[0-9a-f]{64}$/);
    const mac = Uint8Array.from(sig.slice(7).match(/../g)!.map((h) => parseInt(h, 16)));
    const message = new TextEncoder().encode(`1795000000.${hook.raw}`);
    assert(await crypto.subtle.verify("HMAC", key, mac, message));
    assertEquals(sig, await webhookSignature("s3cret", "1795000000", hook.raw));
    assert(sig !== (await webhookSignature("s3cret", "1795000001", hook.raw)));
  } finally {
    await receiver.close();
  }
});

Deno.test("retryAfterSeconds() reads delta seconds and HTTP dates and ignores garbage", () => {
  const now = Date.parse("2026-11-22T05:00:00Z");
  assertEquals(retryAfterSeconds("120", now), 120);
  assertEquals(retryAfterSeconds("Sun, 22 Nov 2026 05:01:00 GMT", now), 60);
  assertEquals(retryAfterSeconds("Sun, 22 Nov 2026 04:01:00 GMT", now), 0);
  assertEquals(retryAfterSeconds("soon", now), undefined);
  assertEquals(retryAfterSeconds(null, now), undefined);
  assertEquals(retryAfterSeconds("-5", now), undefined);
});

Deno.test("the config refuses a bad alert channel in one line naming the key, and defaults events to open and resolve", () => {
  assertThrows(
    () => parseConfig({ alerts: { slack: { webhook_url: "not a url" } } }),
    /^config key "alerts\.slack\.webhook_url": "not a url" is invalid/,
  );
  assertThrows(
    () => parseConfig({ alerts: { slack: { webhook_url: "https://x.test/", evnets: ["open"] } } }),
    /^config key "alerts\.slack": .*evnets/,
  );
  assertThrows(() => parseConfig({ alerts: { pagerduty: {} } }), /alerts\.pagerduty\.routing_key/);
  assertThrows(
    () => parseConfig({ alerts: { webhook: { url: "https://x.test/", events: ["close"] } } }),
    /alerts\.webhook\.events\.0/,
  );
  const { alerts, incident_retention_days, metrics_port } = parseConfig({
    alerts: { discord: { webhook_url: "https://x.test/" } },
  }).config;
  assertEquals(alerts.discord?.events, ["open", "resolve"]);
  assertEquals(alerts.slack, undefined);
  assertEquals([incident_retention_days, metrics_port], [90, 9847]);
});
