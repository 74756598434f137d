// Runs Prometheus's promtool (Debian package `prometheus`); a missing promtool fails the test.

/** What promtool said. */
export interface PromtoolResult {
  code: number;
  output: string;
}

/** Runs `promtool ARGS` with `stdin` as its input. */
export async function promtool(args: string[], stdin = ""): Promise<PromtoolResult> {
  const child = new Deno.Command("promtool", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}
