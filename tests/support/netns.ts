/**
 * Test fixture: two network namespaces joined by a veth pair, for live-capture tests that send
 * real traffic without touching the host's interfaces.
 *
 * Addresses come only from 198.18.0.0/15 (RFC 2544 benchmarking). By default the pair is made
 * quiet: IPv6 is off on the veths (no router/neighbour solicitations, no MLD) and each side has
 * a permanent neighbour entry for the other (no ARP), so every frame on the link is one a test
 * sent. Always call {@linkcode NetnsPair.destroy} in `finally`.
 *
 * @module
 */

/** Output of a command run in a namespace. */
export interface ExecResult {
  /** Exit code. */
  code: number;
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
}

/** Interface counters from /sys/class/net/IF/statistics. */
export interface IfCounters {
  txPackets: number;
  rxPackets: number;
  txBytes: number;
  rxBytes: number;
  txDropped: number;
  rxDropped: number;
}

/** Options for {@linkcode createNetnsPair}. */
export interface NetnsPairOptions {
  /** Disable IPv6 and pin neighbour entries so only test traffic crosses the link. Default true. */
  quiet?: boolean;
  /** Prefix of the namespace names (each area has its own, e.g. `ftm` for mitigation). Default `fta`. */
  prefix?: string;
}

// A random start keeps names apart when several test modules make pairs in one process.
let pairCount = Math.floor(Math.random() * 200);

/** Two namespaces `a` and `b`, with veth `ifA` (in `a`, `addrA`) linked to `ifB` (in `b`, `addrB`). */
export class NetnsPair {
  /** Namespace of the sending side. */
  readonly a: string;
  /** Namespace of the receiving side. */
  readonly b: string;
  /** veth end inside `a`. */
  readonly ifA: string;
  /** veth end inside `b`. */
  readonly ifB: string;
  /** IPv4 address of `ifA` (198.18.x.1). */
  readonly addrA: string;
  /** IPv4 address of `ifB` (198.18.x.2). */
  readonly addrB: string;
  #destroyed = false;

  /** Names the pair; {@linkcode createNetnsPair} creates it. */
  constructor(id: number, prefix = "fta") {
    const tag = `${Deno.pid}-${id}`;
    this.a = `${prefix}-${tag}-a`;
    this.b = `${prefix}-${tag}-b`;
    // Interface names are at most 15 characters.
    const short = `${Deno.pid % 1000000}${id % 100}`;
    this.ifA = `vfa${short}`;
    this.ifB = `vfb${short}`;
    const third = id % 256;
    this.addrA = `198.18.${third}.1`;
    this.addrB = `198.18.${third}.2`;
  }

  /** Runs `cmd` inside namespace `ns` and collects its output. */
  async exec(ns: string, cmd: string[], options: { stdin?: string } = {}): Promise<ExecResult> {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...cmd],
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(options.stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Runs `cmd` in `ns` and throws with its stderr when it fails. */
  async run(ns: string, cmd: string[]): Promise<string> {
    const r = await this.exec(ns, cmd);
    if (r.code !== 0) {
      throw new Error(`${cmd.join(" ")} in ${ns} failed (${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /** Starts `cmd` in `ns` with piped stdin/stdout/stderr; the caller awaits and closes it. */
  spawn(ns: string, cmd: string[]): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...cmd],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Reads the interface counters of `iface` inside `ns`. */
  async counters(ns: string, iface: string): Promise<IfCounters> {
    const names = ["tx_packets", "rx_packets", "tx_bytes", "rx_bytes", "tx_dropped", "rx_dropped"];
    const dir = `/sys/class/net/${iface}/statistics`;
    const out = await this.run(ns, ["cat", ...names.map((n) => `${dir}/${n}`)]);
    const v = out.trim().split(/\s+/).map(Number);
    return {
      txPackets: v[0],
      rxPackets: v[1],
      txBytes: v[2],
      rxBytes: v[3],
      txDropped: v[4],
      rxDropped: v[5],
    };
  }

  /** Deletes both namespaces (and so the veth pair); safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const ns of [this.a, this.b]) {
      await new Deno.Command("ip", { args: ["netns", "del", ns], stdout: "null", stderr: "null" })
        .output();
    }
  }
}

/** Creates a namespace pair with links and loopbacks up; destroys it again if a step fails. */
export async function createNetnsPair(options: NetnsPairOptions = {}): Promise<NetnsPair> {
  const pair = new NetnsPair(++pairCount, options.prefix);
  try {
    await ip(["netns", "add", pair.a]);
    await ip(["netns", "add", pair.b]);
    // Created inside `a` with its peer inside `b`: the host namespace never sees either end.
    await ip([
      "-n",
      pair.a,
      "link",
      "add",
      pair.ifA,
      "type",
      "veth",
      "peer",
      "name",
      pair.ifB,
      "netns",
      pair.b,
    ]);
    const sides: [string, string, string][] = [
      [pair.a, pair.ifA, pair.addrA],
      [pair.b, pair.ifB, pair.addrB],
    ];
    for (const [ns, iface, addr] of sides) {
      if (options.quiet !== false) {
        await pair.run(ns, ["sh", "-c", ipv6Off(iface)]);
      }
      await ip(["-n", ns, "addr", "add", `${addr}/30`, "dev", iface]);
      await ip(["-n", ns, "link", "set", "lo", "up"]);
      await ip(["-n", ns, "link", "set", iface, "up"]);
    }
    if (options.quiet !== false) {
      const macA = (await pair.run(pair.a, ["cat", `/sys/class/net/${pair.ifA}/address`])).trim();
      const macB = (await pair.run(pair.b, ["cat", `/sys/class/net/${pair.ifB}/address`])).trim();
      await ip([
        "-n",
        pair.a,
        "neigh",
        "replace",
        pair.addrB,
        "lladdr",
        macB,
        "nud",
        "permanent",
        "dev",
        pair.ifA,
      ]);
      await ip([
        "-n",
        pair.b,
        "neigh",
        "replace",
        pair.addrA,
        "lladdr",
        macA,
        "nud",
        "permanent",
        "dev",
        pair.ifB,
      ]);
    }
    return pair;
  } catch (err) {
    await pair.destroy();
    throw err;
  }
}

/**
 * Whether this process can create network namespaces (root with `ip` available): null when it
 * can, else the reason, for `Deno.test({ ignore })`.
 */
export async function netnsAvailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  let pair: NetnsPair | null = null;
  try {
    pair = await createNetnsPair();
    return null;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return `cannot create network namespaces (needs root and iproute2): ${msg.split("\n")[0]}`;
  } finally {
    await pair?.destroy();
  }
}

/** Whether `cmd` is on PATH (for tests that need a traffic tool). */
export async function hasCommand(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${cmd}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

function ipv6Off(iface: string): string {
  return [
    "[ -d /proc/sys/net/ipv6 ] || exit 0",
    `echo 1 > /proc/sys/net/ipv6/conf/${iface}/disable_ipv6`,
    "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6",
  ].join(" && ");
}

async function ip(args: string[]): Promise<void> {
  let out;
  try {
    out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(`ip ${args.join(" ")}: ${err instanceof Error ? err.message : err}`);
  }
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`ip ${args.join(" ")} failed: ${msg}`);
  }
}
