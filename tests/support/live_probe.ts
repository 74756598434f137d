/**
 * Test helper process: captures on one interface with {@linkcode LiveSource} and reports what
 * it saw. The tests start it inside a network namespace (`ip netns exec NS deno run ...`),
 * since a capture sees the interfaces of its own namespace.
 *
 * Arguments: `--iface IF` (required), `--seconds S` (longest run, default 5), `--filter EXPR`,
 * `--no-promisc`, `--library PATH`, `--stdin-stop` (also stop when standard input closes),
 * `--buffer-mb N` (kernel ring size), `--start-delay-ms N` (open, then wait before reading:
 * the ring fills, and the result's `drainMs` shows how fast it is read back),
 * `--close-after-ms N` (call `close()` during the run instead of aborting it).
 *
 * Output, one JSON object per line on stdout:
 * - `{"ready": true, ...}` once the interface is open (packets sent after this are captured);
 * - then the result: packets, decoded counts, source stats, onTick count and largest gap,
 *   the largest event-loop lag a 10 ms interval observed, run time and CPU time.
 * When the capture cannot be opened it prints `{"error": MESSAGE}`, writes MESSAGE as one line
 * on stderr and exits with code 2.
 *
 * @module
 */

import process from "node:process";
import { LiveSource } from "../../agent/capture/mod.ts";
import { decode, PacketMeta, type PacketSink, TcpFlag } from "../../core/packet/mod.ts";

/** What the probe prints when it finishes. */
export interface ProbeResult {
  packets: number;
  bytes: number;
  decoded: number;
  malformed: number;
  tcpSyn: number;
  linktype: number;
  stats: { packets: number; received: number; dropped: number; ifDropped: number };
  ticks: number;
  maxTickGapMs: number;
  maxLagMs: number;
  runMs: number;
  /** Run time between the first and the last packet (ms, 1024-packet resolution). */
  drainMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

class CountingSink implements PacketSink {
  packets = 0;
  bytes = 0;
  decoded = 0;
  malformed = 0;
  tcpSyn = 0;
  firstAt = -1;
  lastAt = -1;
  readonly meta = new PacketMeta();

  packet(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linktype: number,
  ): void {
    if (this.packets === 0) this.firstAt = performance.now();
    if ((++this.packets & 1023) === 0) this.lastAt = performance.now();
    this.bytes += wireLen;
    const m = this.meta;
    m.tsUs = tsUs;
    m.wireLen = wireLen;
    m.capLen = capLen;
    if (decode(buf, offset, capLen, linktype, m)) {
      this.decoded++;
      if (m.protocol === 6 && (m.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
        this.tcpSyn++;
      }
    } else {
      this.malformed++;
    }
  }
}

async function main(): Promise<number> {
  const iface = arg("--iface");
  if (!iface) throw new Error("--iface is required");
  const seconds = Number(arg("--seconds") ?? "5");
  let source: LiveSource;
  try {
    source = new LiveSource({
      device: iface,
      filter: arg("--filter"),
      promisc: !Deno.args.includes("--no-promisc"),
      libraryPath: arg("--library"),
      bufferBytes: arg("--buffer-mb") ? Number(arg("--buffer-mb")) * 1024 * 1024 : undefined,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.log(JSON.stringify({ error: message }));
    console.error(message);
    return 2;
  }

  let maxLag = 0;
  let last = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 10);
    last = now;
  }, 10);

  const ac = new AbortController();
  const stopTimer = setTimeout(() => ac.abort(), seconds * 1000);
  const closeAfter = Number(arg("--close-after-ms") ?? "0");
  const closeTimer = closeAfter > 0 ? setTimeout(() => source.close(), closeAfter) : undefined;
  if (Deno.args.includes("--stdin-stop")) {
    // Any input, or the end of input, stops the capture.
    Deno.stdin.read(new Uint8Array(64)).finally(() => ac.abort());
  }

  console.log(JSON.stringify({ ready: true, linktype: source.linktype, warning: source.warning }));
  const delay = Number(arg("--start-delay-ms") ?? "0");
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  const sink = new CountingSink();
  let ticks = 0;
  let lastTick = -1;
  let maxTickGap = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await source.run(sink, {
    signal: ac.signal,
    onTick: () => {
      const now = performance.now();
      if (lastTick >= 0) maxTickGap = Math.max(maxTickGap, now - lastTick);
      lastTick = now;
      ticks++;
    },
  });
  const runMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearTimeout(stopTimer);
  clearTimeout(closeTimer);
  clearInterval(lagTimer);
  source.close();
  const result: ProbeResult = {
    packets: sink.packets,
    bytes: sink.bytes,
    decoded: sink.decoded,
    malformed: sink.malformed,
    tcpSyn: sink.tcpSyn,
    linktype: source.linktype,
    stats: source.stats(),
    ticks,
    maxTickGapMs: Math.round(maxTickGap * 10) / 10,
    maxLagMs: Math.round(maxLag * 10) / 10,
    runMs: Math.round(runMs),
    drainMs: sink.lastAt > sink.firstAt ? Math.round(sink.lastAt - sink.firstAt) : 0,
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
  };
  console.log(JSON.stringify(result));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(1);
  }
}
