/**
 * `ftagent` (no command): the agent. Captures on the interface (or reads a capture file as if
 * it were the wire), detects, hands incident events to listeners behind bounded queues, and
 * logs. SIGTERM/SIGINT resolve open incidents, flush, save the baseline and exit; SIGHUP
 * reloads the config (a bad one is refused and the old one kept).
 *
 * @module
 */

import { z } from "zod";
import type { Logger, LogLevel } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { Agent } from "../agent/mod.ts";
import {
  captureDevice,
  type CaptureSource,
  FileSource,
  FlowSource,
  flowSourceOptions,
  LiveSource,
} from "../agent/capture/mod.ts";
import { DEFAULT_CONFIG_PATH, loadConfigOrDefaults } from "../agent/config/mod.ts";
import {
  isCompiled,
  recordedReleaseUrl,
  releasePublicKey,
  releaseUrl,
  startUpdateCheck,
  type UpdateCheck,
} from "../agent/update/mod.ts";
import { VERSION } from "../agent/mod.ts";
import { parseCommand } from "./_args.ts";
import { setupLogging } from "./_logging.ts";

/** Usage text of the agent itself. */
export const RUN_USAGE = `ftagent [--config PATH] [--interface IF] [--pcap FILE [--fast]]

Runs the agent: captures on the interface, detects, records evidence, logs, stores and reports
incidents, alerts, mitigates (when configured) and serves /metrics.
  --config PATH   config file (default /etc/ftagent/config.json; defaults when it is missing)
  --interface IF  overrides the config's interface
  --pcap FILE     reads FILE as if it were the wire, at its recorded pace, then resolves open
                  incidents, flushes and exits (test a set-up end to end)
  --fast          with --pcap: as fast as possible instead of the recorded pace
  --no-update-check  do not look for a newer release at start (release binaries only; it never
                  installs anything: ftagent --update does)
Signals: SIGTERM/SIGINT stop cleanly (within 5 s), SIGHUP reloads the config.`;

const Options = z.object({
  config: z.string().min(1).optional(),
  interface: z.string().min(1).optional(),
  pcap: z.string().min(1).optional(),
  fast: z.boolean().default(false),
  "no-update-check": z.boolean().default(false),
});

const LEVELS: Record<Config["log_level"], LogLevel> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warning",
  ERROR: "error",
  CRITICAL: "fatal",
};

/** Runs the agent until a signal (live) or the end of `--pcap FILE`; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    config: { type: "string" },
    interface: { type: "string", short: "i" },
    pcap: { type: "string" },
    fast: { type: "boolean" },
    "no-update-check": { type: "boolean" },
  }, Options);
  const configPath = values.config ?? DEFAULT_CONFIG_PATH;
  const { config, warnings, missing } = await loadConfigOrDefaults(
    configPath,
    values.config !== undefined,
  );
  const log = await setupLogging({ level: LEVELS[config.log_level], file: config.log_file });
  if (missing) log.info("no config at {path}: running with the defaults", { path: configPath });
  for (const warning of warnings) log.warn(warning);
  if (config.api_key === "" || config.node_uuid === "") {
    log.info("standalone mode: no api_key/node_uuid, incidents are kept and logged locally");
  }

  let source: CaptureSource;
  if (values.pcap !== undefined) {
    source = new FileSource(values.pcap);
    log.info("reading {file} as the wire ({pace})", {
      file: values.pcap,
      pace: values.fast ? "fast" : "recorded pace",
    });
  } else if (config.flow_enabled) {
    source = await FlowSource.open(flowSourceOptions(config));
    log.info("collecting flows: {source} (instead of capturing; no PCAP evidence)", {
      source: source.name,
    });
  } else {
    // Mirror mode: the SPAN port (libpcap opens every interface promiscuous).
    const device = config.mirror_mode
      ? values.interface ?? config.mirror_interface
      : captureDevice(config.interface, values.interface);
    source = new LiveSource({
      device,
      sampleAbovePps: config.capture_sample_above_pps,
      onSampling: (rate, pps) =>
        log.info("kernel sampling: 1 in {rate} packets (about {pps} packets/s on the wire)", {
          rate,
          pps,
        }),
      onWarning: (message) => log.warn("{message}", { message }),
    });
    log.info("capturing on {device}{mirror}", {
      device,
      mirror: config.mirror_mode ? ` (mirror mode: ${config.mirror_subnets.join(", ")})` : "",
    });
  }
  const check = await updateCheck(values["no-update-check"] || values.pcap !== undefined, log);
  try {
    const agent = await Agent.start(config, log, source);
    await agent.run({ paced: values.pcap !== undefined && !values.fast, configPath });
  } finally {
    await check?.stop();
    source.close();
  }
  return 0;
}

/** The start-up look for a newer release: release binaries only, not with `--no-update-check`. */
async function updateCheck(off: boolean, log: Logger): Promise<UpdateCheck | null> {
  if (off || !isCompiled()) return null;
  let url: string;
  try {
    url = releaseUrl(Deno.env.get("FTAGENT_RELEASE_URL"), await recordedReleaseUrl(""));
  } catch (err) {
    log.warn("update check off: {error}", { error: (err as Error).message });
    return null;
  }
  const publicKey = releasePublicKey(Deno.env.get("FTAGENT_RELEASE_PUBKEY"));
  return startUpdateCheck({ url, current: VERSION, publicKey }, (level, message) => {
    if (level === "info") log.info(message);
    else log.debug(message);
  });
}
