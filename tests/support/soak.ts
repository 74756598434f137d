// The soak: the real agent (`ftagent --pcap` at the recorded pace, its own process) against a
// stand-in control plane in this process, while faults are injected on schedule (see
// soak_plan.ts): API answering 503, API port closed, a python3 process holding the state
// database, the state disk (a real tmpfs) filled to the last byte. It samples the agent's RSS
// (/proc/PID/status), its /metrics and /health, then checks every flood's incident against
// what the control plane received and what the store holds (soak_report.ts).
import { spawnFtagent } from "./cli.ts";
import { fill, freePort, holdDatabase, mountTmpfs, storedIncidents, unmount } from "./faults.ts";
import { FlowtriqServer } from "./flowtriq_server.ts";
import { agentScratch } from "./scratch.ts";
import {
  type FaultKind,
  fmtMin,
  plannedFaults,
  planSeconds,
  type SoakPlan,
  writeSoakCapture,
} from "./soak_plan.ts";
import { judgeSoak, type SoakReport } from "./soak_report.ts";

const VICTIM = "198.18.10.10";
/** Size of the state tmpfs (the database of an hour fits many times). */
const STATE_TMPFS = "64m";

/** One sample of the agent process (every second). */
export interface Sample {
  /** Seconds since the capture started. */
  t: number;
  rssKiB: number;
  /** From /metrics (NaN when it did not answer). */
  heapBytes: number;
  tickAgeS: number;
  stateFault: number;
  statePending: number;
  outboxDepth: number;
  apiErrors: number;
}

/** One /health probe (every 500 ms): when, how long, the HTTP status (0: no answer). */
export interface HealthProbe {
  t: number;
  ms: number;
  status: number;
}

/** A fault as it was injected (seconds since the capture started). */
export interface InjectedFault {
  kind: FaultKind;
  fromS: number;
  toS: number;
  /** What showed the fault took hold (e.g. "state_fault seen 1", "api errors +4"). */
  effect: string;
  /** True when the agent saw it (API errors counted, or its state writes waited). */
  tookHold: boolean;
}

/** What a soak run observed; judged by {@linkcode judgeSoak}. */
export interface SoakObservation {
  plan: SoakPlan;
  samples: Sample[];
  health: HealthProbe[];
  faults: InjectedFault[];
  server: FlowtriqServer;
  stored: ReturnType<typeof storedIncidents>;
  exitCode: number | null;
  logLines: string[];
  wallS: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function vmRssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

function metric(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || !/[ {]/.test(line[name.length] ?? "")) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    sum = Number.isNaN(sum) ? v : sum + v;
  }
  return sum;
}

/**
 * Runs the soak of `plan`; `say` gets progress lines. Cleans up (agent, lock holder, tmpfs,
 * scratch directory) whatever happens, also when `signal` aborts.
 */
export async function runSoak(
  plan: SoakPlan,
  say: (line: string) => void = () => {},
  signal?: AbortSignal,
): Promise<SoakReport> {
  const server = new FlowtriqServer();
  server.up();
  const port = freePort();
  const { dir, config, state } = await agentScratch("fta-soak-", {
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    metrics_port: port,
    pcap_enabled: false,
    attack_holddown: 1,
    attack_cooldown: 1,
    heartbeat_interval: 5,
    metrics_interval: 5,
  });
  let mounted = false;
  let agent: Deno.ChildProcess | null = null;
  let lock: ReturnType<typeof holdDatabase> | null = null;
  const logLines: string[] = [];
  let reading: Promise<void> = Promise.resolve();
  try {
    await Deno.chmod(config, 0o600); // it holds the api_key
    await Deno.mkdir(state);
    await mountTmpfs(state, STATE_TMPFS);
    mounted = true;
    const capture = `${dir}/soak.pcap`;
    const genAt = performance.now();
    await writeSoakCapture(capture, plan, VICTIM);
    const size = (await Deno.stat(capture)).size;
    say(
      `capture: ${planSeconds(plan)} s, ${(size / 2 ** 20).toFixed(0)} MiB, written in ` +
        `${((performance.now() - genAt) / 1000).toFixed(1)} s`,
    );
    const wallAt = performance.now();
    agent = spawnFtagent(["--pcap", capture, "--config", config]);
    const pid = agent.pid;
    reading = (async () => {
      let rest = "";
      for await (const chunk of agent.stderr.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        logLines.push(...parts);
      }
      if (rest !== "") logLines.push(rest);
    })();
    let exitCode: number | null = null;
    const exited = agent.status.then((s) => {
      exitCode = s.code;
    });
    // The capture starts when /health first answers 200 (the loop ticks).
    let t0 = NaN;
    for (let i = 0; i < 600 && Number.isNaN(t0) && exitCode === null; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health`);
        await r.body?.cancel();
        if (r.status === 200) t0 = performance.now();
      } catch { /* not up yet */ }
      if (Number.isNaN(t0)) await sleep(100);
    }
    if (Number.isNaN(t0)) {
      throw new Error(`the agent never became healthy:\n${logLines.join("\n")}`);
    }
    const now = () => (performance.now() - t0) / 1000;
    const samples: Sample[] = [];
    const health: HealthProbe[] = [];
    let running = true;
    const sampling = (async () => {
      while (running) {
        const t = now();
        const s: Sample = {
          t,
          rssKiB: vmRssKiB(pid),
          heapBytes: NaN,
          tickAgeS: NaN,
          stateFault: NaN,
          statePending: NaN,
          outboxDepth: NaN,
          apiErrors: NaN,
        };
        try {
          const r = await fetch(`http://127.0.0.1:${port}/metrics`, {
            signal: AbortSignal.timeout(5000),
          });
          const text = await r.text();
          s.heapBytes = metric(text, "ftagent_heap_bytes");
          s.tickAgeS = metric(text, "ftagent_loop_last_tick_age_seconds");
          s.stateFault = metric(text, "ftagent_state_fault");
          s.statePending = metric(text, "ftagent_state_writes_pending");
          s.outboxDepth = metric(text, "ftagent_outbox_depth");
          s.apiErrors = metric(text, "ftagent_api_errors_total");
        } catch { /* the agent is gone or did not answer: NaN */ }
        if (!Number.isNaN(s.rssKiB)) samples.push(s);
        await sleep(1000 - (now() - t) * 1000);
      }
    })();
    const probing = (async () => {
      while (running) {
        const t = now();
        let status = 0;
        try {
          const r = await fetch(`http://127.0.0.1:${port}/health`, {
            signal: AbortSignal.timeout(5000),
          });
          await r.body?.cancel();
          status = r.status;
        } catch { /* not answered */ }
        health.push({ t, ms: Math.round((now() - t) * 1000), status });
        await sleep(500 - (now() - t) * 1000);
      }
    })();
    const faults: InjectedFault[] = [];
    const aborted = () => signal?.aborted === true || exitCode !== null;
    const until = async (s: number) => {
      while (!aborted() && now() < s) await sleep(Math.min(200, (s - now()) * 1000));
    };
    const seen = (from: number, key: keyof Sample) =>
      samples.filter((x) => x.t >= from && !Number.isNaN(x[key]))
        .reduce((m, x) => Math.max(m, x[key]), 0);
    const lastApiErrors = () => samples.at(-1)?.apiErrors ?? 0;
    for (const planned of plannedFaults(plan)) {
      await until(planned.fromS);
      if (aborted()) break;
      const fromS = now();
      let effect = "";
      if (planned.kind === "api-503" || planned.kind === "api-down") {
        const errorsBefore = lastApiErrors();
        if (planned.kind === "api-503") server.mode = { kind: "unavailable" };
        else await server.down();
        await until(planned.toS);
        server.mode = { kind: "ok" };
        server.up();
        await sleep(1100);
        effect = `api errors +${lastApiErrors() - errorsBefore}`;
      } else if (planned.kind === "db-lock") {
        lock = holdDatabase(`${state}/ftagent.db`, planned.toS - planned.fromS);
        const locked = await lock.locked;
        const released = locked && await lock.released;
        await lock.stop();
        lock = null;
        effect = locked && released ? "held" : "holder failed";
        effect += `, state_fault seen ${seen(fromS, "stateFault")}, pending max ${
          seen(fromS, "statePending")
        }`;
      } else {
        await fill(`${state}/filler`);
        await until(planned.toS);
        await Deno.remove(`${state}/filler`);
        effect = `state_fault seen ${seen(fromS, "stateFault")}, pending max ${
          seen(fromS, "statePending")
        }`;
      }
      const tookHold = /api errors \+[1-9]|state_fault seen 1/.test(effect);
      faults.push({ kind: planned.kind, fromS, toS: now(), effect, tookHold });
      say(
        `${fmtMin(fromS)} ${planned.kind.padEnd(9)} ${(now() - fromS).toFixed(1)} s: ${effect}; ` +
          `RSS ${((samples.at(-1)?.rssKiB ?? 0) / 1024).toFixed(1)} MiB`,
      );
    }
    // The capture ends after the tail; the agent then stops by itself.
    const deadline = planSeconds(plan) + 120;
    while (exitCode === null && !signal?.aborted && now() < deadline) await sleep(200);
    running = false;
    await Promise.all([sampling, probing]);
    if (exitCode === null) {
      say("the agent did not stop at the end of the capture: killed");
      agent.kill("SIGKILL");
    }
    await exited;
    await reading;
    const stored = storedIncidents(`${state}/ftagent.db`);
    return judgeSoak({
      plan,
      samples,
      health,
      faults,
      server,
      stored,
      exitCode,
      logLines,
      wallS: (performance.now() - wallAt) / 1000,
    });
  } finally {
    if (lock !== null) await (lock as ReturnType<typeof holdDatabase>).stop();
    if (agent !== null) {
      try {
        agent.kill("SIGKILL");
      } catch { /* exited */ }
      await agent.status;
      await reading.catch(() => {});
    }
    await server.down();
    if (mounted) await unmount(state);
    await Deno.remove(dir, { recursive: true });
  }
}
