/**
 * The reporting layer: the durable outbox (always; alert channels deliver from it too) and,
 * with an account (`api_key` and `node_uuid`), the Flowtriq control plane: incident events,
 * heartbeats, metrics and PCAP uploads queued in the outbox and drained by a sender, the
 * server's config fetched and applied over the local one, pending commands run and
 * acknowledged. Incident events and PCAP uploads have a lane of their own
 * ({@linkcode FLOWTRIQ_INCIDENT_CHANNEL}, drained by its own sender), so a backlog of acks,
 * heartbeats or metrics on the "flowtriq" lane never delays an incident. Nothing here runs on
 * the capture path except {@linkcode Reporting.window} (once a second) and
 * {@linkcode Reporting.incident} (a listener, behind its queue).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../../core/config/mod.ts";
import { BaselineMetric, type Detector, type IncidentEvent } from "../../core/detect/mod.ts";
import {
  applyRemoteConfig,
  type BreakerState,
  changedKeys,
  flowActive,
  type FlowSnapshot,
  heartbeatBody,
  incidentCreateBody,
  incidentResolveBody,
  incidentUpdateBody,
  type IocPattern,
  MetricsInterval,
  type RemoteConfig,
  settingText,
} from "../../core/report/mod.ts";
import type { Window } from "../../core/traffic/mod.ts";
import type { PcapRecorder } from "../evidence/mod.ts";
import { Outbox, type OutboxItem, type OutboxKind, type OutboxStats } from "../state/mod.ts";
import { establishedConnections } from "./connections.ts";
import { FlowtriqApi } from "./flowtriq_api.ts";
import {
  FLOWTRIQ_CHANNEL,
  FLOWTRIQ_INCIDENT_CHANNEL,
  flowtriqDeliver,
  type FlowtriqEntryBody,
} from "./flowtriq_delivery.ts";
import {
  type CommandHandler,
  RemoteControl,
  type RemoteControlOptions,
  unsupportedCommand,
} from "./remote_control.ts";
import { type Deliver, Sender, type SenderOptions, type SenderStats } from "./sender.ts";
import { ServerSwitches } from "./server_switches.ts";

/** What the reporting layer needs of the L7 part (see {@linkcode Reporting.attachL7}). */
export interface L7Link {
  /** Gets every merged config (the server's overrides over the local config). */
  configure(merged: Config): void;
  /** The heartbeat's `l7_enabled` (L7 is running) and `l7_status`. */
  status(): { enabled: boolean; status: string };
}

/** Counters of the reporting layer (for `/metrics` and `ftagent status`). */
export interface ReportingStats {
  /** Outbox depth and drops. */
  outbox: OutboxStats;
  /** Each sender's counters. */
  senders: SenderStats[];
  /** Failed control-plane API calls. */
  apiErrors: number;
  /** When the server suspended this node (ISO-8601), or null. */
  suspendedSince: string | null;
}

/** What a {@linkcode Reporting} needs. */
export interface ReportingOptions {
  /** The local config. */
  config: Config;
  /** The state database (the outbox's table and the incident id map). */
  db: DatabaseSync;
  /** Where delivery problems and applied server settings are told. */
  log: Logger;
  /** The agent's version (User-Agent, heartbeat). */
  version: string;
  /** The running detector: the server's config is applied to it; status feeds the reports. */
  detector?: Detector;
  /** The PCAP recorder, when PCAP evidence is on (uploads after resolve). */
  recorder?: PcapRecorder | null;
  /** Runs server commands (default: every command fails with "not supported"). */
  onCommand?: CommandHandler;
  /** The server's `force_update` turned true (gets the local config: `auto_update`, `state_dir`). */
  onForceUpdate?: (local: Config) => void;
  /** Sender tuning (tests). */
  sender?: SenderOptions;
  /** Command batching and pushed log folders (tests). */
  remote?: Pick<RemoteControlOptions, "maxCommands" | "moreCommandsGapMs" | "logDirs">;
  /** The flow collector, when the agent collects flows (the heartbeat's `flow_active`). */
  flow?: { flowSnapshot(): FlowSnapshot } | null;
  /** Whether GRE is stripped for detection (the heartbeat's `gre_dedup_enabled`). */
  greDedup?: () => boolean;
  /** Payloads sampled by the payload inspector since the start (the heartbeat's `pkt_samples_count`). */
  pktSamples?: () => number;
  /** A merged config whose `flow_*` keys changed (server `flow` block or reload). */
  onFlowConfig?: (merged: Config) => void;
  /** The server's `ioc_patterns` (every config response; none listed: an empty list). */
  onIocPatterns?: (patterns: IocPattern[]) => void;
}

/** Time {@linkcode Reporting.stop} gives the senders to empty their lanes (ms). */
const STOP_GRACE_MS = 2000;

/** The outbox, its senders, and with an account the control plane. */
export class Reporting {
  /** The durable outbox every channel delivers from. */
  readonly outbox: Outbox;
  readonly #opts: ReportingOptions;
  readonly #log: Logger;
  readonly #senders = new Map<string, Sender>();
  /** The control plane's parts, with an account. */
  readonly #api: FlowtriqApi | null = null;
  readonly #control: RemoteControl | null = null;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #local: Config;
  #remote: RemoteConfig = {};
  /** The local config with the server's overrides. */
  #applied: Config;
  #link: L7Link | null = null;
  /** Incidents open (config fetched more often), and those whose capture is to be uploaded. */
  readonly #open = new Set<string>();
  readonly #pcapOpen = new Set<string>();
  readonly #metrics = new MetricsInterval();
  #lastSrcCount = 0;
  /** The server's suspension, the `ip_blocklist` and the `gre_mode` in force. */
  readonly switches: ServerSwitches;

  /** Starts the outbox, and with an account the control-plane reporting. */
  constructor(opts: ReportingOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#local = opts.config;
    this.#applied = opts.config;
    this.switches = new ServerSwitches(opts.log);
    void this.switches.configure(opts.config);
    this.outbox = new Outbox(opts.db, { maxItems: opts.config.outbox_max_items });
    const c = opts.config;
    if (c.api_key === "" || c.node_uuid === "") return;
    const api = new FlowtriqApi({
      apiBase: c.api_base,
      apiKey: c.api_key,
      nodeUuid: c.node_uuid,
      version: opts.version,
      timeoutMs: c.api_timeout_seconds * 1000,
      onWarn: (m) => this.#warn(m),
    });
    this.#api = api;
    this.#info(`reporting to ${api.base} as node ${c.node_uuid}`);
    const control = new RemoteControl({
      api,
      outbox: this.outbox,
      onCommand: this.switches.guard(opts.onCommand ?? unsupportedCommand),
      onConfig: (config) => {
        this.switches.config(config, Date.now());
        if (config.force_update === true && this.#remote.force_update !== true) {
          opts.onForceUpdate?.(this.#local);
        }
        this.#remote = config;
        this.#apply();
        opts.onIocPatterns?.(config.ioc_patterns ?? []);
      },
      warn: (m) => this.#warn(m),
      info: (m) => this.#info(m),
      attackOpen: () => this.#open.size > 0 || this.switches.openUnreported > 0,
      ...(c.l7_remote_log_dirs.length > 0 ? { logDirs: c.l7_remote_log_dirs } : {}),
      ...opts.remote,
    });
    this.#control = control;
    const deliver = flowtriqDeliver({
      api,
      db: opts.db,
      onCommands: (list) => control.commandsFrom(list),
      pcapWriting: (id) => opts.recorder?.writing(id) ?? false,
      onNote: (m) => this.#warn(m),
    });
    // An ack delivered or refused frees room for the next batch of server commands.
    const settled = (item: { kind: string; key: string }) => {
      if (item.kind === "ack") control.settled(item.key);
    };
    this.addChannel(FLOWTRIQ_CHANNEL, deliver, { onSettled: settled });
    this.addChannel(FLOWTRIQ_INCIDENT_CHANNEL, deliver);
    this.#timers.push(
      setInterval(() => this.#heartbeat(), c.heartbeat_interval * 1000),
      setInterval(() => this.#report(), c.metrics_interval * 1000),
    );
    this.#heartbeat();
  }

  /**
   * Starts a sender for `channel` (one ordered lane); a second call for a channel is refused.
   * `onSettled` hears each entry delivered or refused for good.
   */
  addChannel(
    channel: string,
    deliver: Deliver,
    options: SenderOptions & { onSettled?: (item: OutboxItem) => void } = {},
  ): void {
    const { onSettled, ...senderOptions } = options;
    if (this.#senders.has(channel)) throw new Error(`channel ${channel} already has a sender`);
    let failures = 0;
    this.#senders.set(
      channel,
      new Sender(this.outbox, channel, deliver, {
        ...this.#opts.sender,
        ...senderOptions,
        onFailure: (item, error, attempt) => {
          // Logged at the first failure and then at powers of two: an outage is not a log flood.
          if ((++failures & (failures - 1)) === 0) {
            this.#warn(
              `${channel}: delivery failed (${failures} failures, ${item.kind} attempt ${attempt}): ${error}`,
            );
          }
        },
        onDead: (item, reason) => {
          this.#log.error(
            "{channel}: {kind} {key} refused for good, moved to the dead letters: {reason}",
            { channel, kind: item.kind, key: item.key, reason },
          );
          onSettled?.(item);
        },
        onDelivered: (item) => {
          if (failures > 0) this.#info(`${channel}: delivering again after ${failures} failures`);
          failures = 0;
          onSettled?.(item);
        },
      }),
    );
  }

  /** Outbox depth and drops, each sender's counters, and the control-plane API errors. */
  stats(): ReportingStats {
    return {
      outbox: this.outbox.stats(),
      senders: [...this.#senders.values()].map((s) => s.stats()),
      apiErrors: this.#api?.errors ?? 0,
      suspendedSince: this.switches.suspendedSince,
    };
  }

  /**
   * Queues an incident event for the control plane (nothing without an account). Outbound
   * findings (this host sending a flood) stay local: the control plane's incidents are attacks
   * on the node.
   */
  incident(event: IncidentEvent): void {
    if (this.#api === null || event.direction === "outbound") return;
    if (!this.switches.reports(event)) { // suspended: no report, but a config fetch
      return void (event.event === "open" && this.#control!.fetchNow());
    }
    const id = String(event.id);
    const eventUs = Date.parse(String(event.detected_at)) * 1000 || Date.now() * 1000;
    if (event.event === "open") {
      this.#open.add(id);
      if (this.#applied.pcap_enabled && this.#opts.recorder) this.#pcapOpen.add(id);
      this.#enqueue("incident", `incident:${id}:open`, eventUs, {
        op: "incident",
        event: "open",
        id,
        body: incidentCreateBody(event),
      });
      this.#control!.fetchNow();
    } else if (event.event === "update") {
      this.#enqueue("incident", `incident:${id}:update:${event.detected_at}`, eventUs, {
        op: "incident",
        event: "update",
        id,
        body: incidentUpdateBody(event),
      });
    } else {
      this.#open.delete(id);
      this.#enqueue("incident", `incident:${id}:resolve`, eventUs, {
        op: "incident",
        event: "resolve",
        id,
        body: incidentResolveBody(event),
      });
      const known = this.#opts.recorder?.stats().recent.find((r) => r.id === id);
      if (this.#pcapOpen.delete(id) && known !== undefined && known.packets > 0) {
        this.#enqueue("pcap", `pcap:${id}`, eventUs, {
          op: "pcap",
          id,
          path: known.path,
          uploadId: randomHex16(),
        });
      }
    }
  }

  /** One closed per-second interface window (for the metrics report). */
  window(window: Window): void {
    if (this.#api === null) return;
    const s = window.snapshot(0);
    this.#lastSrcCount = s.src_count;
    this.#metrics.add({
      pps: s.pps,
      bps: s.bps,
      tcp: s.protocols.tcp.packets,
      udp: s.protocols.udp.packets,
      icmp: s.protocols.icmp.packets,
      packets: s.packets,
    });
  }

  /** A new local config (SIGHUP): the server's overrides are applied over it again. */
  reconfigure(local: Config): void {
    this.#local = local;
    if (this.#api === null) {
      this.#applied = local;
      this.#link?.configure(local);
      void this.switches.configure(local);
      return;
    }
    const before = this.#applied;
    this.#applied = applyRemoteConfig(local, this.#remote);
    void this.switches.configure(this.#applied);
    this.#opts.detector?.configure(this.#applied);
    this.#link?.configure(this.#applied);
    this.#flowChanged(changedKeys(before, this.#applied));
  }

  /** Hands the merged config on when a `flow_*` key is among `changed`. */
  #flowChanged(changed: string[]): void {
    if (changed.some((k) => k.startsWith("flow_"))) this.#opts.onFlowConfig?.(this.#applied);
  }

  /** PCAP capture on or off (the local config, overridden by the server's `pcap_enabled`). */
  pcapEnabled(): boolean {
    return this.#applied.pcap_enabled;
  }

  /**
   * Links the L7 part (started after reporting): it gets the merged config now, at each
   * change and at each reload; heartbeats report its `l7_enabled` and `l7_status`.
   */
  attachL7(link: L7Link): void {
    this.#link = link;
    link.configure(this.#applied);
  }

  /** Flushes what it can (a few seconds at most), then stops every timer and sender. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#control?.stop();
    await Promise.all([...this.#senders.values()].map((s) => s.stop(STOP_GRACE_MS)));
  }

  /** The server's config changed: applies it over the local one and says what changed. */
  #apply(): void {
    const next = applyRemoteConfig(this.#local, this.#remote);
    const changed = changedKeys(this.#applied, next);
    this.#applied = next;
    void this.switches.configure(next);
    if (changed.length === 0) return;
    this.#opts.detector?.configure(next);
    this.#link?.configure(next);
    this.#info(
      `config from the server applied: ${
        changed.map((k) => `${k}=${settingText(next[k as keyof Config])}`).join(", ")
      }`,
    );
    this.#flowChanged(changed);
  }

  #heartbeat(): void {
    const nowMs = Date.now();
    const b = this.#opts.detector?.baseline;
    const out = this.outbox.stats();
    const recorder = this.#opts.recorder ?? null;
    this.#enqueue("heartbeat", `heartbeat:${nowMs}`, nowMs * 1000, {
      op: "post",
      path: "/agent/heartbeat",
      body: heartbeatBody({
        version: this.#opts.version,
        baselineReady: b?.ready ?? false,
        baselineAvgPps: b ? b.mean(BaselineMetric.PPS) : 0,
        baselineP99Pps: b ? b.p99(BaselineMetric.PPS) : 0,
        baselineHourlyReady: b?.hourlyReady ?? false,
        baselineCurrentHourP99: b ? b.hourlyP99(BaselineMetric.PPS, nowMs / 1000) : null,
        circuitBreaker: this.#breakerState(nowMs),
        retryQueueSize: out.depth,
        pcapActive: this.#applied.pcap_enabled && (recorder?.stats().recording ?? 0) > 0,
        flowActive: flowActive(this.#opts.flow?.flowSnapshot(), nowMs),
        greDedup: this.#opts.greDedup?.() ?? false,
        srcIpCount: this.#lastSrcCount,
        pktSamples: this.#opts.pktSamples?.() ?? 0,
        dropped: out.dropped,
        l7: this.#link?.status(),
      }),
    }, true);
  }

  /** The worse breaker state of the two control-plane lanes (open, then half-open). */
  #breakerState(nowMs: number): BreakerState {
    const states = [FLOWTRIQ_CHANNEL, FLOWTRIQ_INCIDENT_CHANNEL]
      .map((ch) => this.#senders.get(ch)?.breaker.state(nowMs) ?? "closed");
    return states.includes("open") ? "open" : states.includes("half-open") ? "half-open" : "closed";
  }

  async #report(): Promise<void> {
    const nowMs = Date.now();
    if (this.switches.suspended) return void this.#metrics.take(0, 0); // nothing sent
    const iface = this.#opts.detector?.status().find((t) => t.target === "interface");
    const body = this.#metrics.take(await establishedConnections(), iface?.thresholds.pps ?? 0);
    this.#enqueue("metrics", `metrics:${nowMs}`, nowMs * 1000, {
      op: "post",
      path: "/agent/metrics",
      body,
    });
  }

  #enqueue(
    kind: OutboxKind,
    key: string,
    eventUs: number,
    body: FlowtriqEntryBody,
    supersede = false,
  ): void {
    // Incident events and their PCAP uploads go on the priority lane (in their own order).
    const channel = kind === "incident" || kind === "pcap"
      ? FLOWTRIQ_INCIDENT_CHANNEL
      : FLOWTRIQ_CHANNEL;
    try {
      this.outbox.enqueue({ channel, kind, key, eventUs, body }, { supersede });
    } catch (err) {
      this.#log.error("cannot queue {key} in the outbox: {error}", { key, error: String(err) });
    }
  }

  #warn(message: string): void {
    this.#log.warn("{message}", { message });
  }

  #info(message: string): void {
    this.#log.info("{message}", { message });
  }
}

function randomHex16(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
