// Fixture for the live mitigation tests: a namespace pair (prefix ftm-), extra sender addresses
// in 198.19.x.0/24, the agent running inside the target namespace (so its nft/iptables calls
// only reach that namespace's firewall), bounded hping3 floods and kernel counters.
import { spawnFtagent } from "./cli.ts";
import { createNetnsPair, type NetnsPair } from "./netns.ts";

/** One live set-up: pair, scratch dir, config path, the sender addresses. */
export interface LiveSetup {
  pair: NetnsPair;
  dir: string;
  config: string;
  /** Addresses the floods come from (on the sender's veth, routed back on the target's). */
  sources: string[];
  destroy(): Promise<void>;
}

/** Creates the pair, the sources and a config (auto mode, static thresholds under the floods). */
export async function liveSetup(mitigation: Record<string, unknown>): Promise<LiveSetup> {
  const pair = await createNetnsPair({ prefix: "ftm" });
  const dir = await Deno.makeTempDir({ prefix: "ftm-" });
  try {
    const third = Number(pair.addrA.split(".")[2]);
    const sources = [10, 11, 12, 13].map((n) => `198.19.${third}.${n}`);
    for (const s of sources) {
      await pair.run(pair.a, ["ip", "addr", "add", `${s}/32`, "dev", pair.ifA]);
    }
    await pair.run(pair.b, ["ip", "route", "add", `198.19.${third}.0/24`, "dev", pair.ifB]);
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        state_dir: dir,
        log_file: "",
        pcap_enabled: false,
        metrics_port: 0,
        dynamic_threshold: false,
        // Each sender (about 1000 packets/s) stays under the thresholds; together they are
        // over them for confirm_seconds, so the incident opens with every source in view.
        pps_threshold: 2000,
        udp_pps_threshold: 2000,
        syn_pps_threshold: 2000,
        confirm_seconds: 1,
        attack_holddown: 2,
        attack_cooldown: 10,
        mitigation: { mode: "auto", ...mitigation },
      }),
    );
    return {
      pair,
      dir,
      config,
      sources,
      async destroy() {
        await pair.destroy();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (err) {
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** The agent running in the target namespace, with its stderr collected as it comes. */
export class LiveAgent {
  readonly child: Deno.ChildProcess;
  text = "";
  exited = false;
  readonly #done: Promise<void>;

  /** Starts `ftagent --interface IF --config PATH` inside `setup.pair.b`. */
  constructor(setup: LiveSetup) {
    const { pair } = setup;
    this.child = spawnFtagent(["--interface", pair.ifB, "--config", setup.config], [
      "ip",
      "netns",
      "exec",
      pair.b,
    ]);
    this.child.status.then(() => (this.exited = true));
    const stderr = this.child.stderr;
    this.#done = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stderr) this.text += dec.decode(chunk);
    })();
  }

  /** Waits until `pattern` shows in the log (or `ms` pass); returns its match or throws. */
  async waitFor(pattern: RegExp, ms = 15000): Promise<RegExpExecArray> {
    const end = performance.now() + ms;
    for (;;) {
      const exited = this.exited;
      const m = pattern.exec(this.text);
      if (m) return m;
      if (exited) await this.#done; // every line the agent wrote is in
      if (exited || performance.now() > end) {
        const last = pattern.exec(this.text);
        if (last) return last;
        throw new Error(`no ${pattern} in the agent's log within ${ms} ms:\n${this.text}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` and waits for the exit; returns the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
    const status = await this.child.status;
    await this.#done;
    return status.code;
  }
}

/** Time (ms since the epoch) of the log line matching `pattern` (LogTape's timestamp). */
export function logTime(text: string, pattern: RegExp): number {
  for (const line of text.split("\n")) {
    if (!pattern.test(line)) continue;
    const m = /^(\d{4}-\d\d-\d\dT?\s?\d\d:\d\d:\d\d\.\d{3}) ?([+-]\d\d:\d\d)/.exec(line);
    if (m) return Date.parse(`${m[1].replace(" ", "T")}${m[2]}`);
  }
  throw new Error(`no timestamped line ${pattern} in:\n${text}`);
}

/** A bounded UDP flood from `source` (count packets, at most `seconds`). */
export function udpFlood(
  setup: LiveSetup,
  source: string,
  count: number,
  seconds = 12,
  gapUs = 1000,
): Promise<unknown> {
  const { pair } = setup;
  return pair.exec(pair.a, [
    "timeout",
    String(seconds),
    "hping3",
    "-q",
    "--udp",
    "-a",
    source,
    "-p",
    "9999",
    "-d",
    "18",
    "-c",
    String(count),
    "-i",
    `u${gapUs}`,
    pair.addrB,
  ]);
}

/** UDP datagrams that got past the firewall to the target's UDP layer (delivered or no port). */
export async function udpDelivered(setup: LiveSetup): Promise<number> {
  const { pair } = setup;
  const snmp = await pair.run(pair.b, ["cat", "/proc/net/snmp"]);
  const lines = snmp.split("\n").filter((l) => l.startsWith("Udp:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/).map(Number);
  const get = (n: string) => values[names.indexOf(n)];
  return get("InDatagrams") + get("NoPorts") + get("InErrors");
}

/** Packets received on the target's veth (before any firewall). */
export async function wireReceived(setup: LiveSetup): Promise<number> {
  return (await setup.pair.counters(setup.pair.b, setup.pair.ifB)).rxPackets;
}
