import { assert, assertEquals } from "../../support/assert.ts";
import {
  FLOWTRIQ_CHANNEL,
  FlowtriqApi,
  flowtriqDeliver,
  Sender,
  type SenderOptions,
} from "../../../agent/report/mod.ts";
import { openStateDb, Outbox } from "../../../agent/state/mod.ts";
import type { DatabaseSync } from "node:sqlite";
import { FlowtriqServer } from "../../support/flowtriq_server.ts";
import { xorshift32 } from "../../support/random.ts";

interface Rig {
  server: FlowtriqServer;
  db: DatabaseSync;
  outbox: Outbox;
  sender: Sender;
}

/** A real server, a real database and a sender on the "flowtriq" lane with fast timings. */
async function rig(
  fn: (r: Rig) => Promise<void>,
  options: SenderOptions & { timeoutMs?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-sender-" });
  const server = new FlowtriqServer();
  server.up();
  const db = openStateDb(`${dir}/ftagent.db`);
  const outbox = new Outbox(db);
  const api = new FlowtriqApi({
    apiBase: server.base,
    apiKey: server.apiKey,
    nodeUuid: server.nodeUuid,
    version: "test",
    timeoutMs: options.timeoutMs ?? 5000,
  });
  const sender = new Sender(outbox, FLOWTRIQ_CHANNEL, flowtriqDeliver({ api, db }), {
    failureThreshold: 3,
    coolOffMs: 300,
    backoffBaseMs: 20,
    backoffMaxMs: 200,
    random: xorshift32(3),
    ...options,
  });
  try {
    await fn({ server, db, outbox, sender });
  } finally {
    await sender.stop();
    db.close();
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
}

function metrics(outbox: Outbox, n: number, path = "/agent/metrics"): void {
  for (let i = 0; i < n; i++) {
    outbox.enqueue({
      channel: FLOWTRIQ_CHANNEL,
      kind: "metrics",
      key: `m${i}`,
      eventUs: Date.now() * 1000,
      body: { op: "post", path, body: { n: i } },
    });
  }
}

const ns = (server: FlowtriqServer) =>
  server.accepted(/^\/agent\/metrics$/).map((r) => (r.body as { n: number }).n);

Deno.test("Sender delivers every entry once and in order after the server was down for a while", async () => {
  await rig(async ({ server, outbox, sender }) => {
    await server.down();
    metrics(outbox, 20);
    assert(await server.waitFor(() => sender.stats().breaker === "open"), "breaker never opened");
    await new Promise((r) => setTimeout(r, 1000));
    assertEquals(server.requests.length, 0);
    server.up();
    assert(await server.waitFor(() => ns(server).length === 20), `got ${ns(server)}`);
    assertEquals(ns(server), Array.from({ length: 20 }, (_, i) => i));
    // The server has the 20th request before the sender has read its answer.
    assert(await server.waitFor(() => sender.stats().sent === 20), `sent ${sender.stats().sent}`);
    const s = sender.stats();
    assertEquals([s.sent, s.dead, s.breaker], [20, 0, "closed"]);
    assert(s.failed >= 3, `failed ${s.failed}`);
    assertEquals(outbox.stats().depth, 0);
  });
});

Deno.test("Sender: a failed half-open probe reopens the breaker, a good one closes it", async () => {
  await rig(async ({ server, outbox, sender }) => {
    await server.down();
    metrics(outbox, 1);
    assert(await server.waitFor(() => sender.breaker.opened >= 1));
    // After the cool-off one probe goes, fails (still down) and the breaker opens again.
    assert(await server.waitFor(() => sender.breaker.opened >= 2, 5000), "did not reopen");
    assertEquals(sender.stats().breaker === "closed", false);
    server.up();
    assert(await server.waitFor(() => ns(server).length === 1, 5000));
    assertEquals(sender.stats().breaker, "closed");
  }, { failureThreshold: 2, coolOffMs: 300 });
});

Deno.test("Sender honours 503 Retry-After, capped against a hostile value", async () => {
  await rig(async ({ server, outbox }) => {
    server.mode = { kind: "unavailable", retryAfter: "86400" };
    metrics(outbox, 1);
    assert(await server.waitFor(() => server.requests.length >= 1));
    server.mode = { kind: "ok" };
    assert(await server.waitFor(() => ns(server).length === 1, 10_000), "never delivered");
    const gap = server.requests[1].atMs - server.requests[0].atMs;
    // The backoff alone would retry within 20 ms; the capped Retry-After (1 s) holds it.
    assert(gap >= 900 && gap < 8000, `retried after ${gap} ms`);
  }, { retryAfterCapS: 1, failureThreshold: 100 });
});

Deno.test("Sender moves refused entries (HTTP 4xx) to the dead letters without blocking the lane", async () => {
  await rig(async ({ server, outbox, sender }) => {
    metrics(outbox, 1, "/agent/no-such-endpoint");
    outbox.enqueue({
      channel: FLOWTRIQ_CHANNEL,
      kind: "metrics",
      key: "after",
      eventUs: 0,
      body: { op: "post", path: "/agent/metrics", body: { n: 99 } },
    });
    assert(await server.waitFor(() => ns(server).length === 1));
    assertEquals(ns(server), [99]);
    const dead = outbox.deadLetters();
    assertEquals(dead.length, 1);
    assert(/HTTP 404/.test(dead[0].reason), dead[0].reason);
    assertEquals([sender.stats().dead, sender.stats().breaker], [1, "closed"]);
  });
});

Deno.test("Sender takes garbage answers as delivered and retries 500s", async () => {
  await rig(async ({ server, outbox, sender }) => {
    server.mode = { kind: "status", status: 500 };
    metrics(outbox, 2);
    assert(await server.waitFor(() => server.requests.length >= 2));
    server.mode = { kind: "garbage" };
    assert(await server.waitFor(() => ns(server).length === 2));
    assertEquals(ns(server), [0, 1]);
    assertEquals(sender.stats().sent, 2);
    assertEquals(outbox.stats().depth, 0);
  });
});

Deno.test("Sender: slow answers never block the caller, time out and are retried, and stop() aborts", async () => {
  await rig(async ({ server, outbox, sender }) => {
    server.mode = { kind: "slow", delayMs: 30_000 };
    const t = performance.now();
    metrics(outbox, 200);
    const enqueueMs = performance.now() - t;
    assert(await server.waitFor(() => sender.stats().failed >= 1, 10_000), "no timeout");
    assertEquals(ns(server).length, 0);
    // Enqueueing (200 entries) returned long before any answer.
    assert(enqueueMs < 5000, `enqueue took ${enqueueMs} ms`);
    server.mode = { kind: "slow", delayMs: 50 };
    assert(await server.waitFor(() => ns(server).length >= 3, 15_000));
    server.mode = { kind: "slow", delayMs: 30_000 };
    const s = performance.now();
    await sender.stop();
    assert(performance.now() - s < 5000, "stop() waited for the slow answer");
    const got = ns(server);
    assertEquals(got, Array.from({ length: got.length }, (_, i) => i));
  }, { timeoutMs: 400 });
});
