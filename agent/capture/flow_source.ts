/**
 * The flow collector as a packet source: sFlow v5, NetFlow v5/v9 and IPFIX datagrams from
 * routers and switches, decoded by the `FlowDecoder` of `core/flow`, fed to the pipeline's
 * weighted path (`Pipeline.addWeighted`): an sFlow sample counts as its sampling rate's worth
 * of packets at the collector's clock, a NetFlow/IPFIX record as its packets (times the
 * sampling rate) spread over the 100 ms slots it spans (`FlowSpreader`).
 *
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import {
  dropsByReason,
  FLOW_DROP_NAMES,
  FlowDecoder,
  flowMeta,
  type FlowProtocol,
  type FlowRecord,
  type FlowSample,
  type FlowSink,
} from "../../core/flow/mod.ts";
import { isAddress, PacketMeta, type PacketSink, parseAddress } from "../../core/packet/mod.ts";
import type { FlowSnapshot } from "../../core/report/mod.ts";
import { FlowSpreader, type WeightedSink } from "../../core/traffic/mod.ts";
import type { CaptureSource, RunOptions, SourceStats } from "./source.ts";

/** The UDP port of each protocol when `flow_port` is 0 (`auto`: NetFlow's). */
export const FLOW_DEFAULT_PORTS: Readonly<Record<FlowProtocol, number>> = {
  auto: 2055,
  sflow: 6343,
  netflow_v5: 2055,
  netflow_v9: 2055,
  ipfix: 4739,
};

/** Period (ms) of the clock tick that hands spread records over and closes windows. */
const TICK_MS = 100;
// No `recvBufferSize`: Deno's node:dgram (2.x) does not set SO_RCVBUF with it but allocates and
// zeroes a buffer of that size for every datagram received (8 MiB: 4 ms a datagram, 12x the
// decoding; measured with V8's profiler). The kernel buffer is `net.core.rmem_default`.

/** Options of {@linkcode FlowSource.open} (the `flow_*` config keys). */
export interface FlowSourceOptions {
  /** Datagrams read (default `auto`); others are dropped with a count. */
  protocol?: FlowProtocol;
  /** Address to bind (default `0.0.0.0`). */
  bind?: string;
  /** UDP port; 0 or none: {@linkcode FLOW_DEFAULT_PORTS}. */
  port?: number;
  /** Sampling rate applied to every record and sample; 0 or none: the exporter's. */
  sampleRate?: number;
  /** Exporters read (addresses); empty or none: any. */
  sourceIps?: readonly string[];
}

/** What a {@linkcode FlowSource} received, delivered and dropped. */
export interface FlowSourceStats extends SourceStats {
  /** Datagrams received (from allowed exporters or not). */
  datagrams: number;
  /** Datagrams from exporters not in `flow_source_ips`, dropped unread. */
  notAllowed: number;
  /** NetFlow/IPFIX records delivered. */
  flows: number;
  /** Packets the records and samples stand for (scaled by the sampling rate). */
  flowPackets: number;
  /** sFlow packet samples delivered. */
  samples: number;
  /** Decoder drops by reason (only reasons that occurred). */
  drops: Record<string, number>;
  /** Exporters and templates the decoder remembers now. */
  exporters: number;
  /** Templates remembered now. */
  templates: number;
  /** Records that started before the current slot (spread from it on, see `FlowSpreader`). */
  late: number;
  /** Records counted at once because too many were being spread. */
  overflow: number;
}

/** Flow datagrams on a UDP port, decoded and fed to the pipeline's weighted path. */
export class FlowSource implements CaptureSource {
  #socket: Socket;
  #port: number;
  #options: FlowSourceOptions;
  #decoder: FlowDecoder;
  #allowed: Set<string> | null;
  readonly #exporter = new Uint32Array(4);
  readonly #meta = new PacketMeta(false);
  #spreader: FlowSpreader | null = null;
  #target: WeightedSink | null = null;
  /** The running `run()`'s socket handlers (moved to a new socket on a restart). */
  #handlers:
    | { message: (msg: Uint8Array, from: { address: string }) => void; close: () => void }
    | null = null;
  #datagrams = 0;
  #notAllowed = 0;
  #flowPackets = 0;
  /** Counters of decoders replaced by a restart (protocol change). */
  #before = { flows: 0, samples: 0, counters: 0, drops: {} as Record<string, number> };
  #lastValidMs: number | null = null;
  #rateInUse = 0;
  #restarts = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(socket: Socket, port: number, options: FlowSourceOptions) {
    this.#socket = socket;
    this.#port = port;
    this.#options = { ...options };
    this.#allowed = allowList(options.sourceIps);
    this.#decoder = new FlowDecoder(this.#sink(), { protocol: options.protocol ?? "auto" });
  }

  /** `flow PROTOCOL BIND:PORT` (of the socket bound now). */
  get name(): string {
    return `flow ${this.#options.protocol ?? "auto"} ${
      this.#options.bind ?? "0.0.0.0"
    }:${this.#port}`;
  }

  /** The UDP port bound (the one asked for, or the kernel's choice for 0 in tests). */
  get port(): number {
    return this.#port;
  }

  /** Binds the collector; throws a one-line error (address in use, no permission). */
  static async open(options: FlowSourceOptions = {}): Promise<FlowSource> {
    const { socket, port } = await bindSocket(options);
    return new FlowSource(socket, port, options);
  }

  /**
   * Applies new `flow_*` settings while running: the sampling rate and the exporter allowlist
   * at once; a new protocol, address or port binds a new socket first (on failure a one-line
   * error is thrown and the running socket stays), then moves reading to it and closes the old
   * one (a new protocol also starts a new decoder: templates are learned again). Returns what
   * changed (empty: nothing). Calls run one after the other, in order.
   */
  reconfigure(options: FlowSourceOptions): Promise<string[]> {
    const next = this.#queue.then(() => this.#reconfigure(options));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #reconfigure(options: FlowSourceOptions): Promise<string[]> {
    if (this.#closed) throw new Error(`${this.name}: source is closed`);
    const was = this.#options;
    const changed: string[] = [];
    const same = (a: unknown, b: unknown) =>
      JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    const protocol = options.protocol ?? "auto";
    const rebind = protocol !== (was.protocol ?? "auto") ||
      (options.bind ?? "0.0.0.0") !== (was.bind ?? "0.0.0.0") ||
      (options.port || FLOW_DEFAULT_PORTS[protocol]) !==
        (was.port || FLOW_DEFAULT_PORTS[was.protocol ?? "auto"]);
    if (rebind) {
      const { socket, port } = await bindSocket(options);
      if (this.#closed) {
        socket.close();
        throw new Error(`${this.name}: source is closed`);
      }
      const old = this.#socket;
      const oldName = this.name;
      this.#detach(old);
      this.#socket = socket;
      this.#port = port;
      this.#attach(socket);
      old.close();
      if (protocol !== (was.protocol ?? "auto")) {
        this.#keepCounters();
        this.#decoder = new FlowDecoder(this.#sink(), { protocol });
      }
      this.#restarts++;
      this.#options = { ...options };
      changed.push(`collector moved from ${oldName.slice(5)} to ${this.name.slice(5)}`);
    }
    if ((options.sampleRate ?? 0) !== (was.sampleRate ?? 0)) {
      changed.push(`sample rate ${options.sampleRate || "from the exporter"}`);
    }
    if (!same(options.sourceIps ?? [], was.sourceIps ?? [])) {
      this.#allowed = allowList(options.sourceIps);
      const n = options.sourceIps?.length ?? 0;
      changed.push(n === 0 ? "any exporter" : `${n} exporter${n === 1 ? "" : "s"} allowed`);
    }
    this.#options = { ...options };
    return changed;
  }

  /**
   * Reads datagrams until the signal aborts or {@linkcode close}, feeding `sink` (a pipeline:
   * it must take weighted packets) and calling `options.onTick` every 100 ms with the clock.
   */
  run(sink: PacketSink, options: RunOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.name}: source is closed`));
    const target = sink as PacketSink & Partial<WeightedSink>;
    if (typeof target.addWeighted !== "function") {
      return Promise.reject(new Error(`${this.name}: the sink does not take flow records`));
    }
    if (this.#handlers !== null) {
      return Promise.reject(new Error(`${this.name}: already running`));
    }
    this.#target = target as WeightedSink;
    const spreader = new FlowSpreader(this.#target);
    this.#spreader = spreader;
    return new Promise((resolve) => {
      const tick = () => {
        const nowUs = Date.now() * 1000;
        spreader.advance(nowUs);
        options.onTick?.(nowUs);
      };
      const timer = setInterval(tick, TICK_MS);
      const done = () => {
        clearInterval(timer);
        spreader.flush(); // records still being spread count whole
        this.#detach(this.#socket);
        this.#handlers = null;
        options.signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#handlers = {
        message: (msg: Uint8Array, from: { address: string }) => this.#datagram(msg, from.address),
        close: done,
      };
      this.#attach(this.#socket);
      if (options.signal?.aborted) return done();
      options.signal?.addEventListener("abort", done, { once: true });
    });
  }

  #attach(socket: Socket): void {
    if (this.#handlers === null) return;
    socket.on("message", this.#handlers.message);
    socket.on("close", this.#handlers.close);
  }

  #detach(socket: Socket): void {
    if (this.#handlers === null) return;
    socket.off("message", this.#handlers.message);
    socket.off("close", this.#handlers.close);
  }

  /** One datagram from `address`: dropped when the exporter is not allowed, else decoded. */
  #datagram(msg: Uint8Array, address: string): void {
    this.#datagrams++;
    if (this.#allowed !== null && !this.#allowed.has(canonical(address))) {
      this.#notAllowed++;
      return;
    }
    try {
      parseAddress(address, this.#exporter);
    } catch {
      this.#exporter.fill(0);
    }
    const nowMs = Date.now();
    this.#spreader?.advance(nowMs * 1000);
    const s = this.#decoder.stats;
    const progress = s.flows + s.samples + s.counters + s.templates + s.withdrawals + s.held;
    const dropped = s.dropped;
    this.#decoder.decode(msg, 0, msg.length, this.#exporter, nowMs * 1000);
    // Valid: it decoded into something, or nothing of it was dropped.
    if (
      s.flows + s.samples + s.counters + s.templates + s.withdrawals + s.held > progress ||
      s.dropped === dropped
    ) this.#lastValidMs = nowMs;
  }

  /** Where the decoder's records and samples go. */
  #sink(): FlowSink {
    const meta = this.#meta;
    return {
      flow: (record: FlowRecord) => {
        const spreader = this.#spreader;
        if (spreader === null || record.ipVersion === 0) return;
        const configured = this.#options.sampleRate ?? 0;
        const rate = configured > 0 ? configured : record.samplingRate;
        this.#rateInUse = rate;
        flowMeta(record, meta);
        const nowUs = Date.now() * 1000;
        this.#flowPackets += record.packets * rate;
        spreader.add(
          meta,
          record.packets * rate,
          record.bytes * rate,
          record.firstUs,
          record.lastUs,
          nowUs,
        );
      },
      sample: (sampled: PacketMeta, sample: FlowSample) => {
        const configured = this.#options.sampleRate ?? 0;
        const rate = configured > 0 ? configured : sample.samplingRate;
        if (this.#target === null) return;
        this.#rateInUse = rate;
        this.#flowPackets += rate;
        this.#target.addWeighted(sampled, rate, sampled.wireLen * rate);
      },
      counters: () => {},
    };
  }

  /** The replaced decoder's counters, kept in the totals. */
  #keepCounters(): void {
    const s = this.#decoder.stats;
    const b = this.#before;
    b.flows += s.flows;
    b.samples += s.samples;
    b.counters += s.counters;
    FLOW_DROP_NAMES.forEach((name, i) => {
      if (s.drops[i] > 0) b.drops[name] = (b.drops[name] ?? 0) + s.drops[i];
    });
  }

  /** Counters so far: `packets` are the records and samples delivered, `dropped` the drops. */
  stats(): FlowSourceStats {
    const s = this.#decoder.stats;
    const b = this.#before;
    const drops: Record<string, number> = {};
    let dropped = 0;
    FLOW_DROP_NAMES.forEach((name, i) => {
      const n = s.drops[i] + (b.drops[name] ?? 0);
      if (n > 0) drops[name] = n;
      dropped += n;
    });
    const spread = this.#spreader?.stats;
    return {
      packets: s.flows + s.samples + b.flows + b.samples,
      received: this.#datagrams,
      dropped: dropped + this.#notAllowed,
      ifDropped: 0,
      datagrams: this.#datagrams,
      notAllowed: this.#notAllowed,
      flows: s.flows + b.flows,
      flowPackets: this.#flowPackets,
      samples: s.samples + b.samples,
      drops,
      exporters: this.#decoder.exporters,
      templates: this.#decoder.templates,
      late: spread?.late ?? 0,
      overflow: spread?.overflow ?? 0,
    };
  }

  /** The collector's counters for `/metrics`, `ftagent status` and the heartbeat. */
  flowSnapshot(): FlowSnapshot {
    const st = this.stats();
    return {
      source: this.name,
      protocol: this.#options.protocol ?? "auto",
      port: this.#port,
      running: this.#handlers !== null && !this.#closed,
      lastValidMs: this.#lastValidMs,
      datagrams: st.datagrams,
      notAllowed: st.notAllowed,
      flows: st.flows,
      samples: st.samples,
      counters: this.#decoder.stats.counters + this.#before.counters,
      packets: st.flowPackets,
      malformed: dropsByReason(st.drops),
      templates: st.templates,
      exporters: st.exporters,
      heldSets: this.#decoder.heldSets,
      kernelDrops: socketDrops(this.#port, this.#options.bind ?? "0.0.0.0"),
      sampleRate: this.#rateInUse,
      restarts: this.#restarts,
    };
  }

  /** Closes the socket (a running {@linkcode run} resolves); safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

/** Binds a UDP socket for `options`; rejects with a one-line error. */
function bindSocket(options: FlowSourceOptions): Promise<{ socket: Socket; port: number }> {
  const bind = options.bind ?? "0.0.0.0";
  const port = options.port || FLOW_DEFAULT_PORTS[options.protocol ?? "auto"];
  if (!isAddress(bind)) {
    return Promise.reject(new Error(`flow collector: ${bind} is not an IP address`));
  }
  const socket = createSocket({ type: bind.includes(":") ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      socket.close();
      reject(new Error(`flow collector on ${bind}:${port}: ${err.message}`));
    };
    socket.once("error", onError);
    socket.bind(port, bind, () => {
      socket.off("error", onError);
      resolve({ socket, port: socket.address().port });
    });
  });
}

/**
 * Datagrams the kernel dropped on the UDP socket bound to `bind`:`port` (the `drops` column of
 * /proc/net/udp or udp6; its receive buffer, `net.core.rmem_default`, was full), 0 when
 * unreadable.
 */
function socketDrops(port: number, bind: string): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let drops = 0;
  for (const file of bind.includes(":") ? ["/proc/net/udp6"] : ["/proc/net/udp"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 12 && f[1].endsWith(`:${hexPort}`)) drops += Number(f[f.length - 1]) || 0;
    }
  }
  return drops;
}

/** The allowlist of `flow_source_ips` (null: any exporter). */
function allowList(ips: readonly string[] | undefined): Set<string> | null {
  return ips !== undefined && ips.length > 0 ? new Set(ips.map(canonical)) : null;
}

/** One spelling per address (`::ffff:198.18.0.1` and `198.18.0.1` are the same exporter). */
function canonical(address: string): string {
  try {
    return parseAddress(address).join(",");
  } catch {
    return address;
  }
}
