/**
 * `deno task bench`: packets per second of decode + windows, with and without detection,
 * through the TypeScript reader and through the libpcap (FFI) reader, beside
 * `tcpdump -r FILE -w /dev/null` on the same file, in one run. Each measurement runs in a
 * fresh process. Usage: `deno task bench [PACKETS]` (default 5,000,000); `ROUNDS=N` sets the
 * number of interleaved rounds (default 5).
 *
 * @module
 */

import { writeMixedCapture } from "./_mixed_capture.ts";

const packets = Number(Deno.args[0] ?? 5_000_000);
const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/ftagent-bench-mixed-${packets}.pcap`;
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 5);

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

/** Seconds of one pass of `reader` in `mode`, measured in a fresh process. */
async function measure(reader: string, mode: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./_measure.ts", import.meta.url).pathname,
      reader,
      mode,
      path,
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`measurement ${reader} ${mode} failed`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  if (r.packets !== packets) throw new Error(`read ${r.packets} packets, expected ${packets}`);
  return r.seconds;
}

/** Seconds of one `tcpdump -r FILE -w /dev/null`. */
async function timeTcpdump(): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command("tcpdump", {
    args: ["-r", path, "-w", "/dev/null"],
    stderr: "null",
  })
    .output();
  if (!out.success) throw new Error("tcpdump failed");
  return (performance.now() - t) / 1000;
}

await ensureCapture();
const size = (await Deno.stat(path)).size;
const rows: [string, string, string][] = [
  ["tcpdump -r FILE -w /dev/null (reference)", "tcpdump", ""],
  ["TypeScript reader: read only", "ts", "read"],
  ["TypeScript reader: decode + windows", "ts", "windows"],
  ["TypeScript reader: ... + detection, no incident", "ts", "detection-idle"],
  ["TypeScript reader: ... + detection, incidents open", "ts", "detection"],
  ["libpcap (FFI) reader: read only", "libpcap", "read"],
  ["libpcap (FFI) reader: decode + windows", "libpcap", "windows"],
  ["libpcap (FFI) reader: ... + detection, no incident", "libpcap", "detection-idle"],
  ["libpcap (FFI) reader: ... + detection, incidents open", "libpcap", "detection"],
];
// Rounds interleave the configurations, so a noisy moment hits them all alike; best of ROUNDS.
const times: number[][] = rows.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < rows.length; i++) {
    const [, reader, mode] = rows[i];
    times[i].push(reader === "tcpdump" ? await timeTcpdump() : await measure(reader, mode));
  }
}
const results: [string, number][] = rows.map(([name], i) => [name, Math.min(...times[i])]);

const reference = results[0][1];
console.log(
  `\n${packets} packets, ${
    (size / 1e6).toFixed(0)
  } MB, best of ${ROUNDS}, one core (single-threaded)`,
);
console.log(
  `${"path".padEnd(52)} ${"seconds".padStart(8)} ${"Mpps".padStart(7)} ${
    "vs tcpdump".padStart(11)
  }`,
);
for (const [name, seconds] of results) {
  const mpps = (packets / seconds / 1e6).toFixed(2);
  const ratio = (reference / seconds).toFixed(2);
  console.log(
    `${name.padEnd(52)} ${seconds.toFixed(3).padStart(8)} ${mpps.padStart(7)} ${
      ratio.padStart(10)
    }x`,
  );
}
/**
 * Detection cost of row `i` over row `base`: from the best times, and the median and range of
 * the rounds' own ratios (each round measures both a few seconds apart, so a slow phase of this
 * shared machine moves both; the best times may come from different phases).
 */
const cost = (i: number, base: number) => {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const perRound = times[i].map((t, r) => t / times[base][r] - 1).sort((a, b) => a - b);
  const median = perRound[Math.floor(perRound.length / 2)];
  return `${pct(results[i][1] / results[base][1] - 1)} (rounds: median ${pct(median)}, ${
    pct(perRound[0])
  } to ${pct(perRound.at(-1)!)})`;
};
console.log("\ndetection cost, best times (per-round ratios), budget 10%:");
console.log(`  TypeScript reader, no incident:   ${cost(3, 2)}`);
console.log(`  TypeScript reader, incidents open: ${cost(4, 2)}`);
console.log(`  libpcap reader, no incident:       ${cost(7, 6)}`);
console.log(`  libpcap reader, incidents open:    ${cost(8, 6)}`);
