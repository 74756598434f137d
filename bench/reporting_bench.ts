/**
 * `deno run -A bench/reporting_bench.ts [PACKETS]`: capture throughput and detection latency
 * with the control-plane API down (the outbox filling: heartbeats and metrics every 50 ms,
 * incident events) against the API up (a stand-in server in another process), in one run,
 * alternating rounds, each measurement in a fresh process. Prints each case and the ratios:
 * wall-time throughput, packets per CPU second of the process (steadier on a shared machine)
 * and the detection latency (flood onset to the incident open, packet time plus the lag behind
 * the recorded pace).
 *
 * @module
 */

import { writeMixedCapture } from "./_mixed_capture.ts";
import { CORPUS } from "../tests/support/cli.ts";
import { framesOf, webFrames, writeSplice } from "../tests/support/splice.ts";

const packets = Number(Deno.args[0] ?? 2_000_000);
const FAST_PAIRS = 15;
const PACED_PAIRS = 3;
const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
const mixed = `${tmp}/ftagent-bench-mixed-${packets}.pcap`;
const floods = `${tmp}/ftagent-bench-floods.pcap`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (!(await exists(mixed))) {
  await writeMixedCapture(mixed + ".tmp", packets);
  await Deno.rename(mixed + ".tmp", mixed);
}
// 16 s at the recorded pace: web traffic with four short SYN floods.
const syn = await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`);
const ONSETS = [1, 5, 9, 13];
await writeSplice(floods, [
  { frames: webFrames("10.10.10.10"), fromS: 0, toS: 16, pps: 500 },
  ...ONSETS.map((s) => ({ frames: syn, fromS: s, toS: s + 1.5, pps: 8000 })),
]);

const stub = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./_api_stub.ts", import.meta.url).pathname],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = stub.stdout.pipeThrough(new TextDecoderStream()).getReader();
const { base } = JSON.parse((await reader.read()).value!);
// A port nobody listens on: connections are refused (the API is down).
const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const downBase = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}/api/v1`;
closed.close();

interface Result {
  packets: number;
  seconds: number;
  cpuSeconds: number;
  opens: { atMs: number; lagMs: number }[];
  depth: number;
  sent: number;
  failed: number;
}

async function measure(mode: "fast" | "paced", api: string, file: string): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_reporting_measure.ts", import.meta.url).pathname,
      mode,
      api,
      file,
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`measurement ${mode} ${api} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Mean detection latency (ms): flood onset to the open seen, packet time plus the lag. */
function latency(r: Result): number {
  if (r.opens.length !== ONSETS.length) {
    throw new Error(`expected ${ONSETS.length} incidents, got ${r.opens.length}`);
  }
  const each = r.opens.map((o, i) => o.atMs - ONSETS[i] * 1000 + o.lagMs);
  return each.reduce((a, b) => a + b, 0) / each.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  await measure("fast", downBase, mixed); // warm-up (file cache, Deno's module cache)
  const tput: Record<"up" | "down", number[]> = { up: [], down: [] };
  const cpu: Record<"up" | "down", number[]> = { up: [], down: [] };
  const lat: Record<"up" | "down", number[]> = { up: [], down: [] };
  // Throughput: many short pairs, the order alternating, so drift in the machine's load
  // weighs on both cases alike.
  for (let r = 0; r < FAST_PAIRS; r++) {
    for (const side of r % 2 === 0 ? ["up", "down"] as const : ["down", "up"] as const) {
      const f = await measure("fast", side === "up" ? base : downBase, mixed);
      tput[side].push(f.packets / f.seconds);
      cpu[side].push(f.packets / f.cpuSeconds);
      console.log(
        `pair ${r + 1} API ${side.padEnd(4)} ${(f.packets / f.seconds / 1e6).toFixed(3)} Mpps, ` +
          `${(f.packets / f.cpuSeconds / 1e6).toFixed(3)} M packets per CPU second ` +
          `(outbox ${f.depth} waiting, ${f.sent} sent)`,
      );
    }
  }
  for (let r = 0; r < PACED_PAIRS; r++) {
    for (const side of r % 2 === 0 ? ["up", "down"] as const : ["down", "up"] as const) {
      const p = await measure("paced", side === "up" ? base : downBase, floods);
      lat[side].push(latency(p));
      console.log(
        `paced ${r + 1} API ${side.padEnd(4)} detection latency ${latency(p).toFixed(1)} ms ` +
          `(lag ${p.opens.map((o) => o.lagMs.toFixed(1)).join("/")} ms; ` +
          `outbox ${p.depth} waiting, ${p.sent} sent)`,
      );
    }
  }
  const ratio = (xs: Record<"up" | "down", number[]>) =>
    median(xs.down.map((d, i) => d / xs.up[i])).toFixed(3);
  console.log(
    `throughput: API up ${(median(tput.up) / 1e6).toFixed(3)} Mpps, API down ` +
      `${(median(tput.down) / 1e6).toFixed(3)} Mpps; down/up median of pairs ${ratio(tput)}`,
  );
  console.log(
    `packets per CPU second: API up ${(median(cpu.up) / 1e6).toFixed(3)} M, API down ` +
      `${(median(cpu.down) / 1e6).toFixed(3)} M; down/up median of pairs ${ratio(cpu)}`,
  );
  console.log(
    `detection latency: API up ${median(lat.up).toFixed(1)} ms, API down ` +
      `${median(lat.down).toFixed(1)} ms; down/up median of pairs ${ratio(lat)}`,
  );
} finally {
  stub.kill("SIGTERM");
  await reader.cancel().catch(() => {});
  await stub.status;
}
