// A real HTTP stand-in for the Flowtriq control plane (Deno.serve on 127.0.0.1): every endpoint
// of ../shared/spec/flowtriq-agent-api.md, each request recorded (method, path, headers,
// body), and the ways a real server misbehaves: down (the port closed), 503 with Retry-After,
// garbage answers, slow answers.

/** One request as the server received it. */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body, or for a PCAP upload what arrived; null when none. */
  body: unknown;
  /** HTTP status answered. */
  status: number;
  atMs: number;
}

/** How the server answers. */
export type Mode =
  | { kind: "ok" }
  | { kind: "unavailable"; retryAfter?: string }
  | { kind: "garbage" }
  | { kind: "slow"; delayMs: number }
  | { kind: "status"; status: number };

/** What a multipart or chunked PCAP upload delivered. */
export interface PcapUpload {
  uuid: string;
  filename: string | null;
  bytes: Uint8Array;
  chunks: number;
  uploadId: string | null;
}

/** The stand-in server. */
export class FlowtriqServer {
  readonly apiKey: string;
  readonly nodeUuid: string;
  /** Address to listen on (another namespace's veth address for agents run in namespaces). */
  hostname = "127.0.0.1";
  port = 0;
  mode: Mode = { kind: "ok" };
  /** The body of GET /agent/config (an object, or a string sent as it is). */
  config: unknown = {};
  /** Commands added to the next config answer (then cleared once acknowledged). */
  commands: unknown[] = [];
  /** The answer to `POST /agent/gre-tunnels` (may list `whitelisted` addresses). */
  greAnswer: unknown = { ok: true };
  /** Commands in every incident create answer (`pending_commands`, when not empty). */
  incidentCommands: unknown[] = [];
  readonly requests: Recorded[] = [];
  readonly uploads: PcapUpload[] = [];
  readonly #chunks = new Map<string, Uint8Array[]>();
  #server: Deno.HttpServer | null = null;
  #incidents = 0;

  constructor(apiKey = "test-key", nodeUuid = "00000000-0000-4000-8000-000000000001") {
    this.apiKey = apiKey;
    this.nodeUuid = nodeUuid;
  }

  /** Base URL to put in `api_base`. */
  get base(): string {
    return `http://${this.hostname}:${this.port}/api/v1`;
  }

  /** Starts listening (on the same port as before after a `down()`). */
  up(): void {
    if (this.#server !== null) return;
    this.#server = Deno.serve(
      { hostname: this.hostname, port: this.port, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.port = (this.#server.addr as Deno.NetAddr).port;
  }

  /** Closes the port: connections are refused until `up()`. */
  async down(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s !== null) await s.shutdown();
  }

  /** Requests answered 2xx, optionally only those whose path matches. */
  accepted(path?: RegExp): Recorded[] {
    return this.requests.filter((r) =>
      r.status >= 200 && r.status < 300 && (path === undefined || path.test(r.path))
    );
  }

  /** Waits until `predicate` holds (checked every 50 ms) or `timeoutMs` passes. */
  async waitFor(predicate: () => boolean, timeoutMs = 20_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const headers = Object.fromEntries(req.headers.entries());
    const rec: Recorded = { method: req.method, path, headers, body: null, status: 0, atMs: 0 };
    const answer = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      rec.status = status;
      rec.atMs = Date.now();
      this.requests.push(rec);
      const text = typeof body === "string" ? body : JSON.stringify(body);
      return new Response(text, {
        status,
        headers: { "content-type": "application/json", ...extra },
      });
    };
    let raw: Uint8Array;
    try {
      raw = new Uint8Array(await req.arrayBuffer());
    } catch {
      return answer(400, { error: "body" });
    }
    const type = req.headers.get("content-type") ?? "";
    if (type.startsWith("application/json") && raw.length > 0) {
      try {
        rec.body = JSON.parse(new TextDecoder().decode(raw));
      } catch {
        return answer(400, { error: "bad json" });
      }
    }
    const mode = this.mode;
    if (mode.kind === "slow") {
      // The wait ends early when the client gives up (so shutting down never hangs).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, mode.delayMs);
        req.signal.addEventListener("abort", done);
        function done() {
          clearTimeout(timer);
          req.signal.removeEventListener("abort", done);
          resolve();
        }
      });
      // The client gave up: nothing reached it (recorded as 499, not accepted).
      if (req.signal.aborted) return answer(499, { error: "client went away" });
    }
    if (mode.kind === "unavailable") {
      return answer(
        503,
        { error: "maintenance" },
        mode.retryAfter === undefined ? {} : { "retry-after": mode.retryAfter },
      );
    }
    if (mode.kind === "status") return answer(mode.status, { error: "refused" });
    if (req.headers.get("authorization") !== `Bearer ${this.apiKey}`) {
      return answer(401, { error: "unauthorized" });
    }
    if (req.headers.get("x-node-uuid") !== this.nodeUuid) return answer(403, { error: "node" });
    const garbage = mode.kind === "garbage";
    const ok = (body: unknown) => answer(200, garbage ? "<html>oops</html>" : body);

    if (req.method === "GET" && path === "/agent/config") {
      if (typeof this.config === "string") return answer(200, this.config);
      if (Array.isArray(this.config)) return answer(200, JSON.stringify(this.config));
      const cfg = { ...(this.config as Record<string, unknown>) };
      if (this.commands.length > 0) cfg.pending_commands = this.commands;
      return ok(cfg);
    }
    if (req.method !== "POST") return answer(405, { error: "method" });
    if (!/\/pcap$/.test(path) && !type.startsWith("application/json")) {
      return answer(415, { error: "content type" });
    }
    const simple = [
      "/agent/heartbeat",
      "/agent/metrics",
      "/agent/l7/metrics",
      "/agent/l7/detect",
    ];
    if (simple.includes(path)) return ok({ ok: true });
    if (path === "/agent/gre-tunnels") return ok(this.greAnswer);
    if (path === "/agent/commands/ack") {
      const id = (rec.body as { command_id?: unknown })?.command_id;
      this.commands = this.commands.filter((c) => (c as { id: unknown }).id !== id);
      return ok({ ok: true });
    }
    if (path === "/agent/incidents") {
      const created: Record<string, unknown> = { uuid: `srv-${++this.#incidents}` };
      if (this.incidentCommands.length > 0) created.pending_commands = this.incidentCommands;
      return ok(created);
    }
    let m = /^\/agent\/incidents\/([^/]+)(\/resolve)?$/.exec(path);
    if (m) return ok({ ok: true });
    m = /^\/agent\/incidents\/([^/]+)\/pcap$/.exec(path);
    if (m) return this.#pcap(m[1], req.headers, raw, type, rec, answer);
    return answer(404, { error: "no such endpoint" });
  }

  async #pcap(
    uuid: string,
    headers: Headers,
    raw: Uint8Array,
    type: string,
    rec: Recorded,
    answer: (status: number, body: unknown) => Response,
  ): Promise<Response> {
    if (type.startsWith("multipart/form-data")) {
      const form = await new Response(raw as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": type },
      }).formData();
      const file = form.get("pcap");
      if (!(file instanceof File)) return answer(400, { error: "no pcap field" });
      const bytes = new Uint8Array(await file.arrayBuffer());
      rec.body = { field: "pcap", filename: file.name, size: bytes.length };
      this.uploads.push({ uuid, filename: file.name, bytes, chunks: 1, uploadId: null });
      return answer(200, { ok: true });
    }
    if (type !== "application/octet-stream") return answer(415, { error: "content type" });
    const index = Number(headers.get("x-chunk-index"));
    const total = Number(headers.get("x-chunk-total"));
    const id = headers.get("x-upload-id") ?? "";
    if (!/^[0-9a-f]{16}$/.test(id) || !(index >= 0 && index < total)) {
      return answer(400, { error: "chunk headers" });
    }
    rec.body = { chunk: index, of: total, uploadId: id, size: raw.length };
    const parts = this.#chunks.get(id) ?? [];
    parts[index] = raw;
    this.#chunks.set(id, parts);
    if (parts.filter((p) => p !== undefined).length === total) {
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      this.uploads.push({ uuid, filename: null, bytes, chunks: total, uploadId: id });
      this.#chunks.delete(id);
    }
    return answer(200, { chunk_received: index, of: total });
  }
}
