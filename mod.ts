/**
 * ftagent as a library: the pure engine (decoding, capture formats, windows, sketches,
 * baselines, detection and classification) for
 * programs that embed it. Everything exported here is deterministic and does no I/O.
 *
 * ```ts
 * import { CaptureParser, Pipeline } from "./mod.ts";
 * const pipeline = new Pipeline((w) => console.log(w.snapshot()));
 * const parser = new CaptureParser();
 * const bytes = Deno.readFileSync("attack.pcap");
 * parser.parse(bytes, 0, bytes.length, pipeline);
 * pipeline.flush();
 * ```
 *
 * @module
 */

export {
  Fragment,
  IpProto,
  LinkType,
  Malformed,
  PacketMeta,
  type PacketSink,
  TcpFlag,
} from "./core/packet.ts";
export { decode } from "./core/decode.ts";
export {
  type CaptureFormat,
  CaptureFormatError,
  CaptureParser,
  MAX_RECORD_BYTES,
} from "./core/pcap_format.ts";
export { PcapBuilder, pcapFileHeader, writePcapRecordHeader } from "./core/pcap_writer.ts";
export { Window, type WindowOptions, type WindowStats } from "./core/window.ts";
export { Windower, type WindowerOptions } from "./core/windower.ts";
export { Pipeline, type PipelineOptions } from "./core/pipeline.ts";
export { HyperLogLog } from "./core/hyperloglog.ts";
export { SpaceSaving, type SpaceSavingEntry } from "./core/space_saving.ts";
export { formatAddress, parseAddress } from "./core/address.ts";
export {
  AMPLIFICATION_SERVICES,
  type AmplificationService,
  completeVectors,
  countVectors,
  Vector,
  VECTOR_COUNT,
} from "./core/vectors.ts";
export {
  type AttackFamily,
  type Classification,
  classify,
  type Evidence,
  type PartSummary,
  type TrafficProfile,
} from "./core/classifier.ts";
export {
  Baseline,
  BaselineMetric,
  type BaselineOptions,
  type BaselineState,
} from "./core/baseline.ts";
export {
  Detector,
  type DetectorOptions,
  type TargetState,
  type TargetStatus,
} from "./core/detector.ts";
export {
  Incident,
  type IncidentEvent,
  type IncidentEventKind,
  RATE_NAMES,
} from "./core/incident.ts";
export {
  type Config,
  CONFIG_KEYS,
  ConfigError,
  defaultConfig,
  type DetectionConfig,
  parseConfig,
  type ParsedConfig,
} from "./core/config.ts";
