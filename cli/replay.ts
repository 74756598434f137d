/**
 * `ftagent replay FILE`: reads a capture and prints one line per second of packet time, the
 * incidents the detector raises, and a summary, through exactly the pipeline live capture uses.
 *
 * @module
 */

import { z } from "zod";
import { Engine } from "../agent/mod.ts";
import { type CaptureSource, FileSource, LibpcapFileSource } from "../agent/capture/mod.ts";
import { WindowPrinter } from "./_output.ts";
import { parseCommand, UsageError } from "./_args.ts";
import { offlineConfig } from "./_config.ts";

/** Usage text of `replay`. */
export const REPLAY_USAGE = `ftagent replay FILE [--json] [--config PATH] [--reader ts|libpcap]

Reads a pcap or pcapng capture and prints one line per second of packet time, the incidents
detection raises on it, then a summary.
  --json          JSON lines: {"type":"window",...} per second, {"type":"incident",...} per
                  incident event, {"type":"summary",...} last
  --config PATH   thresholds, floors and timings from a config file (default: built-in defaults)
  --reader R      ts (default: the built-in reader) or libpcap (through the FFI binding)`;

const Options = z.object({
  json: z.boolean().default(false),
  config: z.string().min(1).optional(),
  reader: z.enum(["ts", "libpcap"]).default("ts"),
});

/** Runs `replay`; returns the process exit code. */
export async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    json: { type: "boolean" },
    config: { type: "string" },
    reader: { type: "string" },
  }, Options);
  if (positionals.length !== 1) throw new UsageError("replay takes exactly one capture file");
  const path = positionals[0];
  const config = await offlineConfig(values.config);
  const printer = new WindowPrinter(values.json);
  let windows = 0;
  let incidents = 0;
  const engine = await Engine.open({
    config,
    onEvent: (event) => {
      if (event.event === "open") incidents++;
      printer.incident(event);
    },
    onHeld: (notice) => printer.held(notice),
    onWarning: (message) => console.error(`ftagent: warning: ${path}: ${message}`),
  });
  engine.onWindow((window) => {
    windows++;
    printer.window(window.snapshot());
  });
  const source: CaptureSource = values.reader === "ts"
    ? new FileSource(path)
    : new LibpcapFileSource(path);
  const started = performance.now();
  let failure: unknown = null;
  try {
    await engine.run(source);
  } catch (err) {
    failure = err;
  } finally {
    source.close();
  }
  await engine.finish();
  const elapsed = (performance.now() - started) / 1000;
  const pipeline = engine.pipeline;
  printer.summary({
    packets: pipeline.packets,
    bytes: pipeline.bytes,
    malformed: pipeline.malformed,
    seconds: pipeline.packets ? (pipeline.lastTsUs - pipeline.firstTsUs) / 1e6 : 0,
    windows,
    incidents,
    pps_processed: Math.round(pipeline.packets / Math.max(elapsed, 1e-6)),
  });
  if (failure !== null) throw failure;
  return 0;
}
