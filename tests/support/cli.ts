// Runs the real `ftagent` CLI from the checkout in a subprocess, as an operator would.

/** Path of the CLI entry point. */
export const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;

/** Path of the shared attack corpus. */
export const CORPUS = new URL("../../../shared/corpus/stopddos/", import.meta.url).pathname;

/** What a finished command printed. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ftagent ARGS`; `prefix` wraps it (e.g. `["ip", "netns", "exec", NS]`). */
export async function ftagent(args: string[], prefix: string[] = []): Promise<Output> {
  const argv = [...prefix, Deno.execPath(), "run", "--allow-all", CLI, ...args];
  return await run(argv);
}

/**
 * Starts `ftagent ARGS` in the background (e.g. the agent), wrapped by `prefix` (e.g.
 * `["ip", "netns", "exec", NS]`); stderr is piped (the agent logs there), stdout discarded.
 */
export function spawnFtagent(args: string[], prefix: string[] = []): Deno.ChildProcess {
  const argv = [...prefix, Deno.execPath(), "run", "--allow-all", CLI, ...args];
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** Test clean-up of a {@linkcode spawnFtagent} child: stops reading, kills it if alive, reaps it. */
export async function killAgent(
  child: Deno.ChildProcess,
  stderr: ReadableStreamDefaultReader<string>,
): Promise<void> {
  await stderr.cancel().catch(() => {});
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
  await child.status;
}

/** Runs any command and collects its output. */
export async function run(argv: string[]): Promise<Output> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Parses JSON lines. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** The capture files of the corpus. */
export function corpusFiles(): string[] {
  return [...Deno.readDirSync(CORPUS)]
    .filter((e) => /\.pcap(ng)?$/.test(e.name))
    .map((e) => CORPUS + e.name)
    .sort();
}

/** Packet count and summed frame lengths as tcpdump reads them (`-e` prints each frame's length). */
export async function tcpdumpTotals(path: string): Promise<{ packets: number; bytes: number }> {
  const out = await run(["tcpdump", "-nn", "-e", "-r", path]);
  let packets = 0;
  let bytes = 0;
  for (const line of out.stdout.split("\n")) {
    const m = line.match(/, length (\d+)/) ?? line.match(/ length (\d+)/);
    if (!m) continue;
    packets++;
    bytes += Number(m[1]);
  }
  return { packets, bytes };
}
