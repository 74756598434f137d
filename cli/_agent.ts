/**
 * The agent's parts, wired once: pipeline and detector, PCAP recorder, state database, incident
 * store, outbox and control plane, alerts, mitigation, metrics endpoint and L7. The capture
 * source feeds {@linkcode Agent.sink}; everything else hears incident events through bounded
 * listener queues, so no part can stall capture.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { LastSecond } from "../core/report/mod.ts";
import type { PacketSink } from "../core/packet/mod.ts";
import { Pipeline } from "../core/traffic/mod.ts";
import { Listeners } from "../agent/listeners.ts";
import { PcapRecorder } from "../agent/evidence/mod.ts";
import type { CaptureSource } from "../agent/capture/mod.ts";
import { startAlerts } from "./_alerts.ts";
import { logIncident, persistentDetector } from "./_detection.ts";
import { L7Part } from "./_l7.ts";
import { startLocalIncidents } from "./_local_incidents.ts";
import { startMitigation } from "./_mitigation.ts";
import { startObservability } from "./_observability.ts";
import { openAgentDb, startReporting } from "./_reporting.ts";
import { VERSION } from "./version.ts";

/** Windows close this long after their second ends: packets still in a kernel block land in it. */
const LATE_PACKETS_US = 250_000;
const BASELINE_SAVE_MS = 60_000;
const FLUSH_MS = 3000;
const PRUNE_MS = 3600_000;

/** The running agent, minus its capture source. */
export interface Agent {
  /** Where the source's frames go. */
  readonly sink: PacketSink;
  /** Each turn of the capture loop, with the source's clock (µs). */
  tick(nowUs: number): void;
  /** SIGHUP: applies a new config; returns the keys that change only at the next start. */
  reload(config: Config): string[];
  /** Resolves open incidents, flushes every part, saves the baseline and closes the database. */
  stop(): Promise<void>;
}

/** Starts every part of the agent for `source` (which the caller runs and closes). */
export async function startAgent(
  config: Config,
  log: Logger,
  source: CaptureSource,
): Promise<Agent> {
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
  const incidents = startLocalIncidents({ config, db, listeners, log });
  // Auto-mitigation: undoes a previous run's leftovers first, then acts on incidents.
  const mitigation = await startMitigation({ config, db, log });
  listeners.add(mitigation.listener);

  const { detector, save: saveState } = await persistentDetector(
    config,
    log,
    (event) => listeners.emit(event),
  );
  // Evidence: every frame also goes to the recorder's pre-attack ring and open captures.
  const recorder = config.pcap_enabled ? new PcapRecorder(config) : null;
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
  const lastSecond = new LastSecond();
  const pipeline = new Pipeline((window) => {
    lastSecond.window(window);
    reporting.window(window);
  }, { detector });
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
      batch(buf, start, end, frames) {
        recorder.batch(buf, start, end, frames);
      },
      packet(buf, offset, capLen, wireLen, tsUs, linktype) {
        pipeline.packet(buf, offset, capLen, wireLen, tsUs, linktype);
        recorder.packet(buf, offset, capLen, wireLen, tsUs, linktype, pipeline.meta);
      },
    };
  }
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
  // HTTP floods from the web servers' access logs (l7_enabled, here or from the server).
  const l7 = await L7Part.start({
    config,
    log,
    emit: (event) => listeners.emit(event),
    outbox: reporting.outbox,
  });
  listeners.add({ name: "l7", handle: (event) => l7.observe(event) });
  reporting.attachL7(l7);

  const saver = setInterval(saveState, BASELINE_SAVE_MS);
  const pruner = recorder && setInterval(() => recorder.prune(), PRUNE_MS);
  return {
    sink,
    tick(nowUs) {
      observability.tick();
      pipeline.advance(nowUs - LATE_PACKETS_US);
    },
    reload(next) {
      const later = detector.configure(next);
      reporting.reconfigure(next); // also hands L7 the merged config
      return later;
    },
    async stop() {
      await observability.stop();
      clearInterval(saver);
      if (pruner) clearInterval(pruner);
      await l7.stop(); // resolves an open L7 incident
      pipeline.flush(); // resolves open incidents
      if (!(await listeners.flush(FLUSH_MS))) log.warn("listeners still busy at exit");
      // Reporting first: no server command can reach mitigation once it has undone its rules.
      await reporting.stop();
      await mitigation.stop();
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
    },
  };
}
