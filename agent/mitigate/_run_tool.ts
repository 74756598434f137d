/**
 * Runs a firewall tool (`nft`, `iptables`, `ipset`) as an argument vector, never through a
 * shell, with a time limit; a failure becomes a one-line error naming the tool.
 *
 * @module
 */

const TOOL_TIMEOUT_MS = 10_000;

/** Runs `argv` (stdin text optional); returns stdout, throws with the first stderr line. */
export async function runTool(argv: readonly string[], stdin?: string): Promise<string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(TOOL_TIMEOUT_MS),
    }).spawn();
  } catch (err) {
    throw new Error(`${argv[0]}: cannot run: ${(err as Error).message}`);
  }
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
    await writer.close().catch(() => {});
  }
  const out = await child.output();
  const dec = new TextDecoder();
  if (!out.success) {
    const err = dec.decode(out.stderr).trim().split("\n").filter((l) => l.trim() !== "");
    const first = err.find((l) => /error/i.test(l)) ?? err[0] ?? `exit code ${out.code}`;
    throw new Error(`${argv.slice(0, 3).join(" ")}: ${first.slice(0, 300)}`);
  }
  return dec.decode(out.stdout);
}
