/**
 * Test fixture: a {@linkcode MitigatorProcess} runs tests/support/mitigator_driver.ts inside a
 * network namespace (a real Mitigator with real nft/iptables, or plain TCP endpoints) and sends
 * it one request at a time.
 *
 * @module
 */

import type { NetnsPair } from "./netns.ts";

const DRIVER = new URL("./mitigator_driver.ts", import.meta.url).pathname;

/** One driver process in one namespace. */
export class MitigatorProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncGenerator<string>;
  readonly #stderr: Promise<string>;
  #closed = false;

  /** Starts the driver in namespace `ns` of `pair`. */
  constructor(pair: NetnsPair, ns: string) {
    this.#child = pair.spawn(ns, [Deno.execPath(), "run", "-A", DRIVER]);
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = readLines(this.#child.stdout);
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /** Sends a request; returns its result, throws with the driver's error. */
  async call(op: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    const answer = await this.try(op, fields);
    if (!answer.ok) throw new Error(`${op}: ${answer.error}`);
    return answer.result;
  }

  /** Sends a request; returns the answer whether it failed or not. */
  async try(
    op: string,
    fields: Record<string, unknown> = {},
  ): Promise<{ ok: boolean; result?: unknown; error?: string }> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ op, ...fields }) + "\n"));
    const next = await this.#lines.next();
    if (next.done) throw new Error(`driver exited: ${await this.#stderr}`);
    return JSON.parse(next.value);
  }

  /** Ends the driver (without stopping its mitigator: that is a request of its own). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.write(new TextEncoder().encode('{"op":"exit"}\n')).catch(() => {});
    await this.#writer.close().catch(() => {});
    for await (const _ of this.#lines) { /* drain */ }
    await this.#stderr;
    await this.#child.status;
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}
