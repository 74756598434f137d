/**
 * `ftagent --test [--config PATH]`: checks the config and runs the local self-test (a
 * synthetic SYN flood through the whole detection path). It sends nothing: with an `api_key` it
 * names the control plane the agent reports to and runs the same local test.
 *
 * @module
 */

import { z } from "zod";
import { type Config, defaultConfig } from "../core/config/mod.ts";
import { DEFAULT_CONFIG_PATH, loadConfigFile } from "../agent/config/mod.ts";
import { runSelfTest } from "../agent/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";

/** Usage text of `--test`. */
export const SELF_TEST_USAGE = `ftagent --test [--config PATH]

Validates the config, then runs a synthetic benign + SYN-flood capture through the parser,
pipeline and detector, and prints "OK: ..." (exit 0) or "FAIL: ..." (exit 1). Sends nothing.
  --config PATH   config file (default: /etc/ftagent/config.json when it exists)`;

const Options = z.object({ config: z.string().min(1).optional() });

/** Runs `--test`; returns the process exit code. */
export async function selfTest(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { config: { type: "string" } }, Options);
  if (positionals.length > 0) throw new UsageError(`--test takes no file: ${positionals[0]}`);
  const { config, source } = await readConfig(values.config);
  console.log(`config: ${source}`);
  if (config.api_key === "") {
    console.log("mode: standalone (no api_key): detection runs locally, nothing is reported");
  } else {
    console.log(
      `mode: api_key set (node_uuid ${config.node_uuid || "not set"}): the agent reports to ` +
        `${config.api_base}; this self-test checks detection locally and sends nothing.`,
    );
  }
  const result = runSelfTest();
  if (result.ok) {
    console.log(result.message);
    return 0;
  }
  console.error(result.message);
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
