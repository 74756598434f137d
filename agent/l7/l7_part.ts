/**
 * The L7 part as the agent runs it: an {@linkcode L7Runtime} running while the merged config
 * (the server's `l7` over the config file) says `l7_enabled`; started, stopped or restarted
 * when that or `l7_log_paths` changes (a stop resolves an open L7 incident); thresholds and
 * sensitivity apply in place. Starts and stops run one after the other, off the caller's path.
 *
 * @module
 */

import type { Config } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import type { L7Link } from "../report/mod.ts";
import { type L7Options, L7Runtime } from "./l7_runtime.ts";

/** Keeps L7 running, or not, as the merged config says. */
export class L7Part implements L7Link {
  readonly #opts: L7Options;
  #runtime: L7Runtime | null = null;
  #latest: Config;
  /** What the running (or last tried) runtime was started for: "off" or its log paths. */
  #key = "";
  #status = "off";
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  #l3l4Open = new Set<string>();

  private constructor(opts: L7Options) {
    this.#opts = opts;
    this.#latest = opts.config;
  }

  /** Starts the part (and L7 itself when `config.l7_enabled`). */
  static async start(opts: L7Options): Promise<L7Part> {
    const part = new L7Part(opts);
    part.configure(opts.config);
    await part.#chain;
    return part;
  }

  /** The running L7 runtime, null while L7 is off or has no log. */
  get runtime(): L7Runtime | null {
    return this.#runtime;
  }

  /** Applies a merged config: in place, or by starting, restarting or stopping L7. */
  configure(merged: Config): void {
    this.#latest = merged;
    this.#runtime?.configure(merged);
    const key = merged.l7_enabled ? JSON.stringify(merged.l7_log_paths) : "off";
    if (key === this.#key || this.#stopped) return;
    this.#key = key;
    this.#chain = this.#chain.then(() => this.#switch(key)).catch((err) => {
      this.#status = `error: ${(err as Error).message}`;
      this.#opts.log.error("L7 could not start: {error}", { error: String(err) });
    });
  }

  /** Running or not, and "tailing <paths>", "no_log", "off" or the start error. */
  status(): { enabled: boolean; status: string } {
    if (this.#runtime !== null) return { enabled: true, status: this.#runtime.status() };
    return { enabled: false, status: this.#status };
  }

  /** A listener for every incident event: an L3/L4 incident open marks L7 events correlated. */
  observe(event: IncidentEvent): void {
    if (event.attack_family === "http_flood") return;
    if (event.event === "resolve") this.#l3l4Open.delete(event.id);
    else this.#l3l4Open.add(event.id);
    this.#runtime?.detector.setL3L4Open(this.#l3l4Open.size > 0);
  }

  /** Stops L7 (resolving an open L7 incident) and any later start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain;
    await this.#stopRuntime();
  }

  async #switch(key: string): Promise<void> {
    // A later change or stop supersedes this one.
    if (this.#stopped || key !== this.#key) return;
    const { log } = this.#opts;
    const config = this.#latest;
    if (this.#runtime !== null) {
      log.info("L7 detection stops: {why}", {
        why: config.l7_enabled ? "l7_log_paths changed, restarting" : "l7_enabled is off",
      });
      await this.#stopRuntime();
    }
    this.#status = "off";
    if (!config.l7_enabled) return;
    this.#runtime = await L7Runtime.start({ ...this.#opts, config });
    if (this.#runtime === null) this.#status = "no_log";
    else this.#runtime.detector.setL3L4Open(this.#l3l4Open.size > 0);
  }

  async #stopRuntime(): Promise<void> {
    const runtime = this.#runtime;
    this.#runtime = null;
    await runtime?.stop();
  }
}
