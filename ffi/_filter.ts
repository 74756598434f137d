/**
 * Kernel filters of a capture: the operator's filter compiled by libpcap, and kernel sampling,
 * a classic BPF program that passes 1 in N packets (the random ancillary load `ld rand`,
 * `SKF_AD_OFF + SKF_AD_RANDOM`, masked by N - 1), appended to the operator's filter so a
 * packet is sampled only once that filter accepted it. The combined program is attached to
 * libpcap's socket with `SO_ATTACH_FILTER` (see `_libpcap.ts` for why not `pcap_setfilter`).
 *
 * @module
 */

import { cString, type Libpcap, PcapError, toCString } from "./_libpcap.ts";

const PCAP_NETMASK_UNKNOWN = 0xffffffff;
const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
const SO_DETACH_FILTER = 27;
/** Longest classic BPF program the kernel takes (BPF_MAXINSNS). */
const MAX_INSNS = 4096;
/** `ld [SKF_AD_OFF + SKF_AD_RANDOM]`: a random 32-bit number (Linux 3.13 and later). */
const LD_RAND: Insn = [0x20, 0, 0, 0xfffff038];
const RET_K = 0x06;
const RET_A = 0x16;
const JA = 0x05;
const AND_K = 0x54;
const JEQ_K = 0x15;

type Insn = [code: number, jt: number, jf: number, k: number];

/**
 * Compiles `filter`, installs it with `pcap_setfilter` and returns a copy of its instructions
 * (8 bytes each, as `struct sock_filter`), so sampling can be appended to it later.
 */
export function setFilter(lib: Libpcap, p: Deno.PointerObject, filter: string): Uint8Array {
  const { pcap } = lib;
  const program = new Uint8Array(16); // struct bpf_program { u_int bf_len; bpf_insn *bf_insns; }
  if (pcap.pcap_compile(p, program, toCString(filter), 1, PCAP_NETMASK_UNKNOWN) < 0) {
    throw new PcapError("filter", `invalid capture filter "${filter}": ${geterr(lib, p)}`);
  }
  const view = new DataView(program.buffer);
  const count = view.getUint32(0, true);
  const insns = Deno.UnsafePointer.create(view.getBigUint64(8, true));
  const copy = new Uint8Array(count * 8);
  if (insns !== null && count > 0) {
    Deno.UnsafePointerView.copyInto(insns, copy);
  }
  const status = pcap.pcap_setfilter(p, program);
  pcap.pcap_freecode(program);
  if (status < 0) {
    throw new PcapError("filter", `cannot set capture filter "${filter}": ${geterr(lib, p)}`);
  }
  return copy;
}

/**
 * The program that passes 1 in `rate` packets (a power of two) of those `base` (the operator's
 * compiled filter, or null for none) accepts, keeping `snaplen` bytes. Null when `base` cannot
 * be extended (it returns the accumulator, or it would grow past the kernel's limit).
 */
export function sampledProgram(
  base: Uint8Array | null,
  rate: number,
  snaplen: number,
): Uint8Array | null {
  const out: Insn[] = [];
  const n = base === null ? 0 : base.length / 8;
  if (n + 5 > MAX_INSNS) return null;
  const view = base === null ? null : new DataView(base.buffer, base.byteOffset, base.length);
  for (let i = 0; i < n; i++) {
    const code = view!.getUint16(i * 8, true);
    const k = view!.getUint32(i * 8 + 4, true);
    if (code === RET_A) return null;
    // An accepting return jumps to the sampling tail instead; a rejecting one stays.
    if (code === RET_K && k !== 0) out.push([JA, 0, 0, n - i - 1]);
    else out.push([code, base![i * 8 + 2], base![i * 8 + 3], k]);
  }
  out.push(LD_RAND, [AND_K, 0, 0, rate - 1], [JEQ_K, 0, 1, 0], [RET_K, 0, 0, snaplen], [
    RET_K,
    0,
    0,
    0,
  ]);
  return encode(out);
}

/**
 * Replaces the kernel filter of socket `fd` with `program` (null: none). Throws a one-line
 * {@linkcode PcapError} when the kernel refuses it (e.g. a kernel older than 3.13).
 */
export function attachFilter(lib: Libpcap, fd: number, program: Uint8Array | null): void {
  if (program === null) {
    lib.libc.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, new Uint8Array(8), 0);
    return; // ENOENT when none was attached: nothing to undo
  }
  const fprog = new Uint8Array(16); // struct sock_fprog { unsigned short len; sock_filter *filter; }
  const view = new DataView(fprog.buffer);
  view.setUint16(0, program.length / 8, true);
  view.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(program))), true);
  if (lib.libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, 16) !== 0) {
    throw new PcapError("filter", "the kernel refused the sampling filter (SO_ATTACH_FILTER)");
  }
}

function encode(insns: Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const view = new DataView(out.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    out[i * 8 + 2] = jt;
    out[i * 8 + 3] = jf;
    view.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return out;
}

/** libpcap's last error on `p`, trimmed. */
export function geterr(lib: Libpcap, p: Deno.PointerObject): string {
  return cString(lib.pcap.pcap_geterr(p)).trim();
}
