// What the live commands (the agent and `capture`) share: a detector whose learned baseline
// lives in `state_dir/baseline.json`, and the incident log line.
import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../core/detect/mod.ts";
import { loadBaseline, saveBaseline } from "../agent/state/mod.ts";

/** A detector and the way to save its baseline. */
export interface PersistentDetector {
  detector: Detector;
  /** Saves the baseline atomically; a failure is logged, never thrown. */
  save(): Promise<void>;
}

/** Creates a detector with the baseline restored from `state_dir` (unless missing or stale). */
export async function persistentDetector(
  config: Config,
  log: Logger,
  onEvent: (event: IncidentEvent) => void,
): Promise<PersistentDetector> {
  const path = `${config.state_dir}/baseline.json`;
  const utcOffsetMinutes = -new Date().getTimezoneOffset();
  const restored = await loadBaseline(
    path,
    { windowMinutes: config.baseline_window_minutes, utcOffsetMinutes },
    Date.now() / 1000,
  );
  if (restored.baseline) log.info("baseline restored from {path}", { path });
  else log.info("starting with a new baseline: {reason}", { reason: restored.reason ?? "" });
  const detector = new Detector(config, {
    baseline: restored.baseline ?? undefined,
    idSeed: `${config.node_uuid}|${Date.now()}`,
    utcOffsetMinutes,
    onEvent,
  });
  const save = async () => {
    try {
      await saveBaseline(path, detector.baseline, Date.now() / 1000);
    } catch (err) {
      log.error("cannot save the baseline to {path}: {error}", { path, error: String(err) });
    }
  };
  return { detector, save };
}

/**
 * Logs an incident event with its id, target, family and evidence (opens as warnings); HTTP
 * floods with their request rates instead of packet rates.
 */
export function logIncident(log: Logger, event: IncidentEvent): void {
  const l7 = event.attack_family === "http_flood";
  const fields = {
    event: event.event,
    id: event.id,
    target: event.target,
    family: event.attack_family,
    subtype: event.attack_subtype,
    peak_pps: event.peak_pps,
    peak_bps: event.peak_bps,
    rps: event.rps,
    peak_rps: event.peak_rps,
    baseline_rps: event.baseline_rps,
    confidence: event.confidence,
    opened_by: event.opened_by,
    summary: (event.evidence as { summary?: string } | null)?.summary ?? "",
  };
  const rates = l7
    ? "{rps} rps (peak {peak_rps}, baseline {baseline_rps})"
    : "peak {peak_pps} pps {peak_bps} bps";
  const text = `incident {event} {id}: {family}/{subtype} on {target}, ${rates}, ` +
    "confidence {confidence}: {summary}";
  if (event.event === "open") log.warn(text + " ({opened_by})", fields);
  else log.info(text, fields);
}
