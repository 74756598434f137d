import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import type { RemoteConfig } from "../../../core/report/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import {
  alertDeliver,
  FlowtriqApi,
  MAX_ANSWER_BYTES,
  RemoteControl,
} from "../../../agent/report/mod.ts";
import { openStateDb, Outbox } from "../../../agent/state/mod.ts";

/** How the hostile stand-in answers `GET /agent/config`. */
type Answer = "endless" | "declared100MB" | "chunked100MB" | "normal";

/**
 * A real HTTP stand-in whose config answers are hostile: an endless stream, 100 MB declared in
 * `Content-Length`, or 100 MB streamed without a length; each stream ends when the client
 * cancels it (counted), so the test also sees that the agent hangs up.
 */
class HostileServer {
  answers: Answer[] = [];
  /** Bytes the server managed to hand out, and streams the client cancelled. */
  sent = 0;
  cancelled = 0;
  served = 0;
  readonly #server: Deno.HttpServer;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const path = new URL(req.url).pathname;
      // An alert receiver (Slack-like hook) failing with an endless error page.
      const hook = path === "/hook";
      if (path !== "/api/v1/agent/config" && !hook) return new Response("{}", { status: 404 });
      this.served++;
      const kind = hook ? "endless" : this.answers.shift() ?? "normal";
      if (kind === "normal") {
        return Response.json({ pps_threshold: 5000, attack_cooldown: 20 });
      }
      const total = kind === "endless" ? Infinity : 100 * 1024 * 1024;
      const chunk = new Uint8Array(64 * 1024).fill(0x20); // spaces: valid JSON padding
      chunk[0] = 0x7b; // "{" opens an object that never closes
      let given = 0;
      const body = new ReadableStream<Uint8Array>({
        pull: (ctl) => {
          if (given >= total) return ctl.close();
          given += chunk.length;
          this.sent += chunk.length;
          ctl.enqueue(chunk); // one buffer reused: the server itself allocates nothing per chunk
        },
        cancel: () => {
          this.cancelled++;
        },
      }, { highWaterMark: 1 });
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (kind === "declared100MB") headers["content-length"] = String(total);
      return new Response(body, { headers, status: hook ? 500 : 200 });
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.#server.addr as Deno.NetAddr).port}`;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.#server.addr as Deno.NetAddr).port}/api/v1`;
  }

  async down(): Promise<void> {
    await this.#server.shutdown();
  }
}

function api(server: HostileServer, warnings: string[]): FlowtriqApi {
  return new FlowtriqApi({
    apiBase: server.base,
    apiKey: "k",
    nodeUuid: "00000000-0000-4000-8000-000000000001",
    version: "test",
    timeoutMs: 20_000,
    onWarn: (m) => warnings.push(m),
  });
}

const mb = (n: number) => Math.round(n / 1024 / 1024);

Deno.test("FlowtriqApi discards an endless or 100 MB answer past 1 MiB, warns once per endpoint, and memory stays bounded", async () => {
  const server = new HostileServer();
  const warnings: string[] = [];
  const client = api(server, warnings);
  try {
    // Warm up (the first fetch loads the HTTP client) before measuring.
    assert((await client.getConfig()).ok);
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const kinds: Answer[] = ["endless", "declared100MB", "chunked100MB"];
    for (let round = 0; round < 3; round++) {
      for (const kind of kinds) {
        server.answers.push(kind);
        const r = await client.getConfig();
        peak = Math.max(peak, Deno.memoryUsage().rss);
        assert(!r.ok, `${kind} was accepted`);
        assertEquals(r.permanent, false);
        assertMatch(r.error, /^GET \/agent\/config: HTTP 200 answer larger than 1 MiB/);
        assert(!r.error.includes("\n"));
      }
    }
    const after = Deno.memoryUsage().rss;
    console.log(
      `RSS before ${mb(before)} MiB, peak ${mb(peak)} MiB, after ${mb(after)} MiB; ` +
        `server handed out ${mb(server.sent)} MiB over 9 answers of 100 MB or more`,
    );
    // Nine answers of 100 MB or endless: each read stops at the cap (the 100 MB ones would
    // have cost 900 MB; one of them took 53 -> 444 MiB before the cap). 128 MiB is a
    // generous bound against allocator and test-runner noise on a small box.
    assert(peak - before < 128 * 1024 * 1024, `RSS grew by ${mb(peak - before)} MiB`);
    // The cap holds at the client: the server gets to hand out little more than the cap plus
    // its socket buffers, far from the 100 MB it offered each time.
    assert(server.sent < 9 * (MAX_ANSWER_BYTES + 8 * 1024 * 1024), `sent ${mb(server.sent)} MiB`);
    // One warning for the endpoint, not one per request; the failures are counted.
    assertEquals(warnings.length, 1);
    assertMatch(warnings[0], /^GET \/agent\/config: an answer larger than 1 MiB was discarded/);
    assertEquals([client.errors, client.oversized], [9, 9]);
    // The next normal answer is used.
    const ok = await client.getConfig();
    assert(ok.ok);
    assertEquals(ok.body, { pps_threshold: 5000, attack_cooldown: 20 });
  } finally {
    await server.down();
  }
});

Deno.test("RemoteControl keeps working after an endless config answer: one clear line, then the next normal answer applies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-oversized-" });
  const server = new HostileServer();
  server.answers.push("endless");
  const warnings: string[] = [];
  const seen: RemoteConfig[] = [];
  const db = openStateDb(`${dir}/ftagent.db`);
  const rc = new RemoteControl({
    api: api(server, warnings),
    outbox: new Outbox(db),
    onCommand: () => Promise.resolve({ status: "failed", error: "not supported" }),
    onConfig: (c) => seen.push(c),
    warn: (m) => warnings.push(m),
    info: () => {},
    attackOpen: () => false,
  });
  try {
    const until = Date.now() + 20_000;
    while (warnings.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assertEquals(seen, []);
    assertEquals(warnings.length, 2, warnings.join("|"));
    assertMatch(warnings[0], /GET \/agent\/config: an answer larger than 1 MiB was discarded/);
    assertMatch(warnings[1], /^config fetch failed: GET \/agent\/config: HTTP 200 answer larger/);
    rc.fetchNow();
    while (seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assertEquals(seen, [{ pps_threshold: 5000, attack_cooldown: 20 }]);
    assertEquals(server.served, 2);
  } finally {
    await rc.stop();
    db.close();
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("alertDeliver() reads no more than 64 KiB of a failing receiver's endless answer and retries", async () => {
  const server = new HostileServer();
  try {
    const alerts = parseConfig({ alerts: { slack: { webhook_url: `${server.origin}/hook` } } })
      .config.alerts;
    const deliver = alertDeliver("slack", alerts, { userAgent: "ftagent/test" });
    const before = Deno.memoryUsage().rss;
    const r = await deliver({
      seq: 1,
      attempts: 0,
      channel: "alert:slack",
      kind: "alert",
      key: "a:open",
      eventUs: 0,
      body: { text: "hi" },
    }, new AbortController().signal);
    assertEquals(r, { ok: false, error: "slack: HTTP 500: (answer over 64 KiB, not read)" });
    assert(server.sent < 16 * 1024 * 1024, `sent ${mb(server.sent)} MiB`);
    console.log(`RSS +${mb(Deno.memoryUsage().rss - before)} MiB, ${server.sent} bytes handed out`);
  } finally {
    await server.down();
  }
});
