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
  FLOW_DROP_NAMES,
  FlowDecoder,
  flowMeta,
  type FlowProtocol,
  type FlowRecord,
  type FlowSample,
  type FlowSink,
} from "../../core/flow/mod.ts";
import { isAddress, PacketMeta, type PacketSink, parseAddress } from "../../core/packet/mod.ts";
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
/** Socket receive buffer asked for (the kernel may give less: `net.core.rmem_max`). */
const RECEIVE_BUFFER = 8 << 20;

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
  /** `flow PROTOCOL BIND:PORT`. */
  readonly name: string;
  /** The UDP port bound (the one asked for, or the kernel's choice for 0 in tests). */
  readonly port: number;
  readonly #socket: Socket;
  readonly #decoder: FlowDecoder;
  readonly #sampleRate: number;
  readonly #allowed: Set<string> | null;
  readonly #exporter = new Uint32Array(4);
  readonly #meta = new PacketMeta(false);
  #spreader: FlowSpreader | null = null;
  #target: WeightedSink | null = null;
  #datagrams = 0;
  #notAllowed = 0;
  #flowPackets = 0;
  #closed = false;

  private constructor(socket: Socket, port: number, options: FlowSourceOptions) {
    const protocol = options.protocol ?? "auto";
    this.#socket = socket;
    this.port = port;
    this.name = `flow ${protocol} ${options.bind ?? "0.0.0.0"}:${port}`;
    this.#sampleRate = options.sampleRate ?? 0;
    const ips = options.sourceIps ?? [];
    this.#allowed = ips.length > 0 ? new Set(ips.map(canonical)) : null;
    this.#decoder = new FlowDecoder(this.#sink(), { protocol });
  }

  /** Binds the collector; throws a one-line error (address in use, no permission). */
  static open(options: FlowSourceOptions = {}): Promise<FlowSource> {
    const bind = options.bind ?? "0.0.0.0";
    const port = options.port || FLOW_DEFAULT_PORTS[options.protocol ?? "auto"];
    if (!isAddress(bind)) throw new Error(`flow collector: ${bind} is not an IP address`);
    const socket = createSocket({
      type: bind.includes(":") ? "udp6" : "udp4",
      recvBufferSize: RECEIVE_BUFFER,
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        socket.close();
        reject(new Error(`flow collector on ${bind}:${port}: ${err.message}`));
      };
      socket.once("error", onError);
      socket.bind(port, bind, () => {
        socket.off("error", onError);
        resolve(new FlowSource(socket, socket.address().port, options));
      });
    });
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
    this.#target = target as WeightedSink;
    const spreader = new FlowSpreader(this.#target);
    this.#spreader = spreader;
    const socket = this.#socket;
    return new Promise((resolve) => {
      const onMessage = (msg: Uint8Array, from: { address: string }) => {
        this.#datagram(msg, from.address);
      };
      const tick = () => {
        const nowUs = Date.now() * 1000;
        spreader.advance(nowUs);
        options.onTick?.(nowUs);
      };
      const timer = setInterval(tick, TICK_MS);
      const done = () => {
        clearInterval(timer);
        spreader.flush(); // records still being spread count whole

        socket.off("message", onMessage);
        socket.off("close", done);
        options.signal?.removeEventListener("abort", done);
        resolve();
      };
      socket.on("message", onMessage);
      socket.on("close", done);
      if (options.signal?.aborted) return done();
      options.signal?.addEventListener("abort", done, { once: true });
    });
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
    const nowUs = Date.now() * 1000;
    this.#spreader?.advance(nowUs);
    this.#decoder.decode(msg, 0, msg.length, this.#exporter, nowUs);
  }

  /** Where the decoder's records and samples go. */
  #sink(): FlowSink {
    const meta = this.#meta;
    return {
      flow: (record: FlowRecord) => {
        const spreader = this.#spreader;
        if (spreader === null || record.ipVersion === 0) return;
        const rate = this.#sampleRate > 0 ? this.#sampleRate : record.samplingRate;
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
        const rate = this.#sampleRate > 0 ? this.#sampleRate : sample.samplingRate;
        if (this.#target === null) return;
        this.#flowPackets += rate;
        this.#target.addWeighted(sampled, rate, sampled.wireLen * rate);
      },
      counters: () => {},
    };
  }

  /** Counters so far: `packets` are the records and samples delivered, `dropped` the drops. */
  stats(): FlowSourceStats {
    const s = this.#decoder.stats;
    const drops: Record<string, number> = {};
    FLOW_DROP_NAMES.forEach((name, i) => {
      if (s.drops[i] > 0) drops[name] = s.drops[i];
    });
    const spread = this.#spreader?.stats;
    return {
      packets: s.flows + s.samples,
      received: this.#datagrams,
      dropped: s.dropped + this.#notAllowed,
      ifDropped: 0,
      datagrams: this.#datagrams,
      notAllowed: this.#notAllowed,
      flows: s.flows,
      flowPackets: this.#flowPackets,
      samples: s.samples,
      drops,
      exporters: this.#decoder.exporters,
      templates: this.#decoder.templates,
      late: spread?.late ?? 0,
      overflow: spread?.overflow ?? 0,
    };
  }

  /** Closes the socket (a running {@linkcode run} resolves); safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

/** One spelling per address (`::ffff:198.18.0.1` and `198.18.0.1` are the same exporter). */
function canonical(address: string): string {
  try {
    return parseAddress(address).join(",");
  } catch {
    return address;
  }
}
