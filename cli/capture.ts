/**
 * `ftagent capture`: live capture on an interface through libpcap, printing the same
 * per-second windows and incidents as `replay` (the same pipeline and detector, fed by the
 * wire). The learned baseline is restored from `state_dir` at start and saved there every
 * minute and at exit.
 *
 * @module
 */

import { z } from "zod";
import { Engine, logIncident } from "../agent/mod.ts";
import { captureDevice, interfaceAddresses, LiveSource } from "../agent/capture/mod.ts";
import { DEFAULT_CONFIG_PATH, loadConfigOrDefaults } from "../agent/config/mod.ts";
import { WindowPrinter } from "./_output.ts";
import { parseCommand } from "./_args.ts";
import { setupLogging } from "./_logging.ts";

/** Usage text of `capture`. */
export const CAPTURE_USAGE =
  `ftagent capture [--interface IF] [--config PATH] [--filter BPF] [--duration S] [--json]

Captures live and prints one line per second and every incident, then a summary with kernel
drop counters.
  --interface IF  interface to capture on (default: the config's, else the one carrying the
                  default route)
  --config PATH   config file (default: /etc/ftagent/config.json when it exists)
  --filter BPF    a libpcap filter expression, e.g. "tcp port 80"
  --duration S    stop after S seconds (default: until SIGINT/SIGTERM)
  --json          JSON lines, as replay --json`;

const Options = z.object({
  interface: z.string().min(1).optional(),
  config: z.string().min(1).optional(),
  filter: z.string().optional(),
  duration: z.coerce.number().positive().optional(),
  json: z.boolean().default(false),
});

/** Runs `capture`; returns the process exit code. */
export async function capture(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    interface: { type: "string", short: "i" },
    config: { type: "string" },
    filter: { type: "string" },
    duration: { type: "string" },
    json: { type: "boolean" },
  }, Options);
  const log = await setupLogging({ level: "info" });
  const { config, warnings } = await loadConfigOrDefaults(
    values.config ?? DEFAULT_CONFIG_PATH,
    values.config !== undefined,
  );
  for (const warning of warnings) log.warn(warning);
  const device = captureDevice(config.interface, values.interface);
  const source = new LiveSource({ device, filter: values.filter });
  log.info("capturing on {device}", { device, filter: values.filter ?? "" });
  const printer = new WindowPrinter(values.json);
  let windows = 0;
  let incidents = 0;
  const engine = await Engine.open({
    config,
    log,
    onEvent: (event) => {
      if (event.event === "open") incidents++;
      printer.incident(event);
      logIncident(log, event);
    },
  });
  engine.onWindow((window) => {
    windows++;
    printer.window(window.snapshot());
  });
  const started = performance.now();
  try {
    await engine.run(source, {
      durationSeconds: values.duration,
      measureLag: true,
      localAddresses: () => interfaceAddresses(device),
    });
  } finally {
    await engine.finish();
    const stats = source.stats();
    source.close();
    const elapsed = (performance.now() - started) / 1000;
    const pipeline = engine.pipeline;
    printer.summary({
      packets: pipeline.packets,
      bytes: pipeline.bytes,
      malformed: pipeline.malformed,
      seconds: elapsed,
      windows,
      incidents,
      pps_processed: Math.round(pipeline.packets / Math.max(elapsed, 1e-6)),
      interface: device,
      received: stats.received,
      dropped: stats.dropped,
      if_dropped: stats.ifDropped,
      max_loop_lag_ms: engine.maxLoopLagMs,
    });
  }
  return 0;
}
