/**
 * The agent, wired once: the {@linkcode Engine} (pipeline, detector, PCAP tee), and behind
 * bounded listener queues everything that hears incident events: the log, the local incident
 * store, mitigation, the PCAP recorder, reporting (outbox and control plane), alerts, the
 * metrics endpoint's tally and L7 correlation. No part can stall capture.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { DatabaseSync } from "node:sqlite";
import type { Config } from "../core/config/mod.ts";
import type { IncidentEvent } from "../core/detect/mod.ts";
import type { IocPatternSpec } from "../core/payload/mod.ts";
import { LastSecond, RateHistory } from "../core/report/mod.ts";
import {
  applyFlowConfig,
  type CaptureSource,
  FlowSource,
  interfaceAddresses,
} from "./capture/mod.ts";
import { loadConfigFile } from "./config/mod.ts";
import { Engine, protectedOf } from "./engine.ts";
import { GreTunnels } from "./gre.ts";
import { PcapRecorder } from "./evidence/mod.ts";
import { logIncident } from "./incident_log.ts";
import { L7Part } from "./l7/mod.ts";
import { Listeners } from "./listeners.ts";
import { Mitigation } from "./mitigate/mod.ts";
import { dashboardStores, Observability } from "./observe/mod.ts";
import { Alerts, IncidentReports, Reporting } from "./report/mod.ts";
import {
  failFast,
  LocalIncidents,
  MitigationStore,
  openAgentDb,
  stateWriter,
} from "./state/mod.ts";
import { runStopSteps } from "./stop_steps.ts";
import { onForceUpdate } from "./update/mod.ts";
import { VERSION } from "./version.ts";

/** Time the listeners get to empty their queues at stop (ms). */
const FLUSH_MS = 3000;
/** Wall-clock period (ms) of the deletion of expired captures. */
const PRUNE_MS = 3600_000;

/** The parts of a running agent. */
interface Parts {
  log: Logger;
  source: CaptureSource;
  engine: Engine;
  listeners: Listeners;
  db: DatabaseSync;
  incidents: LocalIncidents;
  mitigation: Mitigation;
  recorder: PcapRecorder | null;
  reporting: Reporting;
  observability: Observability;
  l7: L7Part;
  gre: GreTunnels;
}

/** How {@linkcode Agent.run} reads its source. */
export interface AgentRunOptions {
  /** A capture file at its recorded pace (`--pcap` without `--fast`). */
  paced?: boolean;
  /** The config file SIGHUP reloads. */
  configPath: string;
}

/** The running agent; its source is the caller's (open it before, close it after). */
export class Agent {
  readonly #p: Parts;
  readonly #pruner: ReturnType<typeof setInterval> | undefined;

  private constructor(parts: Parts) {
    this.#p = parts;
    const recorder = parts.recorder;
    if (recorder !== null) this.#pruner = setInterval(() => recorder.prune(), PRUNE_MS);
  }

  /**
   * Starts every part for `source`: the state database, the incident store, mitigation (a
   * previous run's leftovers undone first), the engine with the restored baseline, PCAP
   * evidence, reporting, alerts, the metrics endpoint and L7.
   *
   * @example The service: capture on eth0 until SIGTERM
   * ```ts ignore
   * const source = new LiveSource({ device: "eth0" });
   * const agent = await Agent.start(config, log, source);
   * try {
   *   await agent.run({ configPath: "/etc/ftagent/config.json" });
   * } finally {
   *   source.close();
   * }
   * ```
   */
  static async start(config: Config, log: Logger, source: CaptureSource): Promise<Agent> {
    const listeners = new Listeners({
      onError: (name, error) =>
        log.error("listener {name} failed: {error}", { name, error: String(error) }),
      onDrop: (name, dropped) => {
        if ((dropped & (dropped - 1)) === 0) {
          log.warn("listener {name} is behind: {dropped} events dropped", { name, dropped });
        }
      },
    });
    listeners.add({ name: "log", handle: (event) => logIncident(log, event) });
    // The one state database (incidents, outbox, mitigations), closed last.
    const db = await openAgentDb(config.state_dir);
    stateWriter(db, log); // every component's writes, in order, never waiting on disk
    const incidents = new LocalIncidents(db, config, log);
    listeners.add({ name: "incidents", handle: (event) => incidents.record(event) });
    const mitigation = await Mitigation.start(config, db, log);
    listeners.add({
      name: "mitigation",
      // Paused while the server suspends this node (resolves still undo what is in force).
      handle: (event) => reporting.switches.mitigates(event) ? mitigation.handle(event) : undefined,
    });

    // Sources the ip_blocklist lists are flagged before any listener hears of the incident.
    const onEvent = (event: IncidentEvent) =>
      listeners.emit(reporting.switches.blocklist.flag(event));
    const engine = await Engine.open({ config, log, onEvent });
    const lastSecond = new LastSecond();
    engine.onWindow((window) => lastSecond.window(window));
    const history = new RateHistory(); // the dashboard's last 15 minutes
    engine.onWindow((window) => history.window(window));
    // Evidence: every frame also goes to the recorder's pre-attack ring and open captures
    // (flows have no frames: no PCAP evidence).
    const recorder = config.pcap_enabled && !(source instanceof FlowSource)
      ? new PcapRecorder(config, { onWarning: (message) => log.warn(message) })
      : null;
    // Outbox (always) and the control plane (with an account): never on the capture path.
    const flow = source instanceof FlowSource ? source : null;
    let gre: GreTunnels | null = null;
    const reporting = new Reporting({
      config,
      db,
      log,
      version: VERSION,
      greDedup: () => gre?.active ?? false,
      pktSamples: () => engine.payload.inspected,
      detector: engine.detector,
      recorder,
      onCommand: (command) => mitigation.command(command),
      onForceUpdate: (local) => {
        onForceUpdate(local.auto_update, local.state_dir).then(({ level, message }) =>
          log[level](message)
        );
      },
      onIocPatterns: (patterns) => iocPatterns(log, engine, "server", patterns),
      flow,
      onFlowConfig: (merged) => {
        applyFlowConfig(flow, merged, {
          info: (message) => log.info("{message}", { message }),
          warn: (message) => log.warn("{message}", { message }),
        });
      },
    });
    engine.onWindow((window) => reporting.window(window));
    if (recorder !== null) {
      listeners.add({
        name: "pcap",
        handle: (event) => {
          // The server's pcap_enabled can turn new captures off.
          if (event.event !== "open" || reporting.pcapEnabled()) recorder.incident(event);
        },
      });
      const pruned = await recorder.prune();
      if (pruned > 0) {
        log.info("deleted {pruned} captures older than {days} days", {
          pruned,
          days: config.pcap_retention_days,
        });
      }
      engine.record(recorder);
    }
    listeners.add({ name: "report", handle: (event) => reporting.incident(event) });
    const alerts = new Alerts({
      config,
      outlet: reporting,
      log,
      interfaceName: source.name,
      version: VERSION,
    });
    if (alerts.channels.length > 0) {
      listeners.add({ name: "alerts", handle: (event) => alerts.handle(event) });
    }
    const observability = new Observability({
      config,
      log,
      version: VERSION,
      detector: engine.detector,
      pipeline: engine.pipeline,
      lastSecond,
      source,
      listeners,
      recorder,
      reporting,
      state: stateWriter(db),
      flow,
      history,
      ...dashboardStores(incidents.store, new MitigationStore(db)),
      reports: new IncidentReports({
        incidents: incidents.store,
        mitigations: new MitigationStore(db),
        host: config.alerts.host_name !== "" ? config.alerts.host_name : Deno.hostname(),
        version: VERSION,
      }),
    });
    listeners.add({ name: "metrics", handle: (event) => observability.handle(event) });
    // HTTP floods from the web servers' access logs (l7_enabled, here or from the server).
    const l7 = await L7Part.start({
      config,
      log,
      emit: (event) => listeners.emit(event),
      outbox: reporting.outbox,
    });
    listeners.add({ name: "l7", handle: (event) => l7.observe(event) });
    reporting.attachL7(l7);
    // GRE tunnel hosts: the packet inside a tunnel is counted (gre_mode); the server is told.
    gre = await GreTunnels.start({
      config,
      log,
      version: VERSION,
      pipeline: engine.pipeline,
      allow: (cidr, why) => mitigation.allow(cidr, why),
    });
    const tunnels = gre;
    reporting.switches.onGreMode = (mode) => tunnels.mode(mode);
    tunnels.mode(reporting.switches.greMode ?? config.gre_mode); // a mode pushed meanwhile
    // Incidents a killed run left open: resolved towards every listener, then never a wait.
    for (const event of incidents.leftOpen()) listeners.emit(event);
    failFast(db);
    return new Agent({
      log,
      source,
      engine,
      listeners,
      db,
      incidents,
      mitigation,
      recorder,
      reporting,
      observability,
      l7,
      gre,
    });
  }

  /**
   * Reads the source until it ends (a file) or SIGINT/SIGTERM (live), reloading the config
   * from `configPath` on SIGHUP, then stops every part. Throws what the source throws, after
   * the stop.
   */
  async run(options: AgentRunOptions): Promise<void> {
    try {
      await this.#p.engine.run(this.#p.source, {
        paced: options.paced,
        onTick: () => this.#p.observability.tick(),
        localAddresses: () => interfaceAddresses(this.#p.source.name),
        onReload: () => this.reloadFrom(options.configPath),
      });
    } finally {
      await this.stop();
    }
  }

  /** SIGHUP: applies a new config; returns the keys that change only at the next start. */
  reload(config: Config): string[] {
    const later = this.#p.engine.detector.configure(config);
    iocPatterns(this.#p.log, this.#p.engine, "local", config.ioc_patterns);
    this.#p.engine.protect(protectedOf(config));
    this.#p.reporting.reconfigure(config); // also hands L7 the merged config
    return later;
  }

  /** Reloads the config file at `path`; a bad one is logged and the running one kept. */
  async reloadFrom(path: string): Promise<void> {
    const { log } = this.#p;
    try {
      const next = await loadConfigFile(path);
      for (const warning of next.warnings) log.warn(warning);
      const later = this.reload(next.config);
      log.info("config reloaded from {path}", { path });
      if (later.length > 0) log.warn("{keys} change at the next start", { keys: later.join(", ") });
    } catch (err) {
      log.error("config reload refused, keeping the running config: {error}", {
        error: (err as Error).message,
      });
    }
  }

  /**
   * Resolves open incidents, flushes every part, saves the baseline and closes the database:
   * each step in its own `try` ({@linkcode runStopSteps}), so one that throws is logged and the
   * others still run.
   */
  async stop(): Promise<void> {
    const p = this.#p;
    const recorder = p.recorder;
    await runStopSteps(p.log, [
      { name: "stop the metrics endpoint", run: () => p.observability.stop() },
      { name: "stop the capture pruner", run: () => clearInterval(this.#pruner) },
      { name: "stop L7", run: () => p.l7.stop() }, // resolves an open L7 incident
      // Resolves open incidents, saves the baseline (also when resolving threw).
      { name: "resolve open incidents", run: () => p.engine.finish() },
      {
        name: "flush the listeners",
        run: async () => {
          if (!(await p.listeners.flush(FLUSH_MS))) p.log.warn("listeners still busy at exit");
        },
      },
      // Reporting first: no server command can reach mitigation once it has undone its rules.
      { name: "stop reporting", run: () => p.reporting.stop() },
      { name: "stop the GRE tunnels report", run: () => p.gre.stop() },
      { name: "undo mitigation", run: () => p.mitigation.stop() },
      { name: "close the PCAP captures", run: () => recorder?.close() },
      { name: "log the totals", run: () => this.#logTotals() },
      {
        name: "write what waits for the state database",
        run: async () => {
          if (!(await stateWriter(p.db).flush(FLUSH_MS))) {
            p.log.warn("state database writes still waiting at exit");
          }
        },
      },
      { name: "close the incident store", run: () => p.incidents.close() },
      { name: "close the state database", run: () => p.db.close() },
    ]);
  }

  #logTotals(): void {
    const p = this.#p;
    if (p.recorder !== null) {
      // A stop of PCAP writing was said when it happened; here only the totals.
      const pcap = p.recorder.stats();
      p.log.info("PCAP: {files} captures, {dropped} frames dropped, {errors} errors{stopped}", {
        files: pcap.files,
        dropped: pcap.droppedFrames,
        errors: pcap.errors,
        stopped: pcap.stoppedReason ? ` (writing stopped: ${pcap.stoppedReason})` : "",
      });
    }
    const stats = p.source.stats();
    p.log.info(
      "stopped: {packets} packets, {malformed} malformed, kernel drops {dropped}, listeners " +
        "{listeners}; {frames} frames read, kernel sampling 1 in {rate} now",
      {
        packets: p.engine.pipeline.packets,
        malformed: p.engine.pipeline.malformed,
        dropped: stats.dropped + stats.ifDropped,
        listeners: JSON.stringify(p.listeners.stats()),
        frames: stats.packets,
        rate: stats.sampleRate ?? 1,
      },
    );
  }
}

/** Puts the local or server indicator patterns in use, and says so when the set changed. */
function iocPatterns(
  log: Logger,
  engine: Engine,
  from: "local" | "server",
  patterns: readonly IocPatternSpec[],
): void {
  const r = engine.iocPatterns(from, patterns);
  if (r === null) return;
  for (const line of r.refused) log.warn("{line}", { line });
  log.info("payload inspection: {n} indicator patterns in use", { n: r.inUse });
}
