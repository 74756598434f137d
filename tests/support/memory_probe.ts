/**
 * Spawned by memory_bound_test.ts: feeds 10 million packets from distinct random (spoofed)
 * sources through a Windower (a window per million packets, as if each million were one
 * second) and through one Window that takes all of them, then prints one JSON line with the
 * peak resident set size.
 *
 * @module
 */

import { PacketMeta } from "../../core/packet/mod.ts";
import { Window, Windower } from "../../core/traffic/mod.ts";
import { xorshift32 } from "./random.ts";

const PACKETS = Number(Deno.args[0] ?? 10_000_000);
const PER_WINDOW = 1_000_000;
const T = 1_700_000_000;
const MB = 1024 * 1024;

let peakRss = Deno.memoryUsage().rss;
const startRss = peakRss;
function sample(): void {
  const rss = Deno.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
}

/** Peak RSS the kernel saw (VmHWM), in bytes; 0 where /proc is not there. */
function vmHwm(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

let windows = 0;
let maxSrcCount = 0;
const windower = new Windower((w) => {
  const s = w.snapshot();
  windows++;
  if (s.src_count > maxSrcCount) maxSrcCount = s.src_count;
});
const all = new Window();
all.reset(T, PACKETS / PER_WINDOW);

const meta = new PacketMeta();
meta.wireLen = 60;
meta.ttl = 64;
meta.dst.set([0, 0, 0xffff, 0xc0000201]);
meta.dstPort = 80;
const next = xorshift32(0x9e3779b9);
for (let i = 0; i < PACKETS; i++) {
  meta.tsUs = (T + Math.floor(i / PER_WINDOW)) * 1e6 + (i % PER_WINDOW);
  if ((i & 3) === 3) {
    // Every fourth source is IPv6, out of a random /64.
    meta.ipVersion = 6;
    meta.src[0] = 0x20010db8;
    meta.src[1] = next();
    meta.src[2] = next();
    meta.src[3] = next();
  } else {
    meta.ipVersion = 4;
    meta.src[0] = 0;
    meta.src[1] = 0;
    meta.src[2] = 0xffff;
    meta.src[3] = next();
  }
  meta.protocol = (i & 1) === 0 ? 6 : 17;
  meta.tcpFlags = 0x02;
  meta.srcPort = next() & 0xffff;
  windower.add(meta);
  all.add(meta);
  if ((i & 0x3ffff) === 0) sample();
}
windower.flush();
const stats = all.snapshot();
sample();

console.log(JSON.stringify({
  packets: PACKETS,
  windows,
  max_window_src_count: maxSrcCount,
  all_src_count: stats.src_count,
  start_rss_mb: +(startRss / MB).toFixed(1),
  peak_rss_mb: +(peakRss / MB).toFixed(1),
  vm_hwm_mb: +(vmHwm() / MB).toFixed(1),
}));
