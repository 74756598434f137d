/**
 * Fuzzing through the flow source: a real `ftagent` process with flow_enabled (`auto`) on a
 * loopback port, sent mutated sFlow/NetFlow/IPFIX datagrams (the mutations of
 * `flow_fuzz.ts`) over UDP from four exporter addresses (127.0.0.1-4), then asked for its
 * `/metrics`: it must still run and answer, have read the datagrams, count the malformed ones
 * by reason, and keep its resident memory bounded (RSS after a warm-up vs at the end).
 *
 * Used by tests/cli/flow_udp_fuzz_test.ts (20,000 datagrams) and by `deno task fuzz:flows:udp`
 * (`deno run -A tests/support/flow_udp_fuzz.ts [count] [seed]`, 1,000,000).
 *
 * @module
 */

import { createSocket, type Socket } from "node:dgram";
import { spawnFtagent } from "./cli.ts";
import { fuzzCorpus, mutate } from "./flow_fuzz.ts";
import { xorshift32 } from "./random.ts";
import { agentScratch } from "./scratch.ts";

/** What a fuzzing run through the agent's socket saw. */
export interface UdpFuzzResult {
  /** Datagrams sent. */
  sent: number;
  /** Datagrams the agent says it received (`ftagent_flow_datagrams_total`). */
  received: number;
  /** Datagrams the kernel dropped (`ftagent_flow_kernel_dropped_datagrams_total`). */
  kernelDrops: number;
  /** Records decoded by kind (flow, sample, counters). */
  records: Record<string, number>;
  /** Malformed datagrams, sets and records by reason (only those > 0). */
  malformed: Record<string, number>;
  /** Exporters and templates the agent remembers at the end. */
  exporters: number;
  templates: number;
  /** The agent answered `/health` with 200 at the end. */
  healthy: boolean;
  /** Resident memory (MiB) after the warm-up and at the end, and its peak (VmHWM). */
  rssWarmMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
  /** The agent's exit code after SIGTERM (0: a clean stop). */
  exitCode: number;
  /** Lines of the agent's log with "error" or "uncaught" (must be none). */
  errors: string[];
  /** Wall time of the sending (ms). */
  elapsedMs: number;
}

/** A UDP port nothing listens on right now. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function rssMiB(pid: number, field = "VmRSS"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/** The samples of `name` in a Prometheus text: label value (or "") -> value. */
function series(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}(?:\\{\\w+="([^"]*)"\\})? (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) out[m[1] ?? ""] = Number(m[2]);
  return out;
}

/**
 * Starts the agent, sends `count` mutated datagrams (seeded: a failure reproduces) in batches
 * of `batch`, each after the agent has read the one before, and stops the agent.
 */
export async function fuzzAgentOverUdp(
  count: number,
  seed = 1,
  batch = 48,
): Promise<UdpFuzzResult> {
  const port = await freeUdpPort();
  const metricsPort = freeTcpPort();
  const { dir, config } = await agentScratch("fta-flowfuzz-", {
    metrics_port: metricsPort,
    log_file: "",
    flow_enabled: true,
    flow_protocol: "auto",
    flow_bind: "127.0.0.1",
    flow_port: port,
  });
  const child = spawnFtagent(["--config", config]);
  let log = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      log += dec.decode(chunk);
      if (log.length > 1 << 20) log = log.slice(-(1 << 19)); // the tail is enough
    }
  })();
  const sockets: Socket[] = [];
  const base = `http://127.0.0.1:${metricsPort}`;
  try {
    const end = performance.now() + 20_000;
    while (!log.includes(`:${metricsPort}/metrics`)) {
      if (performance.now() > end) throw new Error(`the agent did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 1; i <= 4; i++) {
      const s = createSocket("udp4");
      await new Promise<void>((resolve) => s.bind(0, `127.0.0.${i}`, resolve));
      sockets.push(s);
    }
    const rand = xorshift32(seed);
    const corpus = fuzzCorpus();
    const sendOne = () => {
      const src = corpus[rand() % corpus.length];
      const bytes = rand() % 8 === 0 ? src : mutate(src, corpus, rand);
      const socket = sockets[rand() % sockets.length];
      return new Promise<void>((resolve) => socket.send(bytes, port, "127.0.0.1", () => resolve()));
    };
    const metrics = async () => {
      try {
        return await (await fetch(`${base}/metrics`)).text();
      } catch (err) {
        throw new Error(`the agent does not answer (${(err as Error).message}):\n${log}`);
      }
    };
    const received = async () => series(await metrics(), "ftagent_flow_datagrams_total")[""] ?? 0;
    /** Waits until the agent has read `n` datagrams, or nothing more arrives for 5 s. */
    const drained = async (n: number) => {
      let last = -1;
      let since = performance.now();
      for (;;) {
        const got = await received();
        if (got >= n) return;
        if (got !== last) [last, since] = [got, performance.now()];
        if (performance.now() - since > 5000) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const start = performance.now();
    const warm = Math.min(count, 5000);
    let sent = 0;
    // Closed loop: a batch, then wait until the agent has read it (the kernel's receive
    // buffer is not the thing under test, and a loaded machine must not lose datagrams).
    const sendUpTo = async (n: number) => {
      while (sent < n) {
        const k = Math.min(batch, n - sent);
        await Promise.all(Array.from({ length: k }, sendOne));
        sent += k;
        await drained(sent);
      }
    };
    await sendUpTo(warm);
    await drained(sent);
    const rssWarmMiB = rssMiB(child.pid);
    await sendUpTo(count);
    await drained(sent);
    const elapsedMs = performance.now() - start;
    const text = await metrics();
    const health = await fetch(`${base}/health`);
    await health.body?.cancel();
    const malformed = Object.fromEntries(
      Object.entries(series(text, "ftagent_flow_malformed_total")).filter(([, n]) => n > 0),
    );
    const result: UdpFuzzResult = {
      sent,
      received: series(text, "ftagent_flow_datagrams_total")[""] ?? 0,
      kernelDrops: series(text, "ftagent_flow_kernel_dropped_datagrams_total")[""] ?? 0,
      records: series(text, "ftagent_flow_records_total"),
      malformed,
      exporters: series(text, "ftagent_flow_exporters")[""] ?? 0,
      templates: series(text, "ftagent_flow_templates")[""] ?? 0,
      healthy: health.status === 200,
      rssWarmMiB,
      rssEndMiB: rssMiB(child.pid),
      rssPeakMiB: rssMiB(child.pid, "VmHWM"),
      exitCode: -1,
      errors: [],
      elapsedMs,
    };
    child.kill("SIGTERM");
    result.exitCode = (await child.status).code;
    await reading;
    result.errors = log.split("\n").filter((l) => /error|uncaught/i.test(l));
    return result;
  } finally {
    for (const s of sockets) await new Promise<void>((resolve) => s.close(resolve));
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await reading.catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 1_000_000);
  const seed = Number(Deno.args[1] ?? 1);
  const r = await fuzzAgentOverUdp(count, seed);
  console.log(JSON.stringify({ ...r, elapsedMs: Math.round(r.elapsedMs) }));
  if (r.exitCode !== 0 || !r.healthy || r.errors.length > 0) Deno.exit(1);
}
