// A local HTTP receiver (Deno.serve on 127.0.0.1, port 0) that records every request and
// answers from a script, for webhook and alert tests.

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: Headers;
  raw: string;
  json: Record<string, unknown>;
}

/** What to answer: status, optional headers and body. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A running receiver. */
export class Receiver {
  readonly received: Received[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #script: Answer[];
  readonly #fallback: Answer;

  /** Answers the requests from `script` in order, then `fallback` (default 200 "ok"); listens on `port` (0: any). */
  constructor(script: Answer[] = [], fallback: Answer = { status: 200, body: "ok" }, port = 0) {
    this.#script = [...script];
    this.#fallback = fallback;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      async (req) => {
        const raw = await req.text();
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(raw);
        } catch {
          // recorded raw
        }
        this.received.push({ path: new URL(req.url).pathname, headers: req.headers, raw, json });
        const answer = this.#script.shift() ?? this.#fallback;
        return new Response(answer.body ?? null, {
          status: answer.status,
          headers: answer.headers,
        });
      },
    );
  }

  /** Base URL of the receiver. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Waits until `n` requests arrived (throws after `timeoutMs`). */
  async waitFor(n: number, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (Date.now() > until) {
        throw new Error(`receiver got ${this.received.length} requests, expected ${n}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
