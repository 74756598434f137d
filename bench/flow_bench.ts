/**
 * `deno task bench:flows`: flow records decoded (and, for the agent, detected) per CPU-second,
 * ftagent against nfdump's collector nfcapd, on the same datagrams in the same run.
 *
 * The datagrams are softflowd's NetFlow v9 export of tests/fixtures/flows/netflow_v9.pcap
 * (14 datagrams, 412 flows, templates included), repeated `--repeat` times and replayed over
 * loopback at `--rate` datagrams/s, first to a real `ftagent` process (flow_enabled,
 * netflow_v9: decode, spread, pipeline, detector, incidents), then to a real `nfcapd`
 * (decode and write its nfcapd file). Each process's CPU time (user + system, from
 * /proc/PID/stat) is read just before the first datagram and once the last one is handled;
 * records handled are the agent's `ftagent_flow_records_total{kind="flow"}` and the flows of
 * nfcapd's file (`nfdump -r FILE -I`). Prints one JSON line: each collector's records, CPU
 * seconds, records per CPU-second, kernel drops, and the ratio agent / nfcapd.
 *
 * Flags: `--repeat N` (default 1500: 21,000 datagrams, 618,000 records), `--rate N`
 * (datagrams/s, default 2000), `--json` (only the JSON line).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createSocket } from "node:dgram";
import { flowDatagrams } from "../tests/support/flow_fixtures.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const TICK_S = 100; // USER_HZ of /proc/PID/stat

/** One collector's result. */
interface Result {
  records: number;
  cpuSeconds: number;
  recordsPerCpuSecond: number;
  kernelDrops: number;
}

function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK_S; // utime, stime
}

/** UDP datagrams the kernel dropped on sockets bound to `port` (/proc/net/udp). */
function udpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 12 && f[1].endsWith(hex))
    .reduce((n, f) => n + Number(f[f.length - 1]), 0);
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

function freeTcpPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `datagrams` `repeat` times to `port` at `rate` datagrams/s (in 10 ms steps). */
async function replay(port: number, datagrams: Uint8Array[], repeat: number, rate: number) {
  const socket = createSocket("udp4");
  const total = datagrams.length * repeat;
  const start = performance.now();
  for (let i = 0; i < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; i < due; i++) {
      const d = datagrams[i % datagrams.length];
      await new Promise<void>((resolve) => socket.send(d, port, "127.0.0.1", () => resolve()));
    }
    await sleep(10);
  }
  await new Promise<void>((resolve) => socket.close(resolve));
}

/** Polls `read()` until it stops growing for `quietMs`. */
async function settle(read: () => Promise<number> | number, quietMs = 1500): Promise<number> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const now = await read();
    if (now !== last) [last, since] = [now, performance.now()];
    else if (performance.now() - since > quietMs) return now;
    await sleep(100);
  }
}

async function benchAgent(datagrams: Uint8Array[], repeat: number, rate: number): Promise<Result> {
  const dir = await Deno.makeTempDir({ prefix: "ftbench-flows-" });
  const port = await freeUdpPort();
  const metricsPort = freeTcpPort();
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      state_dir: `${dir}/state`,
      log_file: "",
      log_level: "ERROR",
      metrics_port: metricsPort,
      flow_enabled: true,
      flow_protocol: "netflow_v9",
      flow_bind: "127.0.0.1",
      flow_port: port,
    }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI, "--config", `${dir}/config.json`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const records = async () => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^ftagent_flow_records_total\{kind="flow"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    } catch {
      return -1;
    }
  };
  try {
    for (let i = 0; (await records()) < 0; i++) {
      if (i > 300) throw new Error("the agent did not start");
      await sleep(100);
    }
    await sleep(1000);
    const cpu0 = cpuSeconds(child.pid);
    await replay(port, datagrams, repeat, rate);
    const n = await settle(records);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const kernelDrops = udpDrops(port);
    return { records: n, cpuSeconds: cpu, recordsPerCpuSecond: n / cpu, kernelDrops };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function benchNfcapd(
  datagrams: Uint8Array[],
  repeat: number,
  rate: number,
): Promise<Result> {
  const dir = await Deno.makeTempDir({ prefix: "ftbench-nfcapd-" });
  const port = await freeUdpPort();
  // One file for the whole run (rotation every hour), the socket buffer at its default.
  const child = new Deno.Command("nfcapd", {
    args: ["-w", dir, "-b", "127.0.0.1", "-p", String(port), "-t", "3600"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await sleep(1000);
    const cpu0 = cpuSeconds(child.pid);
    await replay(port, datagrams, repeat, rate);
    // nfcapd counts nothing it can be asked for while it runs: CPU stops growing when done.
    await settle(() => cpuSeconds(child.pid), 1500);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const kernelDrops = udpDrops(port);
    child.kill("SIGTERM");
    await child.status;
    const files = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("nfcapd.2"));
    let n = 0;
    for (const f of files) {
      const out = await new Deno.Command("nfdump", { args: ["-r", `${dir}/${f.name}`, "-I"] })
        .output();
      n += Number(/^Flows: (\d+)/m.exec(new TextDecoder().decode(out.stdout))?.[1] ?? 0);
    }
    return { records: n, cpuSeconds: cpu, recordsPerCpuSecond: n / cpu, kernelDrops };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      repeat: { type: "string", default: "1500" },
      rate: { type: "string", default: "2000" },
      json: { type: "boolean", default: false },
    },
  });
  const repeat = Number(values.repeat);
  const rate = Number(values.rate);
  const datagrams = flowDatagrams("netflow_v9").map((d) => d.bytes);
  const sent = { datagrams: datagrams.length * repeat, records: 412 * repeat };
  if (!values.json) {
    console.error(`replaying ${sent.datagrams} NetFlow v9 datagrams (${sent.records} records)`);
  }
  const agent = await benchAgent(datagrams, repeat, rate);
  if (!values.json) console.error(`ftagent: ${JSON.stringify(agent)}`);
  const nfcapd = await benchNfcapd(datagrams, repeat, rate);
  if (!values.json) console.error(`nfcapd:  ${JSON.stringify(nfcapd)}`);
  const round = (r: Result) => ({
    ...r,
    cpuSeconds: Math.round(r.cpuSeconds * 100) / 100,
    recordsPerCpuSecond: Math.round(r.recordsPerCpuSecond),
  });
  console.log(JSON.stringify({
    sent: { ...sent, ratePerSecond: rate },
    ftagent: round(agent),
    nfcapd: round(nfcapd),
    ratio: Math.round((agent.recordsPerCpuSecond / nfcapd.recordsPerCpuSecond) * 1000) / 1000,
  }));
}
