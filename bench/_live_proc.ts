/**
 * Helpers of `deno task bench:live`: CPU time and RSS of a process (and its descendants) from
 * /proc, and a collector that drains a child's stdout and stderr so it never blocks on a full
 * pipe while the benchmark waits for a line.
 *
 * @module
 */

/** Clock ticks per second of /proc/PID/stat (USER_HZ; 100 on every Linux architecture). */
export const CLK_TCK = 100;

/** utime + stime of `pid` and every live descendant, in seconds; null when `pid` is gone. */
export function cpuSeconds(pid: number): number | null {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readStat(Number(entry.name));
    if (stat) stats.set(Number(entry.name), stat);
  }
  if (!stats.has(pid)) return null;
  let ticks = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) todo.push(child);
  }
  return ticks / CLK_TCK;
}

function readStat(pid: number): { ppid: number; ticks: number } | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ")".
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

/** VmRSS of `pid` in MiB, or null. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A spawned child whose stdout and stderr are read into {@linkcode Watched.text} as they come. */
export class Watched {
  /** Everything the child wrote so far (stdout and stderr interleaved). */
  text = "";
  readonly child: Deno.ChildProcess;
  readonly #done: Promise<void>;

  /** Spawns `cmd` (stdin closed, output piped and collected). */
  constructor(cmd: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).spawn();
    this.#done = Promise.all([this.#drain(this.child.stdout), this.#drain(this.child.stderr)])
      .then(() => {});
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this.text += chunk;
  }

  /** The child's pid. */
  get pid(): number {
    return this.child.pid;
  }

  /** Waits until `pattern` is in the output; false when `ms` pass or the child exits first. */
  async waitFor(pattern: RegExp, ms: number): Promise<boolean> {
    let exited = false;
    this.child.status.then(() => exited = true);
    const end = performance.now() + ms;
    while (!pattern.test(this.text)) {
      if (exited || performance.now() > end) return pattern.test(this.text);
      await sleep(50);
    }
    return true;
  }

  /** Sends `signal`, waits up to `ms` for the exit (then SIGKILL); returns the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM", ms = 10_000): Promise<number> {
    try {
      this.child.kill(signal);
    } catch { /* already exited */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms));
    let status = await Promise.race([this.child.status, timeout]);
    clearTimeout(timer);
    if (status === null) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
      status = await this.child.status;
    }
    await this.#done;
    return status.code;
  }
}
