/**
 * `ftagent top` at work: polls the running agent's `/dashboard.json` every second (only the new
 * history samples), keeps the last 15 minutes, and redraws the terminal (alternate screen) with
 * {@linkcode topScreen} until `q` (or Ctrl-C, SIGINT, SIGTERM); the terminal is restored on
 * the way out. When the agent stops answering the last screen stays, with the reason on top.
 *
 * @module
 */

import { type DashboardData, emptySeries, mergeSeries, topScreen } from "../../core/report/mod.ts";

/** How `top` runs. */
export interface TopOptions {
  /** The agent's endpoint, e.g. `http://127.0.0.1:9847`. */
  baseUrl: string;
  /** Request headers (the dashboard token's). */
  headers: Record<string, string>;
  /** ANSI colour. */
  color: boolean;
  /** Milliseconds between refreshes (default 1000). */
  intervalMs?: number;
  /** Print one screen (80x24 unless a terminal says otherwise) and return. */
  once?: boolean;
}

const REQUEST_MS = 3000;
const ENTER = "\x1b[?1049h\x1b[?25l";
const LEAVE = "\x1b[?25h\x1b[?1049l";

/** Runs `top` until `q`; returns the exit code (1: `once` and the agent did not answer). */
export async function runTop(opts: TopOptions): Promise<number> {
  const poller = new Poller(opts.baseUrl, opts.headers);
  const encoder = new TextEncoder();
  const out = (s: string) => Deno.stdout.writeSync(encoder.encode(s));
  const size = () => {
    try {
      const { columns, rows } = Deno.consoleSize();
      return { width: columns, height: rows };
    } catch {
      return { width: 80, height: 24 };
    }
  };
  if (opts.once) {
    await poller.poll();
    if (poller.data === null) {
      throw new Error(
        `no agent answering on ${opts.baseUrl} (${poller.problem}): is ftagent running?`,
      );
    }
    out(topScreen(poller.data, { ...size(), color: opts.color }).join("\n") + "\n");
    return 0;
  }

  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let done = false;
  const quit = () => {
    done = true;
    stop();
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, quit);
  const raw = Deno.stdin.isTerminal();
  if (raw) Deno.stdin.setRaw(true);
  out(ENTER);
  // Never awaited: a signal may end the view while a read waits (the process exits next).
  readKeys(quit, () => done);
  try {
    while (!done) {
      await poller.poll();
      const { width, height } = size();
      const screen = poller.data === null
        ? [`ftagent top: ${poller.problem ?? "connecting"}`, "", "q quit"]
        : topScreen(poller.data, { width, height, color: opts.color, problem: poller.problem });
      out("\x1b[H" + screen.join("\x1b[K\r\n") + "\x1b[K\x1b[J");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stopped,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.intervalMs ?? 1000))),
      ]);
      clearTimeout(timer);
    }
  } finally {
    out(LEAVE);
    if (raw) Deno.stdin.setRaw(false);
    for (const s of signals) Deno.removeSignalListener(s, quit);
  }
  return 0;
}

// Reads key presses until `q`, Ctrl-C or the end of input.
async function readKeys(quit: () => void, done: () => boolean): Promise<void> {
  const buffer = new Uint8Array(64);
  while (!done()) {
    const n = await Deno.stdin.read(buffer).catch(() => null);
    if (n === null) {
      if (!Deno.stdin.isTerminal()) return; // input ended (a pipe): q or a signal still quits
      continue;
    }
    for (const byte of buffer.subarray(0, n)) {
      if (byte === 0x71 || byte === 0x51 || byte === 0x03) return quit(); // q, Q, Ctrl-C
    }
  }
}

/** The document, kept current by one request per poll. */
class Poller {
  data: DashboardData | null = null;
  problem: string | null = null;
  readonly #url: string;
  readonly #headers: HeadersInit;
  #history = emptySeries();

  constructor(baseUrl: string, headers: HeadersInit) {
    this.#url = `${baseUrl}/dashboard.json`;
    this.#headers = headers;
  }

  async poll(): Promise<void> {
    const since = this.#history.t.at(-1) ?? -1;
    try {
      const response = await fetch(`${this.#url}?since=${since}`, {
        headers: this.#headers,
        signal: AbortSignal.timeout(REQUEST_MS),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      const data = await response.json() as DashboardData;
      if (typeof data?.history !== "object" || !Array.isArray(data?.targets)) {
        throw new Error("not an ftagent dashboard");
      }
      this.#history = mergeSeries(this.#history, data.history);
      this.data = { ...data, history: this.#history };
      this.problem = null;
    } catch (err) {
      const reason = err instanceof TypeError ? "connection refused" : (err as Error).message;
      this.problem = `agent not answering on ${this.#url}: ${reason}`;
    }
  }
}
