// A real headless Chromium (Debian `chromium`) driven over its DevTools protocol (a WebSocket):
// navigate, evaluate in the page, take screenshots. `--dump-dom` is not used: it never returns
// on a page that keeps polling or streaming.

/** The browser binary (Debian's `chromium`), or null when it is not installed. */
export function chromiumPath(): string | null {
  for (const path of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return null;
}

/** One page (tab) of the browser. */
export class CdpPage {
  readonly #ws: WebSocket;
  #next = 1;
  readonly #waiting = new Map<number, (message: Record<string, unknown>) => void>();
  readonly #events: { method: string; resolve: () => void }[] = [];
  readonly #closed: Promise<void>;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.addEventListener("close", () => resolve()));
    ws.addEventListener("message", (e) => {
      const message = JSON.parse(e.data as string);
      if (typeof message.id === "number") {
        this.#waiting.get(message.id)?.(message);
        this.#waiting.delete(message.id);
      } else {
        for (const w of this.#events.filter((x) => x.method === message.method)) {
          this.#events.splice(this.#events.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  /** Connects to a page's DevTools WebSocket. */
  static async connect(url: string): Promise<CdpPage> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot reach ${url}`)), { once: true });
    });
    return new CdpPage(ws);
  }

  /** Sends one command; resolves with its result (throws its error). */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, (m) => {
        if (m.error) reject(new Error(`${method}: ${JSON.stringify(m.error)}`));
        else resolve(m.result as Record<string, unknown>);
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Resolves at the next event named `method`. */
  once(method: string): Promise<void> {
    return new Promise((resolve) => this.#events.push({ method, resolve }));
  }

  /** Opens `url` and waits for its load event. */
  async navigate(url: string): Promise<void> {
    await this.send("Page.enable");
    const loaded = this.once("Page.loadEventFired");
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /** The JSON value of `expression` evaluated in the page (promises awaited). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (r.exceptionDetails) throw new Error(`page threw: ${JSON.stringify(r.exceptionDetails)}`);
    return (r.result as { value: T }).value;
  }

  /** Waits until `expression` is truthy in the page (polled every 200 ms, up to `ms`). */
  async waitFor(expression: string, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await this.evaluate<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > end) throw new Error(`the page never showed: ${expression}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A PNG screenshot of the whole page. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    return Uint8Array.from(atob(r.data as string), (c) => c.charCodeAt(0));
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.#ws.close();
    await this.#closed;
  }
}

/** A headless Chromium process with its own profile directory. */
export class Chromium {
  private constructor(
    readonly child: Deno.ChildProcess,
    readonly profile: string,
    readonly port: number,
  ) {}

  /** Starts the browser (window `width`x`height`) and waits for its DevTools port. */
  static async launch(width = 1280, height = 1000): Promise<Chromium> {
    const binary = chromiumPath();
    if (binary === null) throw new Error("chromium is not installed (apt-get install chromium)");
    const profile = await Deno.makeTempDir({ prefix: "fta-chromium-" });
    const child = new Deno.Command(binary, {
      args: [
        "--headless=new",
        "--no-sandbox", // tests run as root
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Chromium writes the port it picked to DevToolsActivePort in the profile.
    for (let i = 0; i < 300; i++) {
      try {
        const port = Number(
          (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n")[0],
        );
        if (port > 0) return new Chromium(child, profile, port);
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(profile, { recursive: true });
    throw new Error("chromium did not open its DevTools port within 30 s");
  }

  /** The first page (tab). */
  async page(): Promise<CdpPage> {
    const list = await (await fetch(`http://127.0.0.1:${this.port}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = list.find((t) => t.type === "page");
    if (!page) throw new Error("chromium has no page");
    return await CdpPage.connect(page.webSocketDebuggerUrl);
  }

  /** Stops the browser and deletes its profile. */
  async close(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.child.status;
    // Its helpers may still write to the profile for a moment after the browser exits.
    for (let i = 0; i < 20; i++) {
      try {
        await Deno.remove(this.profile, { recursive: true });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
