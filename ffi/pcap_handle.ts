/**
 * A libpcap capture handle (live interface or savefile) that reads packets in batches into
 * one memory buffer as classic pcap records, with no JavaScript call per packet.
 *
 * `pcap_dispatch` is given libpcap's own `pcap_dump` as its callback and a dumper writing into
 * a libc `fmemopen` stream over a buffer we own: after each batch the buffer holds
 * `[pcap file header (first batch only)] record record ...`, ready for a streaming pcap
 * parser. Waiting for packets uses `poll()` on a worker thread, so an idle interface never
 * freezes the event loop.
 *
 * @module
 */

import { bufString, cString, Libpcap, PcapError, toCString } from "./_libpcap.ts";
import { attachFilter, geterr, sampledProgram, setFilter } from "./_filter.ts";

export { PcapError } from "./_libpcap.ts";
export type { PcapErrorKind } from "./_libpcap.ts";

/** Options for {@linkcode PcapHandle.openLive}. */
export interface LiveCaptureOptions {
  /** Interface to capture on, e.g. "eth0" (or "any"). */
  device: string;
  /** Bytes kept of each packet. Default 65535. */
  snaplen?: number;
  /** Kernel ring buffer size in bytes. Default 64 MiB. */
  bufferBytes?: number;
  /** TPACKET_V3 block timeout in ms: the longest a packet waits in a partly filled block. Default 50. */
  timeoutMs?: number;
  /** Promiscuous mode. Default true. */
  promisc?: boolean;
  /** BPF filter expression (tcpdump syntax); none by default. */
  filter?: string;
  /** Explicit libpcap path (else `$FTAGENT_LIBPCAP`, else the usual names). */
  libraryPath?: string;
  /** Size of the batch memory buffer in bytes; bounds the packets per batch. Default 64 MiB. */
  batchBytes?: number;
}

/** Options for {@linkcode PcapHandle.openOffline}. */
export interface OfflineCaptureOptions {
  /** Capture file (pcap or pcapng). */
  path: string;
  /** BPF filter expression (tcpdump syntax); none by default. */
  filter?: string;
  /** Explicit libpcap path (else `$FTAGENT_LIBPCAP`, else the usual names). */
  libraryPath?: string;
  /** Size of the batch memory buffer in bytes; bounds the packets per batch. Default 64 MiB. */
  batchBytes?: number;
}

/** Kernel counters of a live capture (`pcap_stats`), extended past 32 bits. */
export interface PcapStats {
  /** Packets that passed the filter (on Linux this includes `dropped`). */
  received: number;
  /** Packets dropped because the ring buffer was full. */
  dropped: number;
  /** Packets dropped by the interface or driver. */
  ifDropped: number;
}

/** Default snapshot length of live captures. */
const DEFAULT_SNAPLEN = 65535;
/** Default kernel ring size of live captures. */
const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024;
/** Default TPACKET_V3 block timeout (ms). */
const DEFAULT_TIMEOUT_MS = 50;
/**
 * Default batch memory buffer size: room for 1023 packets of 65535 bytes, so a live capture
 * reads about a thousand packets per call. Only the pages a batch writes become resident.
 */
const DEFAULT_BATCH_BYTES = 64 * 1024 * 1024;
/** Most packets one batch asks for, whatever the buffer would hold. */
const MAX_BATCH_PACKETS = 4096;

/** Link types (DLT values as `pcap_datalink` returns them) the project's decoder reads. */
const SUPPORTED_DLTS: ReadonlySet<number> = new Set([0, 1, 12, 14, 101, 108, 113, 228, 229, 276]);

const ERRBUF_SIZE = 256;
const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
const MAX_SNAPLEN = 262144;
const SEEK_SET = 0;
const FSETLOCKING_BYCALLER = 2;
const POLLIN = 1;
const PCAP_ERROR_BREAK = -2;
const PCAP_ERROR_NO_SUCH_DEVICE = -5;
const PCAP_ERROR_PERM_DENIED = -8;
const PCAP_ERROR_IFACE_NOT_UP = -9;
const PCAP_ERROR_PROMISC_PERM_DENIED = -11;

/**
 * An open capture. Call {@linkcode PcapHandle.readBatch} to get the next batch of records in
 * {@linkcode PcapHandle.buffer}; when it returns 0 on a live handle, await
 * {@linkcode PcapHandle.wait}.
 */
export class PcapHandle {
  /** Interface name or file path. */
  readonly name: string;
  /** True for an interface, false for a file. */
  readonly live: boolean;
  /** Link type of the records (LINKTYPE_* value, as written in the pcap header). */
  readonly linktype: number;
  /** Snapshot length: no record holds more bytes than this. */
  readonly snaplen: number;
  /** Packets one batch asks for (`pcap_dispatch` count). */
  readonly batchPackets: number;
  /** `pcap_activate`'s warning, if it gave one (e.g. promiscuous mode not supported). */
  readonly warning: string | null;
  /** libpcap's version string. */
  readonly libraryVersion: string;
  /**
   * The batch buffer: after {@linkcode PcapHandle.readBatch} returns `n`, bytes `[0, n)` are
   * pcap data (the first batch starts with the 24-byte file header). Overwritten by the next
   * batch.
   */
  readonly buffer: Uint8Array;
  /** Packets in the last batch. */
  packets = 0;
  /** True once a file handle reached its end. */
  eof = false;
  /** Kernel sampling: the kernel passes 1 in this many packets (1: every packet). */
  sampleRate = 1;

  readonly #lib: Libpcap;
  readonly #p: Deno.PointerObject;
  readonly #file: Deno.PointerObject;
  readonly #dumper: Deno.PointerObject;
  readonly #dumpFn: Deno.PointerObject;
  readonly #pollFd: Int32Array<ArrayBuffer>;
  readonly #pollEvents: Int16Array<ArrayBuffer>;
  readonly #pollPtr: Deno.PointerValue;
  readonly #statBuf = new Uint32Array(4);
  readonly #statPtr: Deno.PointerValue;
  readonly #statRaw = [0, 0, 0];
  readonly #statTotal = [0, 0, 0];
  readonly #limit: number;
  /** The operator's compiled filter (sampling is appended to it), null for none. */
  #filter: Uint8Array | null = null;
  #pendingError: PcapError | null = null;
  #headerPending = true;
  #inFlight = 0;
  #closeWanted = false;
  #closed = false;

  private constructor(
    lib: Libpcap,
    p: Deno.PointerObject,
    name: string,
    live: boolean,
    warning: string | null,
    batchBytes: number,
  ) {
    this.#lib = lib;
    this.#p = p;
    this.name = name;
    this.live = live;
    this.warning = warning;
    this.libraryVersion = lib.version;
    const { pcap, libc } = lib;
    const dlt = pcap.pcap_datalink(p);
    this.linktype = dlt === 12 || dlt === 14 ? 101 : dlt;
    let snap = pcap.pcap_snapshot(p);
    if (!(snap > 0 && snap <= MAX_SNAPLEN)) snap = MAX_SNAPLEN;
    this.snaplen = snap;
    const record = PCAP_RECORD_HEADER + snap;
    this.batchPackets = clampInt((batchBytes - PCAP_FILE_HEADER) / record, 1, MAX_BATCH_PACKETS);
    // Room for the file header and a full batch of snaplen-sized records, plus slack: the
    // stream reaching the end of the buffer means a record overflowed it.
    this.#limit = PCAP_FILE_HEADER + this.batchPackets * record;
    const size = this.#limit + 64;
    this.buffer = new Uint8Array(size);
    const file = libc.fmemopen(Deno.UnsafePointer.of(this.buffer), BigInt(size), toCString("w"));
    if (file === null) throw new PcapError("read", `${name}: fmemopen failed`);
    libc.__fsetlocking?.(file, FSETLOCKING_BYCALLER);
    this.#file = file;
    const dumper = pcap.pcap_dump_fopen(p, file);
    if (dumper === null) {
      libc.fclose(file);
      throw new PcapError("read", `${name}: ${this.#geterr()}`);
    }
    this.#dumper = dumper;
    this.#dumpFn = pcap.pcap_dump as Deno.PointerObject;
    // struct pollfd { int fd; short events; short revents; }
    const pollfd = new ArrayBuffer(8);
    this.#pollFd = new Int32Array(pollfd, 0, 1);
    this.#pollEvents = new Int16Array(pollfd, 4, 2);
    this.#pollFd[0] = live ? pcap.pcap_get_selectable_fd(p) : -1;
    this.#pollPtr = Deno.UnsafePointer.of(pollfd);
    this.#statPtr = Deno.UnsafePointer.of(this.#statBuf);
  }

  /**
   * Opens a live capture on `options.device`, nonblocking. Throws a one-line
   * {@linkcode PcapError} for a missing library, a missing interface, a lack of permission, an
   * unsupported link type or a bad filter.
   */
  static openLive(options: LiveCaptureOptions): PcapHandle {
    const device = options.device;
    const lib = new Libpcap(options.libraryPath);
    const { pcap } = lib;
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const p = pcap.pcap_create(toCString(device), errbuf);
    if (p === null) {
      lib.close();
      throw new PcapError("device", `cannot capture on ${device}: ${bufString(errbuf)}`);
    }
    try {
      pcap.pcap_set_snaplen(p, clampInt(options.snaplen ?? DEFAULT_SNAPLEN, 1, MAX_SNAPLEN));
      pcap.pcap_set_buffer_size(
        p,
        clampInt(options.bufferBytes ?? DEFAULT_BUFFER_BYTES, 65536, 2 ** 31 - 1),
      );
      pcap.pcap_set_timeout(p, clampInt(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 60000));
      pcap.pcap_set_promisc(p, options.promisc === false ? 0 : 1);
      const status = pcap.pcap_activate(p);
      let warning: string | null = null;
      if (status < 0) throw activateError(lib, p, device, status);
      if (status > 0) warning = geterr(lib, p) || cString(pcap.pcap_statustostr(status));
      const dlt = pcap.pcap_datalink(p);
      if (!SUPPORTED_DLTS.has(dlt)) {
        const dltName = cString(pcap.pcap_datalink_val_to_name(dlt)) || "unknown";
        throw new PcapError(
          "linktype",
          `capture on ${device} has link type ${dlt} (${dltName}), which ftagent does not decode`,
        );
      }
      const filter = options.filter ? setFilter(lib, p, options.filter) : null;
      if (pcap.pcap_setnonblock(p, 1, errbuf) < 0) {
        throw new PcapError("device", `cannot capture on ${device}: ${bufString(errbuf)}`);
      }
      const handle = new PcapHandle(
        lib,
        p,
        device,
        true,
        warning,
        options.batchBytes ?? DEFAULT_BATCH_BYTES,
      );
      handle.#filter = filter;
      return handle;
    } catch (err) {
      pcap.pcap_close(p);
      lib.close();
      throw err;
    }
  }

  /**
   * Opens a pcap or pcapng file. Throws a one-line {@linkcode PcapError} for a missing
   * library, a missing or unreadable file, a file that is not a capture, or a bad filter.
   */
  static openOffline(options: OfflineCaptureOptions): PcapHandle {
    const path = options.path;
    const lib = new Libpcap(options.libraryPath);
    const { pcap } = lib;
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const p = pcap.pcap_open_offline(toCString(path), errbuf);
    if (p === null) {
      lib.close();
      const msg = bufString(errbuf); // usually "PATH: reason" already
      throw new PcapError("file", msg.startsWith(path) ? msg : `${path}: ${msg}`);
    }
    try {
      if (options.filter) setFilter(lib, p, options.filter);
      return new PcapHandle(lib, p, path, false, null, options.batchBytes ?? DEFAULT_BATCH_BYTES);
    } catch (err) {
      pcap.pcap_close(p);
      lib.close();
      throw err;
    }
  }

  /**
   * Reads up to {@linkcode PcapHandle.batchPackets} packets that are ready now and returns how
   * many bytes of pcap data {@linkcode PcapHandle.buffer} holds (0 when nothing was ready).
   * Never blocks. Sets {@linkcode PcapHandle.eof} at the end of a file. A read error is thrown
   * as a {@linkcode PcapError} after the records read before it were returned.
   */
  readBatch(): number {
    if (this.#closed || this.#closeWanted) throw new Error(`${this.name}: capture is closed`);
    if (this.#pendingError !== null) throw this.#pendingError;
    const { pcap, libc } = this.#lib;
    const n = pcap.pcap_dispatch(this.#p, this.batchPackets, this.#dumpFn, this.#dumper);
    let error: PcapError | null = null;
    if (n < 0) {
      this.packets = 0;
      if (n !== PCAP_ERROR_BREAK) {
        error = new PcapError("read", `${this.name}: ${this.#geterr() || "read error"}`);
      }
    } else {
      this.packets = n;
      if (n === 0 && !this.live) this.eof = true;
    }
    if (n <= 0 && !this.#headerPending && error === null) return 0;
    // Records (and, the first time, the file header) may still sit in stdio's buffer.
    pcap.pcap_dump_flush(this.#dumper);
    this.#headerPending = false;
    const bytes = Number(libc.ftell(this.#file));
    libc.fseek(this.#file, 0n, SEEK_SET);
    if (bytes > this.#limit) {
      error = new PcapError("read", `${this.name}: a batch overflowed the capture buffer`);
    }
    if (error !== null) {
      if (bytes > 0 && bytes <= this.#limit) {
        this.#pendingError = error;
        return bytes;
      }
      throw error;
    }
    return bytes;
  }

  /**
   * Waits up to `timeoutMs` for packets on a live handle, on a worker thread (the event loop
   * keeps running). Resolves true when the handle is readable. On a file handle it only
   * yields to the event loop and resolves true.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.#closed || this.#closeWanted) return false;
    if (!this.live || this.#pollFd[0] < 0) {
      await this.yieldToEventLoop();
      return true;
    }
    this.#pollEvents[0] = POLLIN;
    this.#pollEvents[1] = 0;
    this.#inFlight++;
    try {
      const n = await this.#lib.libc.poll(this.#pollPtr, 1n, Math.max(0, Math.floor(timeoutMs)));
      return n > 0;
    } finally {
      this.#settle();
    }
  }

  /**
   * Lets timers, I/O and signal handlers run, cheaply: a no-op `poll()` on a worker thread
   * (about 20 µs; a zero timer costs 1-4 ms).
   */
  async yieldToEventLoop(): Promise<void> {
    if (this.#closed) return;
    this.#inFlight++;
    try {
      await this.#lib.libc.poll(null, 0n, 0);
    } finally {
      this.#settle();
    }
  }

  /**
   * Live handles: the kernel passes only 1 in `rate` packets (rounded down to a power of two;
   * 1 or less: every packet) of those the capture filter accepts, chosen at random. Frames
   * already in the ring stay. Throws a one-line {@linkcode PcapError} when the kernel refuses
   * the program or the capture filter cannot be extended (the sampling rate is then unchanged).
   */
  setSampling(rate: number): void {
    if (!this.live || this.#closed || this.#closeWanted) return;
    const n = rate >= 2 ? 2 ** Math.floor(Math.log2(Math.min(rate, 4096))) : 1;
    if (n === this.sampleRate) return;
    let program = this.#filter;
    if (n > 1) {
      // A cooked ("any") capture's filter needs libpcap's offset fixes: not reusable raw.
      const cooked = this.linktype === 113 || this.linktype === 276;
      program = cooked && program !== null ? null : sampledProgram(program, n, this.snaplen);
      if (program === null) {
        throw new PcapError("filter", `${this.name}: kernel sampling cannot extend this filter`);
      }
    }
    attachFilter(this.#lib, this.#pollFd[0], program);
    this.sampleRate = n;
  }

  /** Kernel counters of a live capture; null for a file (libpcap keeps none). */
  stats(): PcapStats | null {
    if (!this.live) return null;
    if (!this.#closed && this.#lib.pcap.pcap_stats(this.#p, this.#statPtr) === 0) {
      for (let i = 0; i < 3; i++) {
        const raw = this.#statBuf[i];
        // u_int counters wrap at 2^32; keep counting past it.
        this.#statTotal[i] += (raw - this.#statRaw[i] + 4294967296) % 4294967296;
        this.#statRaw[i] = raw;
      }
    }
    const [received, dropped, ifDropped] = this.#statTotal;
    return { received, dropped, ifDropped };
  }

  /**
   * Releases the handle and the libraries; safe to call twice. While a wait is in flight the
   * release happens as soon as it returns (at most the wait's timeout later).
   */
  close(): void {
    if (this.#closed) return;
    if (this.live) this.stats(); // keep the final counters readable after close
    this.#closeWanted = true;
    if (this.#inFlight === 0) this.#release();
  }

  #settle(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#closeWanted) this.#release();
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    const { pcap } = this.#lib;
    pcap.pcap_dump_close(this.#dumper); // also closes the memory FILE
    pcap.pcap_close(this.#p);
    this.#lib.close();
  }

  #geterr(): string {
    return geterr(this.#lib, this.#p);
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  if (!Number.isFinite(v)) return lo;
  return Math.min(hi, Math.max(lo, Math.floor(v)));
}

function activateError(
  lib: Libpcap,
  p: Deno.PointerObject,
  device: string,
  status: number,
): PcapError {
  const detail = geterr(lib, p) || cString(lib.pcap.pcap_statustostr(status));
  if (
    status === PCAP_ERROR_PERM_DENIED || status === PCAP_ERROR_PROMISC_PERM_DENIED ||
    /operation not permitted|permission denied|EPERM|EACCES/i.test(detail)
  ) {
    return new PcapError(
      "permission",
      `capture on ${device} is not permitted: run as root or grant CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode)`,
    );
  }
  if (status === PCAP_ERROR_NO_SUCH_DEVICE) {
    return new PcapError("no-device", `no such interface: ${device}`);
  }
  if (status === PCAP_ERROR_IFACE_NOT_UP) {
    return new PcapError("device", `interface ${device} is down`);
  }
  return new PcapError("device", `cannot capture on ${device}: ${detail}`);
}
