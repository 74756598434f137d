/**
 * The local self-test behind `ftagent --test`: a short synthetic capture (benign traffic, a
 * SYN flood on one address, benign traffic again) built in memory and run through the same
 * path live traffic takes: pcap parser -> pipeline (decoder, windows) -> detector (rates,
 * thresholds, incident machine, classifier). It passes when exactly the flood is found,
 * classified as a SYN flood, opened soon after its onset and resolved after it.
 *
 * @module
 */

import { defaultConfig, type DetectionConfig } from "../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../core/detect/mod.ts";
import { CaptureParser } from "../core/packet/mod.ts";
import { Pipeline } from "../core/traffic/mod.ts";
import { syntheticCapture, type SyntheticPlan } from "./_synthetic_capture.ts";

/** The flooded address of the synthetic capture. */
export const SELF_TEST_TARGET = "198.51.100.7";

/** The capture the self-test runs (seconds, rates, target). */
export const SELF_TEST_PLAN: Readonly<SyntheticPlan> = {
  startUs: Date.UTC(2024, 0, 1) * 1000,
  benignBefore: 3,
  floodSeconds: 3,
  benignAfter: 4,
  benignPps: 200,
  floodPps: 5000,
  target: SELF_TEST_TARGET,
};

/** Latest acceptable open, seconds after the onset. */
export const MAX_OPEN_DELAY_SECONDS = 1.5;

/**
 * Detection settings of the self-test: the defaults with floors low enough for a 5000 pps
 * flood (the operator's thresholds are not what is being tested) and a short hold-down.
 */
export function selfTestDetection(): DetectionConfig {
  return {
    ...defaultConfig(),
    min_pps_threshold: 2000,
    min_bps_threshold: 50_000_000,
    min_syn_pps_threshold: 500,
    min_udp_pps_threshold: 2000,
    min_icmp_pps_threshold: 2000,
    min_fragment_pps_threshold: 2000,
    attack_holddown: 1,
  };
}

/** What the self-test found. */
export interface SelfTestResult {
  /** Whether detection found exactly the flood, in time, rightly classified. */
  ok: boolean;
  /** One line: "ok: detection: ..." or "FAIL: detection: ..." with what was wrong. */
  message: string;
  /** Frames in the synthetic capture. */
  frames: number;
  /** Every incident event the detector emitted. */
  events: IncidentEvent[];
}

/** Runs the synthetic detection; never throws (a crash is a failed result). */
export function runSelfTest(
  plan: Readonly<SyntheticPlan> = SELF_TEST_PLAN,
  detection: DetectionConfig = selfTestDetection(),
): SelfTestResult {
  const events: IncidentEvent[] = [];
  let frames = 0;
  try {
    const capture = syntheticCapture(plan);
    frames = capture.frames;
    const detector = new Detector(detection, {
      idSeed: "ftagent-self-test",
      onEvent: (event) => events.push(structuredClone(event)),
    });
    const pipeline = new Pipeline(() => {}, { detector });
    const parser = new CaptureParser();
    const used = parser.parse(capture.bytes, 0, capture.bytes.length, pipeline);
    parser.finish(capture.bytes.length - used);
    pipeline.flush();
    if (pipeline.packets !== frames) {
      return fail(`the pipeline saw ${pipeline.packets} of ${frames} frames`, frames, events);
    }
    if (pipeline.malformed !== 0) {
      return fail(
        `${pipeline.malformed} synthetic frames were rejected as malformed`,
        frames,
        events,
      );
    }
    if (detector.listenerErrors !== 0) return fail("an incident listener threw", frames, events);
    return judge(events, capture.onsetUs, frames, plan);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return fail(`the pipeline threw: ${why}`, frames, events);
  }
}

function judge(
  events: IncidentEvent[],
  onsetUs: number,
  frames: number,
  plan: Readonly<SyntheticPlan>,
): SelfTestResult {
  const opens = events.filter((e) => e.event === "open");
  const flood = `a ${plan.floodPps} pps SYN flood on ${plan.target}`;
  if (opens.length === 0) return fail(`no incident opened for ${flood}`, frames, events);
  if (opens.length > 1) {
    const what = opens.map((e) => `${e.attack_family}/${e.attack_subtype} on ${e.target}`);
    return fail(
      `${opens.length} incidents opened, expected one: ${what.join(", ")}`,
      frames,
      events,
    );
  }
  const open = opens[0];
  const kind = `${open.attack_family}/${open.attack_subtype}`;
  if (open.attack_family !== "syn_flood") {
    return fail(`${flood} was classified as ${kind}`, frames, events);
  }
  if (open.target !== plan.target) {
    return fail(`the incident's target is ${open.target}, expected ${plan.target}`, frames, events);
  }
  const delay = (Date.parse(String(open.detected_at)) * 1000 - onsetUs) / 1e6;
  if (!(delay >= 0 && delay <= MAX_OPEN_DELAY_SECONDS)) {
    return fail(
      `the incident opened ${
        delay.toFixed(1)
      } s after the onset (at most ${MAX_OPEN_DELAY_SECONDS} s expected)`,
      frames,
      events,
    );
  }
  const resolve = events.find((e) => e.event === "resolve" && e.id === open.id);
  if (resolve === undefined) return fail(`the ${kind} incident never resolved`, frames, events);
  const floodEndUs = onsetUs + plan.floodSeconds * 1e6;
  const endedUs = Date.parse(String(resolve.ended_at ?? resolve.detected_at)) * 1000;
  if (endedUs < floodEndUs - 1e6) {
    return fail(`the ${kind} incident resolved while the flood went on`, frames, events);
  }
  return {
    ok: true,
    message:
      `ok: detection: a synthetic SYN flood through parser, pipeline and detector: ${kind} opened ${
        delay.toFixed(1)
      } s after onset, resolved; incident id ${open.id}`,
    frames,
    events,
  };
}

function fail(reason: string, frames: number, events: IncidentEvent[]): SelfTestResult {
  return { ok: false, message: `FAIL: detection: ${reason}`, frames, events };
}
