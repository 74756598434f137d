/**
 * ftagent as a library: the pure engine (decoding, capture formats, windows, sketches,
 * baselines, detection and classification; access log parsing and HTTP flood detection;
 * mitigation planning and the server command parser) for programs that embed it. Everything
 * exported here is deterministic and does no I/O.
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
  vectorOf,
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
export {
  type DetectedFormat,
  detectFormat,
  emptyRecord,
  type LineParser,
  LOG_FORMATS,
  type LogFormat,
  type LogFormatOption,
  LogParser,
  type LogRecord,
  MAX_LINE_CHARS,
  type ParseOptions,
} from "./core/access_log.ts";
export { parseClf } from "./core/log_clf.ts";
export { parseJsonLine } from "./core/log_json.ts";
export { parseHaproxy } from "./core/log_haproxy.ts";
export { type Counts, L7Window, type L7WindowStats, SLOW_RESPONSE_MS } from "./core/l7_window.ts";
export {
  L7Detector,
  type L7DetectorConfig,
  type L7DetectorOptions,
  type L7Signal,
  type L7State,
  type L7Verdict,
} from "./core/l7_detector.ts";
export { l7MetricsBody } from "./core/l7_metrics.ts";
export {
  type ActionBase,
  actionKey,
  type CloudflareRule,
  describeAction,
  type DropFragments,
  type DropSource,
  MAX_RATE_PPS,
  MAX_TTL_S,
  type MitigationAction,
  type MitigationMode,
  PROTOCOL_NUMBERS,
  protocolName,
  type SynCookies,
  type SynRateLimit,
  type TrafficAction,
  validateAction,
} from "./core/mitigation.ts";
export { Allowlist, ALWAYS_ALLOWED } from "./core/allowlist.ts";
export type { L7Config } from "./core/_config_l7.ts";
export type {
  ActionSpec,
  MitigationRule,
  MitigationSettings,
  PortSpec,
} from "./core/_config_mitigation.ts";
export { defaultSpecs, type MitigationPlan, planMitigation } from "./core/mitigation_plan.ts";
export {
  type CommandParseOptions,
  MAX_COMMAND_LENGTH,
  type ParsedCommand,
  parseServerCommand,
} from "./core/command_parser.ts";
