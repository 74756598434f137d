/**
 * Test helper process: the real detection (`Engine`, default config) on a live interface, with
 * or without kernel sampling, printing what it decided. The tests start two of them inside one
 * network namespace (`ip netns exec NS deno run ...`) on the same veth, so both see the same
 * flood at the same kernel timestamps.
 *
 * Arguments: `--iface IF` (required), `--sample-above PPS` (0: every packet), `--filter EXPR`
 * (a capture filter the sampling extends), `--seconds S` (longest run, default 30); standard
 * input closing stops the capture.
 *
 * Output, one JSON object per line on stdout: `{"ready": true}` once the interface is open;
 * `{"sampling": N, "wirePps": R, "atUs": T}` at each sampling change; `{"event": ...}` per
 * incident event; then `{"done": true, "stats": ..., "packets": P, "bytes": B}` (the pipeline's
 * packets and bytes, scaled by the sampling rate).
 *
 * @module
 */

import { LiveSource } from "../../agent/capture/mod.ts";
import { Engine } from "../../agent/engine.ts";
import { defaultConfig } from "../../core/config/mod.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const iface = arg("--iface");
  if (!iface) throw new Error("--iface is required");
  const print = (o: unknown) => console.log(JSON.stringify(o));
  const engine = await Engine.open({
    config: defaultConfig(),
    onEvent: (event) => print({ event }),
  });
  const source = new LiveSource({
    device: iface,
    filter: arg("--filter"),
    sampleAbovePps: Number(arg("--sample-above") ?? "0"),
    onSampling: (rate, wirePps) => print({ sampling: rate, wirePps, atUs: Date.now() * 1000 }),
    onWarning: (message) => print({ warning: message }),
  });
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Number(arg("--seconds") ?? "30") * 1000);
  Deno.stdin.read(new Uint8Array(64)).finally(() => stop.abort());
  print({ ready: true });
  try {
    const run = engine.run(source, {});
    stop.signal.addEventListener("abort", () => source.close());
    await run;
  } finally {
    clearTimeout(timer);
    source.close();
  }
  await engine.finish();
  print({
    done: true,
    stats: source.stats(),
    packets: engine.pipeline.packets,
    bytes: engine.pipeline.bytes,
  });
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(1);
  }
}
