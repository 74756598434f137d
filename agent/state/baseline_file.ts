/**
 * A learned baseline kept in a file of `state_dir` while the agent runs: restored at start
 * (unless missing, corrupt or stale), saved every minute and at the end, so a restart does not
 * start cold. Failures are logged, never thrown: detection goes on without the file.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Baseline, BaselineOptions } from "../../core/detect/mod.ts";
import { loadBaseline, saveBaseline } from "./baseline_store.ts";

/** Wall-clock period (ms) of the saves while running. */
const BASELINE_SAVE_MS = 60_000;

/** One baseline's file: {@linkcode restore}, then {@linkcode keep}, then {@linkcode close}. */
export class BaselineFile {
  /** The file's path. */
  readonly path: string;
  readonly #what: string;
  readonly #log: Logger;
  #baseline: Baseline | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** The baseline file at `path`; `what` names it in log lines ("baseline", "L7 baseline"). */
  constructor(path: string, what: string, log: Logger) {
    this.path = path;
    this.#what = what;
    this.#log = log;
  }

  /** The saved baseline when it is usable for `options`, else null (the reason is logged). */
  async restore(options: BaselineOptions): Promise<Baseline | null> {
    const restored = await loadBaseline(this.path, options, Date.now() / 1000);
    if (restored.baseline) {
      this.#log.info("{what} restored from {path}", { what: this.#what, path: this.path });
    } else {
      this.#log.info("starting with a new {what}: {reason}", {
        what: this.#what,
        reason: restored.reason ?? "",
      });
    }
    return restored.baseline;
  }

  /** Saves `baseline` every {@linkcode BASELINE_SAVE_MS} from now on. */
  keep(baseline: Baseline): void {
    this.#baseline = baseline;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.save(), BASELINE_SAVE_MS);
  }

  /** Saves the kept baseline now (atomically); a failure is logged. */
  async save(): Promise<void> {
    if (this.#baseline === null) return;
    try {
      await saveBaseline(this.path, this.#baseline, Date.now() / 1000);
    } catch (err) {
      this.#log.error("cannot save the {what} to {path}: {error}", {
        what: this.#what,
        path: this.path,
        error: String(err),
      });
    }
  }

  /** Stops the periodic saves and saves one last time. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.save();
  }
}
