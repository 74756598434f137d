/**
 * `ftagent --test [--config PATH] [--interface IF]`: checks what the agent needs, one line each
 * ("ok: ..." or "FAIL: ... why"), then a verdict; exit 1 when any check failed.
 *
 * 1. config: the file is valid (the other checks need it: a bad config stops here);
 * 2. capture: the real libpcap handle opens on the configured interface ("auto" resolved as
 *    the agent resolves it) and is closed at once: the interface exists, capture is permitted;
 * 3. control plane: with an `api_key`, a real heartbeat (the agent's body) to `api_base`, with
 *    the answer or the exact failure (DNS, refused, TLS, timeout, 401, 404, other status);
 *    standalone mode says so and passes;
 * 4. detection: a synthetic SYN flood through parser, pipeline and detector.
 *
 * @module
 */

import { z } from "zod";
import { type Config, defaultConfig } from "../core/config/mod.ts";
import { DEFAULT_CONFIG_PATH, loadConfigFile } from "../agent/config/mod.ts";
import {
  checkCapture,
  checkControlPlane,
  type CheckResult,
  runSelfTest,
  VERSION,
} from "../agent/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";

/** Usage text of `--test`. */
export const SELF_TEST_USAGE = `ftagent --test [--config PATH] [--interface IF]

Checks, one line each ("ok: ..." or "FAIL: ... why"), then a verdict; exit 1 on any failure:
  config         the config file is valid
  capture        libpcap opens the interface (it exists, capture is permitted), closed at once
  control plane  with an api_key: a real heartbeat to api_base, with the answer or the failure
                 (DNS, connection refused, TLS, timeout, 401 bad key, 404 unknown node, HTTP
                 status); standalone (no api_key) says so and passes
  detection      a synthetic SYN flood through parser, pipeline and detector
  --config PATH     config file (default: /etc/ftagent/config.json when it exists)
  --interface IF    capture check on IF instead of the config's interface`;

const Options = z.object({
  config: z.string().min(1).optional(),
  interface: z.string().min(1).optional(),
});

/** Runs `--test`; returns the process exit code. */
export async function selfTest(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    config: { type: "string" },
    interface: { type: "string", short: "i" },
  }, Options);
  if (positionals.length > 0) throw new UsageError(`--test takes no file: ${positionals[0]}`);
  const results: [string, CheckResult][] = [];
  const say = (name: string, result: CheckResult) => {
    results.push([name, result]);
    console.log(result.line);
  };
  let config: Config;
  try {
    const read = await readConfig(values.config);
    config = read.config;
    say("config", { ok: true, line: `ok: config: ${read.source}` });
  } catch (err) {
    say("config", { ok: false, line: `FAIL: config: ${(err as Error).message.split("\n")[0]}` });
    console.log("verdict: FAIL (config); the other checks need a valid config");
    return 1;
  }
  // With flow collection on (another part's key, read defensively) nothing is captured.
  const flows = (config as { flow_enabled?: unknown }).flow_enabled === true;
  say(
    "capture",
    flows && values.interface === undefined
      ? { ok: true, line: "ok: capture: flow_enabled: the agent collects flows, opens no capture" }
      : checkCapture(config.interface, values.interface),
  );
  say("control plane", await checkControlPlane(config, VERSION));
  const detection = runSelfTest();
  say("detection", { ok: detection.ok, line: detection.message });
  const failed = results.filter(([, r]) => !r.ok).map(([name]) => name);
  if (failed.length === 0) {
    console.log(`verdict: ok (${results.length} checks passed)`);
    return 0;
  }
  console.log(`verdict: FAIL (${failed.join(", ")})`);
  return 1;
}

async function readConfig(path: string | undefined): Promise<{ config: Config; source: string }> {
  if (path === undefined) {
    try {
      await Deno.stat(DEFAULT_CONFIG_PATH);
      path = DEFAULT_CONFIG_PATH;
    } catch {
      return { config: defaultConfig(), source: `none (${DEFAULT_CONFIG_PATH} absent): defaults` };
    }
  }
  const parsed = await loadConfigFile(path);
  for (const warning of parsed.warnings) console.log(`config warning: ${warning}`);
  return { config: parsed.config, source: `${path} is valid` };
}
