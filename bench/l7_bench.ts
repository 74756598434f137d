/**
 * `deno task bench:l7`: access log lines per second of parse + L7 windows (and of the whole
 * L7 detector) on one core, beside `wc -l` on the same file, in one run. Rates are per
 * CPU-second of the measuring process (user + system, from /proc: this machine is shared, so
 * wall time mostly measures the neighbours) and per wall second. The log is a
 * synthetic nginx combined log (normal browsing with a volumetric flood and a scraper in it;
 * cached in `$TMPDIR`). Each measurement runs in a fresh process; best of 5, interleaved.
 * Usage: `deno task bench:l7 [LINES]` (default 2,000,000).
 *
 * @module
 */

import { LogGenerator } from "../tests/support/access_logs.ts";

const lines = Number(Deno.args[0] ?? 2_000_000);
const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/ftagent-bench-access-${lines}.log`;
const ROUNDS = 5;

async function ensureLog(): Promise<void> {
  try {
    await Deno.stat(path);
    return;
  } catch {
    // generate below
  }
  const g = new LogGenerator(11);
  const file = await Deno.open(path + ".tmp", { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let written = 0;
  let t = 1795300000;
  const kinds = ["normal", "volumetric", "normal", "scraping", "cache_bypass"] as const;
  while (written < lines) {
    const kind = kinds[Math.floor(t / 60) % kinds.length];
    const n = Math.min(lines - written, kind === "normal" ? 2000 : 5000);
    const batch = g.second(t++, kind, n, true);
    await file.write(enc.encode(batch.join("\n") + "\n"));
    written += batch.length;
  }
  file.close();
  await Deno.rename(path + ".tmp", path);
  console.log(`generated ${path} (${lines} lines)`);
}

/** Wall and CPU seconds of one pass. */
interface Time {
  wall: number;
  cpu: number;
}

async function measure(mode: string): Promise<Time> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("./_l7_measure.ts", import.meta.url).pathname, mode, path],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`measurement ${mode} failed`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  if (r.lines !== lines) throw new Error(`${mode}: ${r.lines} lines, expected ${lines}`);
  if (mode !== "read" && r.parsed !== lines) {
    throw new Error(`${mode}: parsed ${r.parsed} of ${lines}`);
  }
  return { wall: r.seconds, cpu: r.cpu_seconds };
}

/** This process's reaped children's CPU seconds (cutime + cstime of /proc/self/stat). */
function childCpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // After the command name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime (fields 1..15 of the tail).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** `wc -l FILE`, its CPU time read from this process's children's counters once it is reaped. */
async function timeWc(): Promise<Time> {
  const cpu0 = childCpuSeconds();
  const t = performance.now();
  const out = await new Deno.Command("wc", { args: ["-l", path] }).output();
  const wall = (performance.now() - t) / 1000;
  if (!out.success) throw new Error("wc failed");
  const n = Number(new TextDecoder().decode(out.stdout).trim().split(/\s+/)[0]);
  if (n !== lines) throw new Error(`wc -l says ${n}`);
  return { wall, cpu: childCpuSeconds() - cpu0 };
}

await ensureLog();
const modes = ["read", "parse", "windows", "detection"];
const best: Record<string, Time> = { wc: { wall: Infinity, cpu: Infinity } };
for (const m of modes) best[m] = { wall: Infinity, cpu: Infinity };
const keep = (k: string, t: Time) => {
  best[k] = { wall: Math.min(best[k].wall, t.wall), cpu: Math.min(best[k].cpu, t.cpu) };
};
for (let round = 0; round < ROUNDS; round++) {
  keep("wc", await timeWc());
  for (const m of modes) keep(m, await measure(m));
}
const size = (await Deno.stat(path)).size;
const label: Record<string, string> = {
  wc: "`wc -l FILE` (reference: counts newlines)",
  read: "read + split into lines",
  parse: "read + split + parse",
  windows: "**read + split + parse + L7 windows** (target >= 200k)",
  detection: "read + split + parse + L7 detector (windows, baseline, incidents)",
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`${lines} lines, ${(size / 1e6).toFixed(0)} MB, best of ${ROUNDS}, one core`);
console.log("| path | lines per CPU-second | lines/s (wall) | vs wc -l (CPU) |");
console.log("| --- | ---: | ---: | ---: |");
for (const k of ["wc", ...modes]) {
  const b = best[k];
  // CPU clock ticks are 10 ms: wc on a small file may show 0.
  const perCpu = b.cpu > 0 ? lines / b.cpu : Infinity;
  const ratio = b.cpu > 0 && best.wc.cpu > 0 ? (best.wc.cpu / b.cpu).toFixed(4) + "x" : "-";
  console.log(`| ${label[k]} | ${fmt(perCpu)} | ${fmt(lines / b.wall)} | ${ratio} |`);
}
