/**
 * `deno task bench`: packets per second of decode + windows through the TypeScript reader and
 * through the libpcap (FFI) reader, beside `tcpdump -r FILE -w /dev/null` on the same file,
 * in one run. Usage: `deno task bench [PACKETS]` (default 5,000,000).
 *
 * @module
 */

import { Pipeline } from "../core/pipeline.ts";
import type { PacketSink } from "../core/packet.ts";
import { FileSource } from "../agent/file_source.ts";
import { LibpcapFileSource } from "../agent/libpcap_source.ts";
import type { CaptureSource } from "../agent/source.ts";
import { writeMixedCapture } from "./_mixed_capture.ts";

const packets = Number(Deno.args[0] ?? 5_000_000);
const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/ftagent-bench-mixed-${packets}.pcap`;
const ROUNDS = 3;

class Count implements PacketSink {
  n = 0;
  packet(): void {
    this.n++;
  }
}

async function ensureCapture(): Promise<void> {
  try {
    await Deno.stat(path);
    return;
  } catch {
    // generate below
  }
  const t = performance.now();
  await writeMixedCapture(path + ".tmp", packets);
  await Deno.rename(path + ".tmp", path);
  console.log(
    `generated ${path} (${packets} packets) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
}

/** Best of ROUNDS: seconds for one pass of `source` into `sink`. */
async function timeSource(
  open: () => CaptureSource,
  sink: () => PacketSink & { packets?: number; n?: number },
) {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const s = sink();
    const source = open();
    const t = performance.now();
    try {
      await source.run(s);
    } finally {
      source.close();
    }
    best = Math.min(best, (performance.now() - t) / 1000);
    const seen = s.packets ?? s.n;
    if (seen !== packets) throw new Error(`read ${seen} packets, expected ${packets}`);
  }
  return best;
}

async function timeTcpdump(): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const out = await new Deno.Command("tcpdump", {
      args: ["-r", path, "-w", "/dev/null"],
      stderr: "null",
    }).output();
    if (!out.success) throw new Error("tcpdump failed");
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

await ensureCapture();
const size = (await Deno.stat(path)).size;
const rows: [string, number][] = [];
rows.push(["tcpdump -r FILE -w /dev/null (reference)", await timeTcpdump()]);
rows.push([
  "TypeScript reader: read only",
  await timeSource(() => new FileSource(path), () => new Count()),
]);
rows.push([
  "TypeScript reader: decode + windows",
  await timeSource(() => new FileSource(path), () => new Pipeline(() => {})),
]);
rows.push([
  "libpcap (FFI) reader: read only",
  await timeSource(() => new LibpcapFileSource(path), () => new Count()),
]);
rows.push([
  "libpcap (FFI) reader: decode + windows",
  await timeSource(() => new LibpcapFileSource(path), () => new Pipeline(() => {})),
]);

const reference = rows[0][1];
console.log(
  `\n${packets} packets, ${
    (size / 1e6).toFixed(0)
  } MB, best of ${ROUNDS}, one core (single-threaded)`,
);
console.log(
  `${"path".padEnd(44)} ${"seconds".padStart(8)} ${"Mpps".padStart(7)} ${
    "vs tcpdump".padStart(11)
  }`,
);
for (const [name, seconds] of rows) {
  console.log(
    `${name.padEnd(44)} ${seconds.toFixed(3).padStart(8)} ${
      (packets / seconds / 1e6).toFixed(2).padStart(7)
    } ${(reference / seconds).toFixed(2).padStart(10)}x`,
  );
}
