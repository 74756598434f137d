/**
 * `deno task bench:live`: the live capture cost of the agent beside tcpdump and FastNetMon, in
 * one run. Usage: `deno task bench:live [PACKETS]` (default 2,000,000). Needs root, iproute2 and
 * trafgen (netsniff-ng) or hping3; FastNetMon is measured when installed.
 *
 * All traffic stays inside a namespace pair the benchmark creates (tests/support/netns.ts, addresses in
 * 198.18.0.0/15), which is destroyed at the end. The same bounded UDP flood (PACKETS packets,
 * killed after 20 s) is sent from namespace a for each capturer in turn, one at a time, each
 * capturing on the receiving veth in namespace b. Before the flood, each capturer first sees
 * normal traffic: the same frames at 5,000 packets/s for 6 s, under every detection floor, as a
 * server has before an attack (for the agent, this is when its JIT compiles the per-packet
 * code, a one-time cost of about 0.1 CPU s that a flood on a silent link would otherwise be
 * charged). A capturer's CPU seconds are utime + stime of its process (and descendants) from
 * /proc, read just before the flood and again 1 s after it, before SIGTERM. Then the agent
 * idles on the quiet veth for 10 s: CPU % and VmRSS.
 *
 * Each pass measures the agent three times: reading every packet (`capture_sample_above_pps`
 * 0) with and without PCAP evidence, and with kernel sampling at the default 100,000 packets/s
 * (1 in N packets passes the socket filter; counts are scaled by N): its estimate error (packets
 * counted against packets sent) and the time from the flood's start to the incident's open are
 * reported beside its CPU. Each row also shows the softirq time of all CPUs (/proc/stat) over
 * the flood: where the kernel's receive path and the socket filter run.
 *
 * Two passes. Pinned (the verdict; `ROUNDS=N` repeats it and judges the median): the sender
 * runs on CPU 0 and the capturer on the last CPU. The kernel's receive path of a veth flood
 * (veth, IP, UDP, ICMP errors, the copy into the capture ring) runs in softirq on the sender's
 * CPU and is charged to whichever task is current there: pinning keeps that work out of the
 * capturer's account, so its CPU time is its own. Unpinned: the sender and the capturer share
 * every CPU, and each capturer carries an arbitrary part of the flood's kernel work (the more
 * often it wakes, the more).
 *
 * @module
 */

import { createNetnsPair, hasCommand, type NetnsPair } from "../tests/support/netns.ts";
import { cpuSeconds, rssMiB, sleep, Watched } from "./_live_proc.ts";
import {
  FASTNETMON_PROMETHEUS_PORT,
  fastnetmonCommand,
  fastnetmonMissing,
  fastnetmonPackets,
} from "./_live_fastnetmon.ts";

const PACKETS = Number(Deno.args[0] ?? 2_000_000);
const FLOOD_TIMEOUT_S = 20;
const IDLE_S = 10;
const READY_MS = 30_000;
const SETTLE_MS = 500;
const DRAIN_MS = 1000;
/** Normal traffic before each flood: packets, and packets per second (under every floor). */
const NORMAL_PACKETS = 30_000;
const NORMAL_PPS = 5000;
const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const TARGET_CPU_PER_MPKT = 0.45;
/** The sampled agent's `capture_sample_above_pps` (the default). */
const SAMPLE_ABOVE = 100_000;
/** Goal of the sampled agent: at most this many times tcpdump's CPU per million packets. */
const TARGET_SAMPLED_VS_TCPDUMP = 1.5;
/** Rounds of the pinned pass (`ROUNDS=N`); with several, the verdict takes the median. */
const ROUNDS = Math.max(1, Number(Deno.env.get("ROUNDS") ?? 1));

/** One measured (or failed) capturer. */
interface Row {
  name: string;
  sent?: number;
  seen?: number | null;
  drops?: number | null;
  cpu?: number;
  /** Softirq seconds of all CPUs over the flood (/proc/stat). */
  softirq?: number;
  /** The agent: ms from the flood's start to the first incident open, null when none. */
  openMs?: number | null;
  /** The agent: the highest kernel sampling rate it used (1: every packet). */
  sampleRate?: number;
  note: string;
  reference?: boolean;
}

/** The capturer's counterparts of a flood: its wall-clock start (ms). */
interface FloodInfo {
  startMs: number;
}

/** Flood from namespace a; returns the packets sent (tx counter delta of ifA) and seconds. */
type Flood = () => Promise<{ sent: number; seconds: number }>;

/** What each capturer receives: normal traffic first, then the measured flood. */
interface Traffic {
  normal: Flood;
  flood: Flood;
}

/** The CPU the capturer is pinned to in the pinned pass (the sender takes CPU 0). */
const CAPTURE_CPU = String(navigator.hardwareConcurrency - 1);

async function makeTraffic(
  pair: NetnsPair,
  dir: string,
  pinned: boolean,
): Promise<{ traffic: Traffic; how: string }> {
  const onCpu0 = pinned ? ["taskset", "-c", "0"] : [];
  const counted = async (cmd: string[]) => {
    const before = await pair.counters(pair.a, pair.ifA);
    const t = performance.now();
    await pair.exec(pair.a, ["timeout", String(FLOOD_TIMEOUT_S), ...cmd]);
    const seconds = (performance.now() - t) / 1000;
    const after = await pair.counters(pair.a, pair.ifA);
    return { sent: after.txPackets - before.txPackets, seconds };
  };
  if (await hasCommand("trafgen")) {
    const mac = async (ns: string, iface: string) =>
      (await pair.run(ns, ["cat", `/sys/class/net/${iface}/address`])).trim();
    const conf = `${dir}/udp.trafgen`;
    // 60-byte UDP frames to B (random source port, discard port), checksums by trafgen.
    await Deno.writeTextFile(
      conf,
      `{
  eth(da=${await mac(pair.b, pair.ifB)}, sa=${await mac(pair.a, pair.ifA)}),
  ipv4(saddr=${pair.addrA}, daddr=${pair.addrB}, ttl=64),
  udp(sp=drnd(), dp=9),
  fill(0x00, 18),
}
`,
    );
    const cpus = pinned ? "1" : String(Math.min(2, navigator.hardwareConcurrency));
    const cmd = [...onCpu0, "trafgen", "--dev", pair.ifA, "--conf", conf, "-q"];
    return {
      traffic: {
        normal: () =>
          counted([
            ...cmd,
            ...["--cpus", "1", "--rate", `${NORMAL_PPS}pps`, "--num", String(NORMAL_PACKETS)],
          ]),
        flood: () => counted([...cmd, "--cpus", cpus, "--num", String(PACKETS)]),
      },
      how: `trafgen --cpus ${cpus}${pinned ? " on CPU 0" : ""}, 60-byte UDP frames`,
    };
  }
  if (await hasCommand("hping3")) {
    const cmd = [
      ...onCpu0,
      ...["hping3", "-q", "--udp", "-p", "9", pair.addrB],
    ];
    const interval = `u${Math.round(1e6 / NORMAL_PPS)}`;
    return {
      traffic: {
        normal: () => counted([...cmd, "-i", interval, "-c", String(NORMAL_PACKETS)]),
        flood: () => counted([...cmd, "--flood", "-c", String(PACKETS)]),
      },
      how: `hping3 --flood --udp${pinned ? " on CPU 0" : ""} (no trafgen)`,
    };
  }
  throw new Error("no traffic generator: install netsniff-ng (trafgen) or hping3");
}

/**
 * Starts `cmd` in namespace b, waits for `ready`, floods, reads its CPU, stops it with SIGTERM
 * and lets `finish` read what it saw from its output.
 */
async function measure(
  pair: NetnsPair,
  traffic: Traffic,
  name: string,
  cmd: string[],
  ready: RegExp,
  finish: (
    output: string,
    code: number,
    extra: string,
    flood: FloodInfo,
  ) => Omit<Row, "name" | "sent" | "cpu">,
  beforeStop: () => Promise<string> = () => Promise.resolve(""),
): Promise<Row> {
  const child = new Watched(["ip", "netns", "exec", pair.b, ...cmd], { NO_COLOR: "1" });
  try {
    if (!(await child.waitFor(ready, READY_MS))) {
      const code = await child.stop("SIGKILL");
      return { name, note: `did not start (exit ${code}): ${lastLine(child.text)}` };
    }
    await sleep(SETTLE_MS);
    const normal = (await traffic.normal()).sent;
    await sleep(SETTLE_MS);
    const cpu0 = cpuSeconds(child.pid);
    const soft0 = softirqSeconds();
    const startMs = Date.now();
    const { sent, seconds } = await traffic.flood();
    await sleep(DRAIN_MS);
    const cpu1 = cpuSeconds(child.pid);
    const soft1 = softirqSeconds();
    if (cpu0 === null || cpu1 === null) {
      const code = await child.stop();
      return { name, sent, note: `exited during the flood (${code}): ${lastLine(child.text)}` };
    }
    const extra = await beforeStop();
    const code = await child.stop();
    const row = finish(child.text, code, extra, { startMs });
    const rate = `${(sent / seconds / 1000).toFixed(0)} kpps`;
    return {
      name,
      sent,
      cpu: cpu1 - cpu0,
      softirq: soft1 - soft0,
      ...row,
      // Capturers count from their start: the normal traffic is not part of the flood.
      seen: row.seen == null ? row.seen : row.seen - normal,
      note: [rate, row.note].filter(Boolean).join("; "),
    };
  } catch (err) {
    await child.stop("SIGKILL");
    return { name, note: `failed: ${err instanceof Error ? err.message : err}` };
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n").filter((l) => l.trim() !== "");
  return (lines.at(-1) ?? "no output").trim().slice(0, 160);
}

/** Softirq time of all CPUs so far (s), from the first line of /proc/stat. */
function softirqSeconds(): number {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/);
  return Number(f[7]) / 100; // cpu user nice system idle iowait irq softirq (USER_HZ)
}

async function agentConfig(dir: string, pcap: boolean, sampleAbove = 0): Promise<string> {
  const path = `${dir}/config-${pcap ? "pcap" : "nopcap"}-${sampleAbove}.json`;
  await Deno.mkdir(`${dir}/state-${pcap}`, { recursive: true });
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      state_dir: `${dir}/state-${pcap}`,
      log_file: `${dir}/ftagent-${pcap}.log`,
      pcap_dir: `${dir}/pcaps-${pcap}`,
      pcap_enabled: pcap,
      capture_sample_above_pps: sampleAbove,
    }),
  );
  return path;
}

function agentResult(
  output: string,
  code: number,
  _extra: string,
  flood: FloodInfo,
): Omit<Row, "name" | "sent" | "cpu"> {
  const m = /stopped: (\d+) packets, (\d+) malformed, kernel drops (\d+)/.exec(output);
  const opened = output.match(/incident open/g)?.length ?? 0;
  const exit = code === 0 ? "" : `exit ${code}; `;
  // The log line's time: "2026-12-08 04:35:04.930 +00:00 [WRN] ftagent: incident open ...".
  const open =
    /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) ([+-]\d\d:\d\d) \[\w+\] [^\n]*incident open/
      .exec(output);
  const openMs = open ? Date.parse(`${open[1]}T${open[2]}${open[3]}`) - flood.startMs : null;
  const rates = [...output.matchAll(/kernel sampling: 1 in (\d+)/g)].map((r) => Number(r[1]));
  const sampleRate = Math.max(1, ...rates);
  const sampling = sampleRate > 1 ? `; sampled up to 1 in ${sampleRate}` : "";
  if (!m) return { seen: null, drops: null, openMs, note: `${exit}no "stopped:" line` };
  return {
    seen: Number(m[1]),
    drops: Number(m[3]),
    openMs,
    sampleRate,
    note: `${exit}${opened} incident(s) opened${
      openMs === null ? "" : ` (first ${openMs} ms after the flood's start)`
    }, ${m[2]} malformed${sampling}`,
  };
}

function tcpdumpResult(output: string): Omit<Row, "name" | "sent" | "cpu"> {
  const n = (what: string) => {
    const m = new RegExp(`(\\d+) packets? ${what}`).exec(output);
    return m ? Number(m[1]) : null;
  };
  return { seen: n("captured"), drops: n("dropped by kernel"), note: "" };
}

async function runAll(
  pair: NetnsPair,
  dir: string,
  pinned: boolean,
): Promise<{ rows: Row[]; how: string }> {
  const { traffic, how } = await makeTraffic(pair, dir, pinned);
  const pin = pinned ? ["taskset", "-c", CAPTURE_CPU] : [];
  const deno = Deno.execPath();
  // The kernel's own work for the flood, with nothing capturing: the softirq baseline.
  const soft0 = softirqSeconds();
  const bare = await traffic.flood();
  const rows: Row[] = [{
    name: "(no capturer)",
    sent: bare.sent,
    softirq: softirqSeconds() - soft0,
    note: `${(bare.sent / bare.seconds / 1000).toFixed(0)} kpps; the flood's own softirq time`,
  }];
  await sleep(DRAIN_MS);
  const agents: [string, boolean, number][] = [
    ["ftagent (pcap_enabled true)", true, 0],
    ["ftagent (pcap_enabled false)", false, 0],
    [`ftagent sampled (capture_sample_above_pps ${SAMPLE_ABOVE})`, true, SAMPLE_ABOVE],
  ];
  for (const [name, pcap, sampleAbove] of agents) {
    const config = await agentConfig(dir, pcap, sampleAbove);
    rows.push(
      await measure(
        pair,
        traffic,
        name,
        [...pin, deno, "run", "--allow-all", CLI, "--interface", pair.ifB, "--config", config],
        /capturing on|error|Error/,
        agentResult,
      ),
    );
  }
  for (const snap of ["262144", "128"]) {
    rows.push({
      ...await measure(
        pair,
        traffic,
        `tcpdump -w /dev/null -B 65536 -s ${snap}`,
        [...pin, "tcpdump", "-i", pair.ifB, "-w", "/dev/null", "-B", "65536", "-s", snap],
        /listening on/,
        tcpdumpResult,
      ),
      reference: snap === "262144",
    });
  }
  const missing = await fastnetmonMissing();
  if (missing !== null) {
    rows.push({ name: "FastNetMon (AF_PACKET)", note: `not measured: ${missing}` });
  } else {
    const network = `${pair.addrB}/32`;
    const metrics = async () => {
      const url = `http://127.0.0.1:${FASTNETMON_PROMETHEUS_PORT}/metrics`;
      const r = await pair.exec(pair.b, [
        deno,
        "eval",
        `console.log(await (await fetch(${JSON.stringify(url)})).text())`,
      ]);
      return r.stdout;
    };
    rows.push(
      await measure(
        pair,
        traffic,
        `FastNetMon (AF_PACKET, fanout on ${pinned ? "its CPU" : "all CPUs"})`,
        [...pin, ...await fastnetmonCommand(dir, pair.ifB, network)],
        /AF_PACKET worker process|ERROR.*(AF_PACKET|interface)/,
        (_output, _code, extra) => {
          const seen = fastnetmonPackets(extra);
          return {
            seen,
            drops: null,
            note: seen === null
              ? "no Prometheus counter; kernel drops not reported"
              : "seen from Prometheus; kernel drops not reported",
          };
        },
        metrics,
      ),
    );
  }
  return { rows, how };
}

async function idle(pair: NetnsPair, dir: string): Promise<string> {
  const config = await agentConfig(dir, true);
  const cmd = [Deno.execPath(), "run", "--allow-all", CLI, "--interface", pair.ifB];
  const agent = new Watched(["ip", "netns", "exec", pair.b, ...cmd, "--config", config], {
    NO_COLOR: "1",
  });
  try {
    if (!(await agent.waitFor(/capturing on/, READY_MS))) {
      return `idle: the agent did not start: ${lastLine(agent.text)}`;
    }
    await sleep(1000);
    const cpu0 = cpuSeconds(agent.pid);
    const t = performance.now();
    await sleep(IDLE_S * 1000);
    const cpu1 = cpuSeconds(agent.pid);
    const seconds = (performance.now() - t) / 1000;
    const rss = rssMiB(agent.pid);
    if (cpu0 === null || cpu1 === null || rss === null) return "idle: the agent exited";
    const pct = (cpu1 - cpu0) / seconds * 100;
    return `idle: ftagent on a quiet veth for ${IDLE_S} s: ${pct.toFixed(2)}% CPU, VmRSS ${
      rss.toFixed(1)
    } MiB (target < 1% CPU: ${pct < 1 ? "met" : "NOT met"})`;
  } finally {
    await agent.stop();
  }
}

function table(rows: Row[]): string {
  const refRate = perMillion(rows.find((r) => r.reference));
  const head = [
    "capturer",
    "sent",
    "seen",
    "drops",
    "CPU s",
    "CPU s/Mpkt",
    "vs tcpdump",
    "softirq s",
    "notes",
  ];
  const cells = rows.map((r) => {
    const perM = perMillion(r);
    const num = (v: number | null | undefined) => v === undefined || v === null ? "-" : String(v);
    return [
      r.name,
      num(r.sent),
      num(r.seen),
      num(r.drops),
      r.cpu === undefined ? "-" : r.cpu.toFixed(2),
      perM === null ? "-" : perM.toFixed(3),
      perM === null || refRate === null || refRate === 0 ? "-" : `${(perM / refRate).toFixed(2)}x`,
      r.softirq === undefined ? "-" : r.softirq.toFixed(2),
      r.note,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => i === c.length - 1 ? v : i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))
      .join("  ");
  return [line(head), ...cells.map(line)].join("\n");
}

/** CPU s per million packets of a row, or null when it was not measured. */
function perMillion(r: Row | undefined): number | null {
  return r && r.cpu !== undefined && r.sent ? r.cpu / (r.sent / 1e6) : null;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 === 1 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Per capturer over the rounds: median and range of CPU s/Mpkt, and the median ratio to tcpdump. */
function summary(rounds: Row[][]): string {
  const lines = rounds[0].map(({ name }) => {
    const values: number[] = [];
    const ratios: number[] = [];
    for (const rows of rounds) {
      const v = perMillion(rows.find((r) => r.name === name));
      const ref = perMillion(rows.find((r) => r.reference));
      if (v === null) continue;
      values.push(v);
      if (ref) ratios.push(v / ref);
    }
    if (values.length === 0) return `  ${name}: not measured`;
    const range = `${Math.min(...values).toFixed(3)}-${Math.max(...values).toFixed(3)}`;
    const vs = ratios.length > 0 ? `, ${median(ratios).toFixed(2)}x tcpdump` : "";
    return `  ${name}: median ${median(values).toFixed(3)} CPU-s/Mpkt (${range})${vs}`;
  });
  return lines.join("\n");
}

function verdict(rounds: Row[][]): string {
  const agents = rounds.map((rows) =>
    rows.find((r) => r.name.startsWith("ftagent (pcap_enabled true)"))
  );
  const values = agents.map(perMillion).filter((v) => v !== null);
  if (values.length === 0) return "target: agent not measured";
  const drops = agents.some((a) => a?.drops !== 0) ? "some" : "0";
  const perM = median(values);
  const ok = perM <= TARGET_CPU_PER_MPKT && drops === "0";
  const what = values.length > 1 ? `median of ${values.length} rounds` : "one round";
  return `target (<= ${TARGET_CPU_PER_MPKT} CPU-s per million packets, 0 kernel drops): ${
    ok ? "met" : "NOT met"
  } (${perM.toFixed(3)} CPU-s/Mpkt, ${what}; ${drops} drops)`;
}

/** The sampled agent against tcpdump and the full-capture agent, per round. */
function sampledVerdict(rounds: Row[][]): string {
  const lines = rounds.map((rows) => {
    const s = rows.find((r) => r.name.startsWith("ftagent sampled"));
    const full = rows.find((r) => r.name.startsWith("ftagent (pcap_enabled true)"));
    const ref = perMillion(rows.find((r) => r.reference));
    const fnm = perMillion(rows.find((r) => r.name.startsWith("FastNetMon")));
    const v = perMillion(s);
    if (!s || v === null || !ref || !s.sent) return "  sampled agent: not measured";
    const ratio = v / ref;
    const err = s.seen == null ? "-" : `${((s.seen / s.sent - 1) * 100).toFixed(2)}%`;
    const ok = ratio <= TARGET_SAMPLED_VS_TCPDUMP && s.drops === 0;
    return `  sampled agent: ${v.toFixed(3)} CPU-s/Mpkt = ${ratio.toFixed(2)}x tcpdump` +
      `${fnm ? `, ${(v / fnm).toFixed(2)}x FastNetMon` : ""}` +
      ` (goal <= ${TARGET_SAMPLED_VS_TCPDUMP}x, 0 drops: ${ok ? "met" : "NOT met"}); ` +
      `drops ${s.drops}; up to 1 in ${s.sampleRate ?? 1}; estimate error ${err} of sent; ` +
      `open ${s.openMs ?? "-"} ms after the flood's start (full capture: ${
        full?.openMs ?? "-"
      } ms); softirq ${s.softirq?.toFixed(2)} s (full capture: ${full?.softirq?.toFixed(2)} s)`;
  });
  return lines.join("\n");
}

if (Deno.build.os !== "linux" || Deno.uid() !== 0) {
  console.error("bench:live needs Linux and root (network namespaces)");
  Deno.exit(1);
}
const started = performance.now();
const dir = await Deno.makeTempDir({ prefix: "ftagent-live-bench-" });
let pair: NetnsPair | null = null;
try {
  pair = await createNetnsPair();
  const pinned: { rows: Row[]; how: string }[] = [];
  for (let round = 0; round < ROUNDS; round++) pinned.push(await runAll(pair, dir, true));
  const unpinned = await runAll(pair, dir, false);
  const idleLine = await idle(pair, dir);
  const kernel = (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim();
  console.log(
    `\nlive capture cost: ${PACKETS} packets per capturer (<= ${FLOOD_TIMEOUT_S} s each), ` +
      `veth in a namespace pair, ${navigator.hardwareConcurrency} CPUs, Linux ${kernel}`,
  );
  console.log("CPU s = utime+stime of the capturer from just before the flood to 1 s after it;");
  console.log("CPU s/Mpkt is per million packets sent; vs tcpdump compares with the first");
  console.log("tcpdump row; seen can exceed sent by a few ICMP port-unreachable replies from b.");
  console.log(
    `Each capturer first saw ${NORMAL_PACKETS} packets of normal traffic at ${NORMAL_PPS} pps ` +
      "(not counted in CPU s or seen).",
  );
  pinned.forEach(({ rows, how }, round) => {
    const of = ROUNDS > 1 ? ` (round ${round + 1} of ${ROUNDS})` : "";
    console.log(
      `\npinned${of}: ${how}, each capturer on CPU ${CAPTURE_CPU} (its own CPU time only):\n`,
    );
    console.log(table(rows));
  });
  if (ROUNDS > 1) {
    console.log(`\npinned, over ${ROUNDS} rounds:\n${summary(pinned.map((p) => p.rows))}`);
  }
  console.log(
    `\nunpinned: ${unpinned.how}, capturers on any CPU (charged part of the flood's kernel work):\n`,
  );
  console.log(table(unpinned.rows));
  console.log(`\n${verdict(pinned.map((p) => p.rows))} (pinned pass)`);
  console.log(`kernel sampling (pinned pass):\n${sampledVerdict(pinned.map((p) => p.rows))}`);
  console.log(idleLine);
  console.log(`(whole run ${((performance.now() - started) / 1000).toFixed(0)} s)`);
} finally {
  await pair?.destroy();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
