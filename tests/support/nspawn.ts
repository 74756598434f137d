/**
 * A throw-away Debian machine booted with systemd as PID 1 (`systemd-nspawn -b`, private
 * network), for checking the agent under its real systemd unit. The root file system is made
 * with mmdebstrap from Debian's apt mirror; commands run inside through `nsenter` (the host
 * needs no systemd of its own: `--register=no --keep-unit`).
 *
 * @module
 */

import { run } from "./cli.ts";

/** Output of a command run in the machine. */
export interface MachineResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Debian packages of the machine: systemd, libpcap, the firewall tools, a flood tool, and
 * procps for the unit's `ExecReload=/bin/kill` (minbase leaves it out; Debian's standard
 * installs have it).
 */
export const MACHINE_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "procps",
  "libpcap0.8",
  "nftables",
  "iptables",
  "ipset",
  "iproute2",
  "hping3",
];

/** The host tools this needs, missing ones named (empty when all are there). */
export async function missingHostTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of ["systemd-nspawn", "mmdebstrap", "nsenter"]) {
    const out = await run(["sh", "-c", `command -v ${tool}`]).catch(() => null);
    if (out === null || out.code !== 0) missing.push(tool);
  }
  return missing;
}

/** Makes a minimal Debian `suite` root file system in `dir` (about a minute, 250 MB). */
export async function makeRootfs(dir: string, suite = "bookworm"): Promise<void> {
  const out = await run([
    "mmdebstrap",
    "--quiet",
    "--variant=minbase",
    `--include=${MACHINE_PACKAGES.join(",")}`,
    suite,
    dir,
  ]);
  if (out.code !== 0) throw new Error(`mmdebstrap failed (${out.code}): ${out.stderr.trim()}`);
}

/** A booted machine: `exec` runs commands in it, `destroy` powers it off. */
export class Machine {
  readonly #child: Deno.ChildProcess;
  readonly #console: Promise<void>;
  #leader = 0;
  /** What the machine printed on its console (boot messages). */
  console = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    const dec = new TextDecoder();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) this.console += dec.decode(chunk);
    };
    this.#console = Promise.all([drain(child.stdout), drain(child.stderr)]).then(() => {});
  }

  /** Boots `rootfs` (private network, hostname `name`) and waits until systemd is up. */
  static async boot(rootfs: string, name: string, timeoutMs = 90_000): Promise<Machine> {
    const child = new Deno.Command("systemd-nspawn", {
      args: [
        "--quiet",
        "--register=no",
        "--keep-unit",
        "--private-network",
        "--console=read-only",
        `--machine=${name}`,
        "-D",
        rootfs,
        "-b",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const machine = new Machine(child);
    try {
      await machine.#waitUp(timeoutMs);
      return machine;
    } catch (err) {
      await machine.destroy();
      throw err;
    }
  }

  async #waitUp(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    let state = "";
    while (Date.now() < end) {
      if (this.#leader === 0) this.#leader = this.#findLeader();
      if (this.#leader !== 0) {
        state = (await this.exec(["systemctl", "is-system-running"])).stdout.trim();
        if (state === "running" || state === "degraded") return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(
      `the machine did not boot in ${timeoutMs} ms (state "${state}"):\n${this.console}`,
    );
  }

  /** The machine's PID 1 as the host sees it: the child of systemd-nspawn. */
  #findLeader(): number {
    try {
      const pid = this.#child.pid;
      const children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
      return children === "" ? 0 : Number(children.split(" ")[0]);
    } catch {
      return 0;
    }
  }

  /** Runs `argv` inside the machine (all its namespaces) as root. */
  async exec(argv: string[]): Promise<MachineResult> {
    return await run(["nsenter", "-t", String(this.#leader), "-a", ...argv]);
  }

  /** Runs `argv` inside the machine; throws with its stderr when it fails. */
  async must(argv: string[]): Promise<string> {
    const out = await this.exec(argv);
    if (out.code !== 0) {
      throw new Error(`${argv.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
    }
    return out.stdout;
  }

  /** Powers the machine off (SIGKILL after 30 s) and waits for systemd-nspawn to exit. */
  async destroy(): Promise<void> {
    try {
      this.#child.kill("SIGTERM"); // systemd-nspawn asks the machine's systemd to power off
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 30_000);
    try {
      await this.#child.status;
      await this.#console;
    } finally {
      clearTimeout(timer);
    }
  }
}
