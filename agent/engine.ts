/**
 * The one assembly every command runs packets through (`ftagent`, `--pcap`, `capture`,
 * `replay`): a source feeding the pipeline (decode, windows) and the detector, optionally
 * teed to the PCAP recorder, with the learned baseline kept in `state_dir` for live runs.
 * Signals, timers and timings live here once:
 *
 * - SIGINT and SIGTERM stop reading (the run returns; open incidents resolve at
 *   {@linkcode Engine.finish}); SIGHUP calls the run's `onReload`.
 * - Windows of a live source close {@linkcode LATE_PACKETS_US} after their second ends on the
 *   wall clock, so packets still in a kernel block land in their own second.
 * - The baseline is restored at start (unless missing or stale) and saved every minute and at
 *   the end (`BaselineFile`).
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { Detector, type HeldNotice, type IncidentEvent } from "../core/detect/mod.ts";
import type { PacketSink } from "../core/packet/mod.ts";
import { annotateIncident, type IocPatternSpec, PayloadInspector } from "../core/payload/mod.ts";
import { Pipeline, type Window } from "../core/traffic/mod.ts";
import type { CaptureSource } from "./capture/mod.ts";
import { type PcapRecorder, RecordingSink } from "./evidence/mod.ts";
import { BaselineFile } from "./state/mod.ts";

/** Windows close this long after their second ends: packets still in a kernel block land in it. */
const LATE_PACKETS_US = 250_000;
/** Period (ms) of the event-loop lag probe, when a run measures it. */
const LAG_PERIOD_MS = 20;
/** Period (ms) of re-reading a live interface's addresses. */
export const REFRESH_LOCAL_MS = 60_000;

/** What an {@linkcode Engine} is opened with. */
export interface EngineOptions {
  /** Thresholds, floors, timings, `state_dir`, `node_uuid`. */
  config: Config;
  /** Every incident event, on the capture path: keep it short (queue, print). */
  onEvent: (event: IncidentEvent) => void;
  /** Suspected targets held back because their traffic looked legitimate (replay prints them). */
  onHeld?: (notice: HeldNotice) => void;
  /**
   * With a logger, a live run: the baseline is restored from `state_dir/baseline.json`, saved
   * every minute and at {@linkcode Engine.finish}, and incident ids are seeded with the node and
   * the start time. Without, a replay: a fresh baseline, never saved, and the same ids for the
   * same capture.
   */
  log?: Logger;
  /**
   * One line about the traffic (the first frame whose time cannot be a date); without it, the
   * logger's warning (none without a logger either).
   */
  onWarning?: (message: string) => void;
}

/** How {@linkcode Engine.run} reads its source. */
export interface EngineRunOptions {
  /** File sources: at the recorded pace instead of as fast as possible. */
  paced?: boolean;
  /** Stop after this many seconds of wall time. */
  durationSeconds?: number;
  /** Each turn of a live source's loop, with its clock (µs). */
  onTick?: (nowUs: number) => void;
  /** SIGHUP was received. */
  onReload?: () => void;
  /** Measure the event loop's largest stall ({@linkcode Engine.maxLoopLagMs}). */
  measureLag?: boolean;
  /**
   * The protected addresses when the config names none (a live interface's own): read at the
   * start and every {@linkcode REFRESH_LOCAL_MS}, since addresses come and go.
   */
  localAddresses?: () => string[];
}

/** Source -> pipeline + detector (+ PCAP recorder), and the run loop around them. */
export class Engine {
  /** The detector (status, baseline, reloads). */
  readonly detector: Detector;
  /** The pipeline (packet counters, the decoded packet). */
  readonly pipeline: Pipeline;
  /** The payload inspector (indicator patterns, amplification signatures). */
  readonly payload: PayloadInspector;
  /** The largest event-loop stall seen by runs with `measureLag` (ms). */
  maxLoopLagMs = 0;
  readonly #baseline: BaselineFile | null;
  readonly #windowListeners: ((window: Window) => void)[] = [];
  /** Whether the config names the protected addresses (else a live run reads them). */
  #configured = false;
  #sink: PacketSink;
  readonly #iocPatterns: Record<"local" | "server", readonly IocPatternSpec[]>;

  private constructor(
    detector: Detector,
    baseline: BaselineFile | null,
    options: EngineOptions,
    payload: PayloadInspector,
  ) {
    this.detector = detector;
    this.payload = payload;
    this.#iocPatterns = { local: options.config.ioc_patterns, server: [] };
    this.#baseline = baseline;
    const listeners = this.#windowListeners;
    const warn = options.onWarning ?? ((message: string) => options.log?.warn(message));
    this.pipeline = new Pipeline((window) => {
      for (let i = 0; i < listeners.length; i++) listeners[i](window);
    }, { detector, inspector: payload, onBadTime: (tsUs) => warn(badTimeMessage(tsUs)) });
    this.#sink = this.pipeline;
  }

  /**
   * Sets the protected addresses (`protected_networks`, validated by the config); an empty
   * list keeps those a live run reads from its interface.
   */
  protect(networks: readonly string[]): void {
    this.#configured = networks.length > 0;
    if (this.#configured) this.pipeline.local.set(networks);
  }

  /**
   * Opens the detection for `options.config`: with `options.log`, the baseline restored from
   * `state_dir` and kept there.
   *
   * @example Replay a capture file and print its incidents
   * ```ts
   * import { defaultConfig } from "../core/config/mod.ts";
   * import { FileSource } from "./capture/mod.ts";
   * import { Engine } from "./engine.ts";
   *
   * const engine = await Engine.open({
   *   config: defaultConfig(),
   *   onEvent: (event) => console.log(JSON.stringify(event)),
   * });
   * const source = new FileSource("attack.pcap");
   * try {
   *   await engine.run(source);
   * } finally {
   *   source.close();
   * }
   * await engine.finish();
   * ```
   */
  static async open(options: EngineOptions): Promise<Engine> {
    const { config, log } = options;
    const payload = new PayloadInspector();
    const warn = options.onWarning ?? ((message: string) => options.log?.warn(message));
    for (const line of payload.setPatterns(config.ioc_patterns) ?? []) warn(line);
    // Every incident event carries the payload findings of its target (a fault there loses
    // nothing: the event goes on as the detector made it).
    let made: Engine | null = null;
    const onEvent = (event: IncidentEvent) => {
      sampledEvent(event, made?.pipeline.sampleRate ?? 1);
      try {
        annotateIncident(payload, event);
      } catch (e) {
        options.log?.warn("payload findings of {id} left out: {error}", {
          id: event.id,
          error: String(e),
        });
      }
      options.onEvent(event);
    };
    if (log === undefined) {
      const detector = new Detector(config, {
        onEvent,
        onHeld: options.onHeld,
      });
      const engine = made = new Engine(detector, null, options, payload);
      engine.protect(protectedOf(config));
      return engine;
    }
    const utcOffsetMinutes = -new Date().getTimezoneOffset();
    const file = new BaselineFile(`${config.state_dir}/baseline.json`, "baseline", log);
    const restored = await file.restore({
      windowMinutes: config.baseline_window_minutes,
      utcOffsetMinutes,
    });
    const detector = new Detector(config, {
      baseline: restored ?? undefined,
      idSeed: `${config.node_uuid}|${Date.now()}`,
      utcOffsetMinutes,
      onEvent,
      onHeld: options.onHeld,
    });
    file.keep(detector.baseline);
    const engine = made = new Engine(detector, file, options, payload);
    engine.protect(protectedOf(config));
    return engine;
  }

  /**
   * The indicator patterns of the local config (`local`: start, reload) or of the server's
   * config (`server`: each response); both are used, the first 1000 of them.
   * Returns null when the set in use stays, else the number in use and one line per pattern
   * left out.
   */
  iocPatterns(
    from: "local" | "server",
    patterns: readonly IocPatternSpec[],
  ): { inUse: number; refused: string[] } | null {
    this.#iocPatterns[from] = patterns;
    const refused = this.payload.setPatterns([
      ...this.#iocPatterns.local,
      ...this.#iocPatterns.server,
    ]);
    return refused === null ? null : { inUse: this.payload.patterns, refused };
  }

  /** Hands each closed per-second window to `listener` too (reused afterwards: read it then). */
  onWindow(listener: (window: Window) => void): void {
    this.#windowListeners.push(listener);
  }

  /** Tees every frame to `recorder` too (its pre-attack ring and incident captures). */
  record(recorder: PcapRecorder): void {
    this.#sink = new RecordingSink(this.pipeline, recorder);
  }

  /**
   * Reads `source` until it ends, a stop signal arrives or the duration passes. Open incidents
   * stay open: {@linkcode finish} resolves them. Throws what the source throws (a cut file),
   * after the signals and timers are gone.
   */
  async run(source: CaptureSource, options: EngineRunOptions = {}): Promise<void> {
    const stop = new AbortController();
    const onStop = () => stop.abort();
    const onReload = options.onReload;
    Deno.addSignalListener("SIGINT", onStop);
    Deno.addSignalListener("SIGTERM", onStop);
    if (onReload) Deno.addSignalListener("SIGHUP", onReload);
    const timers: ReturnType<typeof setInterval>[] = [];
    if (options.durationSeconds !== undefined) {
      timers.push(setTimeout(onStop, options.durationSeconds * 1000));
    }
    if (options.measureLag) timers.push(this.#lagProbe());
    const localAddresses = options.localAddresses;
    if (localAddresses !== undefined) {
      // An interface read with no address (down, or unreadable) keeps the last ones known.
      const refresh = () => {
        const found = this.#configured ? [] : localAddresses();
        if (found.length > 0) this.pipeline.local.set(found);
      };
      refresh();
      timers.push(setInterval(refresh, REFRESH_LOCAL_MS));
    }
    const pipeline = this.pipeline;
    const onTick = options.onTick;
    try {
      await source.run(this.#sink, {
        signal: stop.signal,
        paced: options.paced,
        onTick: (nowUs) => {
          onTick?.(nowUs);
          pipeline.advance(nowUs - LATE_PACKETS_US);
        },
      });
    } finally {
      for (const timer of timers) clearTimeout(timer);
      Deno.removeSignalListener("SIGINT", onStop);
      Deno.removeSignalListener("SIGTERM", onStop);
      if (onReload) Deno.removeSignalListener("SIGHUP", onReload);
    }
  }

  /**
   * End of the traffic: closes the last window, resolves open incidents, saves the baseline
   * (also when resolving threw; that error is thrown after the save).
   */
  async finish(): Promise<void> {
    try {
      this.pipeline.flush();
    } finally {
      await this.#baseline?.close();
    }
  }

  /** Starts the probe that measures how late a short timer fires (a blocked loop shows). */
  #lagProbe(): ReturnType<typeof setInterval> {
    let last = performance.now();
    return setInterval(() => {
      const now = performance.now();
      this.maxLoopLagMs = Math.max(this.maxLoopLagMs, Math.round(now - last - LAG_PERIOD_MS));
      last = now;
    }, LAG_PERIOD_MS);
  }
}

/** The protected addresses of `config`: `mirror_subnets` in mirror mode. */
export function protectedOf(config: Config): readonly string[] {
  return config.mirror_mode ? config.mirror_subnets : config.protected_networks;
}

/**
 * Under kernel sampling, counts are estimates from 1 in N packets: the incident's evidence says
 * so (`capture_sample_rate`, the highest rate seen while it was open, and its summary), as its
 * PCAP holds only the sampled frames.
 */
function sampledEvent(event: IncidentEvent, rate: number): void {
  const evidence = event.evidence as { summary?: string; capture_sample_rate?: number } | null;
  if (rate <= 1 || evidence === null || typeof evidence !== "object") return;
  if (!(Number(evidence.capture_sample_rate) >= rate)) {
    evidence.summary = `${evidence.summary ?? ""}; counted from kernel sampling, 1 in ${rate}`;
    evidence.capture_sample_rate = rate;
  }
}

/** The one line about frames whose time cannot be a date. */
function badTimeMessage(tsUs: number): string {
  return `a frame with timestamp ${tsUs} µs (not a time from 1970 to 2100) was ignored and ` +
    "counted as malformed; later ones are only counted";
}
