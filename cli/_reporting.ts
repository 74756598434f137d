// Reporting wiring for the agent: the durable outbox (always; alert channels use it too), and
// with an account (api_key and node_uuid) the Flowtriq control plane: incident events,
// heartbeats, metrics and PCAP uploads queued in the outbox and drained by a sender, the config
// fetched and applied, pending commands run and acknowledged. Nothing here runs on the capture
// path except `window()` (once a second) and `incident()` (a listener, off the capture path).
import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { BaselineMetric, type Detector, type IncidentEvent } from "../core/detect/mod.ts";
import {
  applyRemoteConfig,
  changedKeys,
  heartbeatBody,
  incidentCreateBody,
  incidentResolveBody,
  incidentUpdateBody,
  MetricsInterval,
  type RemoteConfig,
} from "../core/report/mod.ts";
import type { Window } from "../core/traffic/mod.ts";
import {
  type CommandHandler,
  type Deliver,
  establishedConnections,
  FLOWTRIQ_CHANNEL,
  FlowtriqApi,
  flowtriqDeliver,
  type FlowtriqEntryBody,
  RemoteControl,
  Sender,
  type SenderOptions,
  type SenderStats,
  unsupportedCommand,
} from "../agent/report/mod.ts";
import {
  openStateDb,
  Outbox,
  type OutboxKind,
  type OutboxStats,
  stateDbPath,
} from "../agent/state/mod.ts";
import type { PcapRecorder } from "../agent/evidence/mod.ts";
import type { L7Link } from "./_l7.ts";

export type { CommandHandler } from "../agent/report/remote_control.ts";

/** The running reporting layer. */
export interface Reporting {
  /** The durable outbox every channel delivers from. */
  readonly outbox: Outbox;
  /** Starts a sender for `channel` (one ordered lane); a second call for a channel is refused. */
  addChannel(channel: string, deliver: Deliver, options?: SenderOptions): void;
  /** Outbox depth and drops, each sender's counters, and the control-plane API errors. */
  stats(): { outbox: OutboxStats; senders: SenderStats[]; apiErrors: number };
  /** Queues an incident event for the control plane (no-op without an account). */
  incident(event: IncidentEvent): void;
  /** One closed per-second interface window (for the metrics report). */
  window(window: Window): void;
  /** A new local config (SIGHUP): the server's overrides are applied over it again. */
  reconfigure(local: Config): void;
  /** PCAP capture on or off (the local config, overridden by the server's `pcap_enabled`). */
  pcapEnabled(): boolean;
  /**
   * Links the L7 part (started after reporting): it gets the merged config now, at each
   * change and at each reload; heartbeats report its `l7_enabled` and `l7_status`.
   */
  attachL7(link: L7Link): void;
  /** Flushes what it can (a few seconds at most), then stops every timer and sender. */
  stop(): Promise<void>;
}

/** What {@linkcode startReporting} needs. */
export interface ReportingOptions {
  config: Config;
  db: DatabaseSync;
  log: Logger;
  /** The agent's version (User-Agent, heartbeat). */
  version: string;
  /** The running detector: the server's config is applied to it; status feeds the reports. */
  detector?: Detector;
  /** The PCAP recorder, when PCAP evidence is on (uploads after resolve). */
  recorder?: PcapRecorder | null;
  /** Runs server commands (default: every command fails with "not supported"). */
  onCommand?: CommandHandler;
  /** Sender tuning (tests). */
  sender?: SenderOptions;
}

/** Time `stop()` gives the senders to empty their lanes (ms). */
const STOP_GRACE_MS = 2000;

/** Opens the state database in `state_dir` (created when missing); a clear error otherwise. */
export async function openAgentDb(stateDir: string): Promise<DatabaseSync> {
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create state_dir ${stateDir}: ${(err as Error).message}`);
  }
  return openStateDb(stateDbPath(stateDir));
}

/** Starts the outbox, and with an account the control-plane reporting. */
export function startReporting(opts: ReportingOptions): Reporting {
  const { db, log, detector } = opts;
  let local = opts.config;
  const outbox = new Outbox(db, { maxItems: local.outbox_max_items });
  const senders = new Map<string, Sender>();
  const warn = (message: string) => log.warn("{message}", { message });
  const info = (message: string) => log.info("{message}", { message });

  const addChannel = (channel: string, deliver: Deliver, options: SenderOptions = {}) => {
    if (senders.has(channel)) throw new Error(`channel ${channel} already has a sender`);
    let failures = 0;
    senders.set(
      channel,
      new Sender(outbox, channel, deliver, {
        ...opts.sender,
        ...options,
        onFailure: (item, error, attempt) => {
          // Logged at the first failure and then at powers of two: an outage is not a log flood.
          if ((++failures & (failures - 1)) === 0) {
            warn(
              `${channel}: delivery failed (${failures} failures, ${item.kind} attempt ${attempt}): ${error}`,
            );
          }
        },
        onDead: (item, reason) => {
          log.error(
            "{channel}: {kind} {key} refused for good, moved to the dead letters: {reason}",
            {
              channel,
              kind: item.kind,
              key: item.key,
              reason,
            },
          );
        },
        onDelivered: () => {
          if (failures > 0) info(`${channel}: delivering again after ${failures} failures`);
          failures = 0;
        },
      }),
    );
  };

  const base = {
    outbox,
    addChannel,
    stats: () => ({
      outbox: outbox.stats(),
      senders: [...senders.values()].map((s) => s.stats()),
      apiErrors: api?.errors ?? 0,
    }),
  };
  const account = local.api_key !== "" && local.node_uuid !== "";
  let api: FlowtriqApi | null = null;
  let link: L7Link | null = null;
  const stopSenders = async () => {
    await Promise.all([...senders.values()].map((s) => s.stop(STOP_GRACE_MS)));
  };
  if (!account) {
    return {
      ...base,
      incident: () => {},
      window: () => {},
      reconfigure: (next) => {
        local = next;
        link?.configure(next);
      },
      pcapEnabled: () => local.pcap_enabled,
      attachL7: (l7) => {
        link = l7;
        l7.configure(local);
      },
      stop: stopSenders,
    };
  }

  api = new FlowtriqApi({
    apiBase: local.api_base,
    apiKey: local.api_key,
    nodeUuid: local.node_uuid,
    version: opts.version,
    timeoutMs: local.api_timeout_seconds * 1000,
  });
  info(`reporting to ${api.base} as node ${local.node_uuid}`);
  const recorder = opts.recorder ?? null;
  let remote: RemoteConfig = {};
  let applied: Config = local;
  const apply = () => {
    const next = applyRemoteConfig(local, remote);
    const changed = changedKeys(applied, next);
    applied = next;
    if (changed.length === 0) return;
    detector?.configure(next);
    link?.configure(next);
    info(
      `config from the server applied: ${
        changed.map((k) => `${k}=${JSON.stringify(next[k as keyof Config])}`).join(", ")
      }`,
    );
  };
  const open = new Set<string>();
  const control = new RemoteControl({
    api,
    outbox,
    onCommand: opts.onCommand ?? unsupportedCommand,
    onConfig: (config) => {
      if (config.suspended === true && remote.suspended !== true) {
        warn("the server says this node is suspended");
      }
      remote = config;
      apply();
    },
    warn,
    info,
    attackOpen: () => open.size > 0,
  });
  addChannel(
    FLOWTRIQ_CHANNEL,
    flowtriqDeliver({
      api,
      db,
      onCommands: (list) => control.commandsFrom(list),
      pcapWriting: (id) => recorder?.writing(id) ?? false,
      onNote: warn,
    }),
  );
  const flowtriq = senders.get(FLOWTRIQ_CHANNEL)!;
  const enqueue = (
    kind: OutboxKind,
    key: string,
    eventUs: number,
    body: FlowtriqEntryBody,
    supersede = false,
  ) => {
    try {
      outbox.enqueue({ channel: FLOWTRIQ_CHANNEL, kind, key, eventUs, body }, { supersede });
    } catch (err) {
      log.error("cannot queue {key} in the outbox: {error}", { key, error: String(err) });
    }
  };

  const metrics = new MetricsInterval();
  let lastSrcCount = 0;
  const pcapOpen = new Set<string>();
  const heartbeat = () => {
    const nowMs = Date.now();
    const b = detector?.baseline;
    const out = outbox.stats();
    enqueue("heartbeat", `heartbeat:${nowMs}`, nowMs * 1000, {
      op: "post",
      path: "/agent/heartbeat",
      body: heartbeatBody({
        version: opts.version,
        baselineReady: b?.ready ?? false,
        baselineAvgPps: b ? b.mean(BaselineMetric.PPS) : 0,
        baselineP99Pps: b ? b.p99(BaselineMetric.PPS) : 0,
        baselineHourlyReady: b?.hourlyReady ?? false,
        baselineCurrentHourP99: b ? b.hourlyP99(BaselineMetric.PPS, nowMs / 1000) : null,
        circuitBreaker: flowtriq.breaker.state(nowMs),
        retryQueueSize: out.depth,
        pcapActive: applied.pcap_enabled && (recorder?.stats().recording ?? 0) > 0,
        srcIpCount: lastSrcCount,
        dropped: out.dropped,
        l7: link?.status(),
      }),
    }, true);
  };
  const report = async () => {
    const nowMs = Date.now();
    const iface = detector?.status().find((t) => t.target === "interface");
    const body = metrics.take(await establishedConnections(), iface?.thresholds.pps ?? 0);
    enqueue("metrics", `metrics:${nowMs}`, nowMs * 1000, {
      op: "post",
      path: "/agent/metrics",
      body,
    });
  };
  const heartbeatTimer = setInterval(heartbeat, local.heartbeat_interval * 1000);
  const metricsTimer = setInterval(report, local.metrics_interval * 1000);
  heartbeat();

  return {
    ...base,
    incident(event) {
      const id = String(event.id);
      const eventUs = Date.parse(String(event.detected_at)) * 1000 || Date.now() * 1000;
      if (event.event === "open") {
        open.add(id);
        if (applied.pcap_enabled && recorder) pcapOpen.add(id);
        enqueue("incident", `incident:${id}:open`, eventUs, {
          op: "incident",
          event: "open",
          id,
          body: incidentCreateBody(event),
        });
        control.fetchNow();
      } else if (event.event === "update") {
        enqueue("incident", `incident:${id}:update:${event.detected_at}`, eventUs, {
          op: "incident",
          event: "update",
          id,
          body: incidentUpdateBody(event),
        });
      } else {
        open.delete(id);
        enqueue("incident", `incident:${id}:resolve`, eventUs, {
          op: "incident",
          event: "resolve",
          id,
          body: incidentResolveBody(event),
        });
        const known = recorder?.stats().recent.find((r) => r.id === id);
        if (pcapOpen.delete(id) && known !== undefined && known.packets > 0) {
          enqueue("pcap", `pcap:${id}`, eventUs, {
            op: "pcap",
            id,
            path: known.path,
            uploadId: randomHex16(),
          });
        }
      }
    },
    window(window) {
      const s = window.snapshot(0);
      lastSrcCount = s.src_count;
      metrics.add({
        pps: s.pps,
        bps: s.bps,
        tcp: s.protocols.tcp.packets,
        udp: s.protocols.udp.packets,
        icmp: s.protocols.icmp.packets,
        packets: s.packets,
      });
    },
    reconfigure(next) {
      local = next;
      applied = applyRemoteConfig(local, remote);
      detector?.configure(applied);
      link?.configure(applied);
    },
    pcapEnabled: () => applied.pcap_enabled,
    attachL7(l7) {
      link = l7;
      l7.configure(applied);
    },
    async stop() {
      clearInterval(heartbeatTimer);
      clearInterval(metricsTimer);
      await control.stop();
      await stopSenders();
    },
  };
}

function randomHex16(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
