// The Flowtriq stand-in (tests/support/flowtriq_server.ts) run inside a test network namespace, for an
// agent that runs in another namespace and so cannot reach the test process's 127.0.0.1.
//
// As a program (`ip netns exec NS deno run -A _flowtriq_netns.ts SETUP_JSON`) it serves on the
// setup's address, prints `{"port":N}` and then every request it answered as one JSON line,
// and stops when its stdin closes. {@linkcode FlowtriqInNetns} starts it and collects the lines.
import { FlowtriqServer, type Recorded } from "./flowtriq_server.ts";
import type { NetnsPair } from "./netns.ts";

/** What the server answers. */
export interface NetnsServerSetup {
  /** Address to listen on (a veth address of the namespace the server runs in). */
  hostname: string;
  /** Body of every `GET /agent/config` answer (its `pending_commands` repeat in each one). */
  config: Record<string, unknown>;
  /** `pending_commands` of every incident create answer. */
  incidentCommands: unknown[];
}

/** The stand-in running in a namespace; `requests` fills as it answers. */
export class FlowtriqInNetns {
  readonly apiKey: string;
  readonly nodeUuid: string;
  readonly requests: Recorded[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #setup: NetnsServerSetup;
  readonly #lines: Promise<void>;
  #port = 0;
  #errors = "";

  /** Starts the server in namespace `ns` of `pair`; await {@linkcode ready} next. */
  constructor(pair: NetnsPair, ns: string, setup: NetnsServerSetup) {
    const probe = new FlowtriqServer();
    this.apiKey = probe.apiKey;
    this.nodeUuid = probe.nodeUuid;
    this.#setup = setup;
    this.#child = pair.spawn(ns, [
      Deno.execPath(),
      "run",
      "--allow-all",
      new URL(import.meta.url).pathname,
      JSON.stringify(setup),
    ]);
    this.#lines = this.#read();
  }

  /** Waits until the server listens (or throws with what it printed). */
  async ready(timeoutMs = 20_000): Promise<void> {
    if (!await this.waitFor(() => this.#port > 0, timeoutMs)) {
      throw new Error(`the stand-in server did not start: ${this.#errors}`);
    }
  }

  /** Base URL for the agent's `api_base`. */
  get base(): string {
    return `http://${this.#setup.hostname}:${this.#port}/api/v1`;
  }

  /** Requests answered 2xx whose path matches. */
  accepted(path: RegExp): Recorded[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300 && path.test(r.path));
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

  /** Closes its stdin (the server stops) and waits for the exit. */
  async stop(): Promise<void> {
    await this.#child.stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#lines;
  }

  async #read(): Promise<void> {
    const errors = (async () => {
      for await (const text of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#errors += text;
      }
    })();
    let rest = "";
    for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += text;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const msg = JSON.parse(line);
        if (typeof msg.port === "number") this.#port = msg.port;
        else this.requests.push(msg.request);
      }
    }
    await errors;
  }
}

if (import.meta.main) {
  const setup = JSON.parse(Deno.args[0]) as NetnsServerSetup;
  const server = new FlowtriqServer();
  server.hostname = setup.hostname;
  server.config = setup.config;
  server.incidentCommands = setup.incidentCommands;
  server.up();
  const out = (msg: unknown) => console.log(JSON.stringify(msg));
  out({ port: server.port });
  let sent = 0;
  const pump = setInterval(() => {
    while (sent < server.requests.length) out({ request: server.requests[sent++] });
  }, 20);
  // The test closes stdin to stop the server (and so does its exit).
  for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
  await server.down();
  clearInterval(pump);
  while (sent < server.requests.length) out({ request: server.requests[sent++] });
}
