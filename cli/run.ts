/**
 * `ftagent` (no command): the agent. Captures on the interface (or reads a capture file as if
 * it were the wire), detects, hands incident events to listeners behind bounded queues, and
 * logs. SIGTERM/SIGINT resolve open incidents, flush, save the baseline and exit; SIGHUP
 * reloads the config (a bad one is refused and the old one kept).
 *
 * @module
 */

import { z } from "zod";
import type { LogLevel } from "@logtape/logtape";
import type { Config } from "../core/config.ts";
import type { PacketSink } from "../core/packet.ts";
import { Pipeline } from "../core/pipeline.ts";
import { LastSecond } from "../core/last_second.ts";
import { PcapRecorder } from "../agent/pcap_recorder.ts";
import { DEFAULT_CONFIG_PATH, loadConfigFile, loadConfigOrDefaults } from "../agent/config_file.ts";
import { FileSource } from "../agent/file_source.ts";
import { chooseInterface } from "../agent/interfaces.ts";
import { LiveSource } from "../agent/libpcap_source.ts";
import { Listeners } from "../agent/listeners.ts";
import type { CaptureSource } from "../agent/source.ts";
import { parseCommand } from "./_args.ts";
import { setupLogging } from "./_logging.ts";
import { logIncident, persistentDetector } from "./_detection.ts";
import { startLocalIncidents } from "./_local_incidents.ts";
import { openAgentDb, startReporting } from "./_reporting.ts";
import { VERSION } from "./version.ts";
import { startObservability } from "./_observability.ts";
import { startAlerts } from "./_alerts.ts";
import { startMitigation } from "./_mitigation.ts";
import { startL7 } from "./_l7.ts";

/** Usage text of the agent itself. */
export const RUN_USAGE = `ftagent [--config PATH] [--interface IF] [--pcap FILE [--fast]]

Runs the agent: captures on the interface, detects, records evidence and logs incidents.
  --config PATH   config file (default /etc/ftagent/config.json; defaults when it is missing)
  --interface IF  overrides the config's interface
  --pcap FILE     reads FILE as if it were the wire, at its recorded pace, then resolves open
                  incidents, flushes and exits (test a set-up end to end)
  --fast          with --pcap: as fast as possible instead of the recorded pace
Signals: SIGTERM/SIGINT stop cleanly (within 5 s), SIGHUP reloads the config.`;

const LATE_PACKETS_US = 250_000;
const BASELINE_SAVE_MS = 60_000;
const FLUSH_MS = 3000;
const PRUNE_MS = 3600_000;

const Options = z.object({
  config: z.string().min(1).optional(),
  interface: z.string().min(1).optional(),
  pcap: z.string().min(1).optional(),
  fast: z.boolean().default(false),
});

const LEVELS: Record<Config["log_level"], LogLevel> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warning",
  ERROR: "error",
  CRITICAL: "fatal",
};

/** Runs the agent until a signal (live) or the end of `--pcap FILE`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    config: { type: "string" },
    interface: { type: "string", short: "i" },
    pcap: { type: "string" },
    fast: { type: "boolean" },
  }, Options);
  const configPath = values.config ?? DEFAULT_CONFIG_PATH;
  const { config, warnings, missing } = await loadConfigOrDefaults(
    configPath,
    values.config !== undefined,
  );
  const log = await setupLogging({ level: LEVELS[config.log_level], file: config.log_file });
  if (missing) log.info("no config at {path}: running with the defaults", { path: configPath });
  for (const warning of warnings) log.warn(warning);
  if (config.api_key === "" || config.node_uuid === "") {
    log.info("standalone mode: no api_key/node_uuid, incidents are kept and logged locally");
  }

  let source: CaptureSource;
  if (values.pcap !== undefined) {
    source = new FileSource(values.pcap);
    log.info("reading {file} as the wire ({pace})", {
      file: values.pcap,
      pace: values.fast ? "fast" : "recorded pace",
    });
  } else {
    const device = values.interface ??
      (config.interface === "auto" ? chooseInterface() : config.interface);
    source = new LiveSource({ device });
    log.info("capturing on {device}", { device });
  }

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
  // The one state database (incidents, outbox, ...), closed last.
  const db = await openAgentDb(config.state_dir);
  const incidents = startLocalIncidents({ config, db, listeners, log });
  // Auto-mitigation: undoes a previous run's leftovers first, then acts on incidents.
  const mitigation = await startMitigation({ config, db, log });
  listeners.add(mitigation.listener);

  const { detector, save: saveState } = await persistentDetector(
    config,
    log,
    (event) => listeners.emit(event),
  );
  const lastSecond = new LastSecond();
  const pipeline = new Pipeline((window) => {
    lastSecond.window(window);
    reporting.window(window);
  }, { detector });
  // Evidence: every frame also goes to the PCAP recorder's pre-attack ring and open captures.
  const recorder = config.pcap_enabled ? new PcapRecorder(config) : null;
  let sink: PacketSink = pipeline;
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
    sink = {
      packet(buf, offset, capLen, wireLen, tsUs, linktype) {
        pipeline.packet(buf, offset, capLen, wireLen, tsUs, linktype);
        recorder.packet(buf, offset, capLen, wireLen, tsUs, linktype, pipeline.meta);
      },
    };
  }

  // Outbox (always) and the control plane (with an account): never on the capture path.
  const reporting = startReporting({
    config,
    db,
    log,
    version: VERSION,
    detector,
    recorder,
    onCommand: mitigation.onCommand,
  });
  listeners.add({ name: "report", handle: (event) => reporting.incident(event) });
  startAlerts({ config, listeners, reporting, log, interfaceName: source.name, version: VERSION });

  const observability = startObservability({
    config,
    log,
    detector,
    pipeline,
    lastSecond,
    source,
    listeners,
    recorder,
    reporting,
  });
  // HTTP floods from the web servers' access logs (l7_enabled): same listeners.
  const l7 = await startL7({
    config,
    log,
    emit: (event) => listeners.emit(event),
    outbox: reporting.outbox,
  });
  if (l7 !== null) listeners.add({ name: "l7", handle: (event) => l7.observe(event) });
  const stop = new AbortController();
  const onStop = () => stop.abort();
  const onReload = async () => {
    try {
      const next = await loadConfigFile(configPath);
      for (const warning of next.warnings) log.warn(warning);
      const later = detector.configure(next.config);
      reporting.reconfigure(next.config);
      l7?.configure(next.config);
      log.info("config reloaded from {path}", { path: configPath });
      if (later.length > 0) log.warn("{keys} change at the next start", { keys: later.join(", ") });
    } catch (err) {
      log.error("config reload refused, keeping the running config: {error}", {
        error: (err as Error).message,
      });
    }
  };
  Deno.addSignalListener("SIGINT", onStop);
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGHUP", onReload);
  const saver = setInterval(saveState, BASELINE_SAVE_MS);
  const pruner = recorder && setInterval(() => recorder.prune(), PRUNE_MS);
  let failure: unknown = null;
  try {
    await source.run(sink, {
      signal: stop.signal,
      paced: values.pcap !== undefined && !values.fast,
      // Windows close a little after their second ends, so packets still in a kernel block
      // (handed over up to the block timeout late) land in their own second.
      onTick: (nowUs) => {
        observability.tick();
        pipeline.advance(nowUs - LATE_PACKETS_US);
      },
    });
  } catch (err) {
    failure = err;
  } finally {
    await observability.stop();
    clearInterval(saver);
    if (pruner) clearInterval(pruner);
    Deno.removeSignalListener("SIGINT", onStop);
    Deno.removeSignalListener("SIGTERM", onStop);
    Deno.removeSignalListener("SIGHUP", onReload);
    await l7?.stop(); // resolves an open L7 incident
    pipeline.flush(); // resolves open incidents
    if (!(await listeners.flush(FLUSH_MS))) log.warn("listeners still busy at exit");
    await mitigation.stop();
    await reporting.stop();
    if (recorder !== null) {
      await recorder.close();
      const pcap = recorder.stats();
      if (pcap.stoppedReason) {
        log.warn("PCAP writing stopped: {reason}", { reason: pcap.stoppedReason });
      }
      log.info("PCAP: {files} captures, {dropped} frames dropped", {
        files: pcap.files,
        dropped: pcap.droppedFrames,
      });
    }
    await saveState();
    const stats = source.stats();
    source.close();
    log.info(
      "stopped: {packets} packets, {malformed} malformed, kernel drops {dropped}, listeners {listeners}",
      {
        packets: pipeline.packets,
        malformed: pipeline.malformed,
        dropped: stats.dropped + stats.ifDropped,
        listeners: JSON.stringify(listeners.stats()),
      },
    );
    incidents.stop();
    db.close();
  }
  if (failure !== null) throw failure;
  return 0;
}
