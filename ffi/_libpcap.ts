/**
 * Loads libpcap (and the few libc calls the capture path needs) through Deno FFI.
 *
 * Each {@linkcode Libpcap} owns its own `dlopen` of both libraries and releases them on
 * {@linkcode Libpcap.close}, so a closed capture leaves no resource behind. The dynamic loader
 * keeps one copy of each library in memory however many are open.
 *
 * This folder imports nothing else of the project: it hands out raw pcap record bytes and
 * leaves parsing to the caller.
 *
 * libc's `setsockopt` is here for one reason: kernel sampling attaches a classic BPF program
 * with the random ancillary load (`ld rand`) to libpcap's own socket (`SO_ATTACH_FILTER` on
 * `pcap_get_selectable_fd`). `pcap_setfilter` takes such a program too, but then re-runs the
 * ring's blocks in use through its userland interpreter, which cannot execute `ld rand` and
 * drops every frame already captured (measured: 16,275 of 16,275 lost at one switch); the
 * socket option swaps the kernel filter alone and leaves the ring as it is.
 *
 * @module
 */

/** What went wrong, for callers that react differently (the message says it for people). */
export type PcapErrorKind =
  | "library"
  | "permission"
  | "no-device"
  | "device"
  | "filter"
  | "file"
  | "linktype"
  | "read";

/** An expected libpcap failure; `message` is one line meant for the operator. */
export class PcapError extends Error {
  /** The kind of failure. */
  readonly kind: PcapErrorKind;

  /** Creates the error; newlines in `message` are folded so it stays one line. */
  constructor(kind: PcapErrorKind, message: string) {
    super(message.replace(/\s*\n\s*/g, " ").trim());
    this.name = "PcapError";
    this.kind = kind;
  }
}

/** Library names tried in order when no explicit path is given. */
const LIBPCAP_NAMES: readonly string[] = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

/** Environment variable naming an explicit libpcap path (the `libraryPath` option wins). */
const LIBPCAP_ENV = "FTAGENT_LIBPCAP";

const LIBC_NAMES: readonly string[] = [
  "libc.so.6",
  "libc.musl-x86_64.so.1",
  "libc.musl-aarch64.so.1",
];

const INSTALL_HINT =
  "install the libpcap0.8 package (Debian/Ubuntu) or libpcap (RHEL/Fedora/Alpine)";

/** The libpcap functions the binding uses, with their C signatures in Deno FFI terms. */
const PCAP_SYMBOLS = {
  pcap_lib_version: { parameters: [], result: "pointer" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_datalink_val_to_name: { parameters: ["i32"], result: "pointer" },
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "pointer"], result: "i32" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  // int pcap_dispatch(pcap_t *, int cnt, pcap_handler callback, u_char *user)
  pcap_dispatch: { parameters: ["pointer", "i32", "pointer", "pointer"], result: "i32" },
  // The address of pcap_dump itself: passed as pcap_dispatch's callback, so libpcap writes
  // each record into our memory FILE without a JS call per packet.
  pcap_dump: { type: "pointer" },
  pcap_dump_fopen: { parameters: ["pointer", "pointer"], result: "pointer" },
  pcap_dump_flush: { parameters: ["pointer"], result: "i32" },
  pcap_dump_close: { parameters: ["pointer"], result: "void" },
} as const;

/** The libc functions the binding uses. */
const LIBC_SYMBOLS = {
  fmemopen: { parameters: ["pointer", "usize", "buffer"], result: "pointer" },
  fseek: { parameters: ["pointer", "i64", "i32"], result: "i32" },
  ftell: { parameters: ["pointer"], result: "i64" },
  fclose: { parameters: ["pointer"], result: "i32" },
  // Lets fwrite skip the stream's lock (glibc and musl; absent elsewhere): only the capture loop
  // writes to the batch stream.
  __fsetlocking: { parameters: ["pointer", "i32"], result: "i32", optional: true },
  // Runs on a worker thread and returns a Promise: waiting never blocks the event loop.
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32", nonblocking: true },
  // int setsockopt(int fd, int level, int name, const void *value, socklen_t len): kernel
  // sampling's socket filter (see the module doc).
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
} as const;

/** libpcap's symbols as Deno exposes them. */
export type PcapSymbols = Deno.DynamicLibrary<typeof PCAP_SYMBOLS>["symbols"];
/** libc's symbols as Deno exposes them. */
export type LibcSymbols = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** An open libpcap plus libc; close it when the capture using it is closed. */
export class Libpcap {
  /** libpcap functions. */
  readonly pcap: PcapSymbols;
  /** libc functions (fmemopen, fseek, ftell, fclose, __fsetlocking, poll, setsockopt). */
  readonly libc: LibcSymbols;
  /** The name or path libpcap was loaded from. */
  readonly path: string;
  /** libpcap's own version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
  readonly version: string;
  #pcapLib: Deno.DynamicLibrary<typeof PCAP_SYMBOLS> | null;
  #libcLib: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | null;

  /**
   * Loads libpcap from `libraryPath`, else from `$FTAGENT_LIBPCAP`, else the first of
   * {@linkcode LIBPCAP_NAMES} that loads. Throws a one-line {@linkcode PcapError} naming the
   * package to install when none does.
   */
  constructor(libraryPath?: string) {
    const explicit = libraryPath || envPath();
    const [pcapLib, path] = openPcap(explicit);
    let libcLib;
    try {
      libcLib = openLibc();
    } catch (err) {
      pcapLib.close();
      throw err;
    }
    this.#pcapLib = pcapLib;
    this.#libcLib = libcLib;
    this.pcap = pcapLib.symbols;
    this.libc = libcLib.symbols;
    this.path = path;
    this.version = cString(this.pcap.pcap_lib_version());
  }

  /** Unloads both libraries; safe to call twice. */
  close(): void {
    this.#pcapLib?.close();
    this.#libcLib?.close();
    this.#pcapLib = null;
    this.#libcLib = null;
  }
}

/** Reads a NUL-terminated C string; "" for a null pointer. */
export function cString(ptr: Deno.PointerValue): string {
  return ptr === null ? "" : Deno.UnsafePointerView.getCString(ptr);
}

/** The NUL-terminated text in `buf` (an error buffer), trimmed. */
export function bufString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end)).trim();
}

/** Encodes `text` as a NUL-terminated C string. */
export function toCString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function envPath(): string | undefined {
  try {
    return Deno.env.get(LIBPCAP_ENV) || undefined;
  } catch {
    return undefined; // no --allow-env: fall back to the default names
  }
}

function openPcap(
  explicit: string | undefined,
): [Deno.DynamicLibrary<typeof PCAP_SYMBOLS>, string] {
  const names = explicit ? [explicit] : LIBPCAP_NAMES;
  let reason = "";
  for (const name of names) {
    try {
      return [Deno.dlopen(name, PCAP_SYMBOLS), name];
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) {
        throw new PcapError("library", "loading libpcap needs the --allow-ffi permission");
      }
      reason = err instanceof Error ? err.message : String(err);
    }
  }
  if (explicit) {
    throw new PcapError(
      "library",
      `cannot load libpcap from ${explicit} (${
        shortReason(reason)
      }): ${INSTALL_HINT}, or fix ${LIBPCAP_ENV} / the library path option`,
    );
  }
  throw new PcapError(
    "library",
    `libpcap not found (tried ${names.join(", ")}): ${INSTALL_HINT}`,
  );
}

function openLibc(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS> {
  let reason = "";
  for (const name of LIBC_NAMES) {
    try {
      return Deno.dlopen(name, LIBC_SYMBOLS);
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
  }
  throw new PcapError(
    "library",
    `cannot load the C library (tried ${LIBC_NAMES.join(", ")}): ${shortReason(reason)}`,
  );
}

/** The loader's reason without the repeated library name ("...: cannot open shared object"). */
function shortReason(reason: string): string {
  const line = reason.split("\n")[0];
  const idx = line.lastIndexOf(": ");
  return idx >= 0 ? line.slice(idx + 2) : line;
}
