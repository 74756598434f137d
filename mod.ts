/**
 * ftagent as a library: the pure engine, for programs that embed it. Everything exported here
 * is deterministic and does no I/O (time is passed in): decoding and capture formats
 * (`core/packet`), sketches (`core/sketch`), per-second windows and the pipeline
 * (`core/traffic`), attack classification (`core/classify`), baselines, thresholds and the
 * incident machine (`core/detect`), access-log parsing and HTTP flood detection (`core/l7`),
 * mitigation planning and the server command parser (`core/mitigate`), report payloads
 * (`core/report`) and the configuration (`core/config`).
 *
 * @example Per-second windows and incidents of a capture file
 * ```ts
 * import { CaptureParser, defaultConfig, Detector, Pipeline } from "./mod.ts";
 *
 * const detector = new Detector(defaultConfig(), {
 *   onEvent: (event) => console.log(event.event, event.attack_family, event.target),
 * });
 * const pipeline = new Pipeline((window) => console.log(window.snapshot().pps), { detector });
 * const bytes = Deno.readFileSync("attack.pcap");
 * new CaptureParser().parse(bytes, 0, bytes.length, pipeline);
 * pipeline.flush();
 * ```
 *
 * @module
 */

export * from "./core/packet/mod.ts";
export * from "./core/sketch/mod.ts";
export * from "./core/traffic/mod.ts";
export * from "./core/flow/mod.ts";
export * from "./core/classify/mod.ts";
export * from "./core/detect/mod.ts";
export * from "./core/l7/mod.ts";
export * from "./core/mitigate/mod.ts";
export * from "./core/report/mod.ts";
export * from "./core/config/mod.ts";
