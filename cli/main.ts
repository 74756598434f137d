/**
 * The `ftagent` command: argument parsing and wiring only.
 *
 * @module
 */

import { splitCommand, UsageError } from "./_args.ts";
import { closeLogging } from "./_logging.ts";
import { capture, CAPTURE_USAGE } from "./capture.ts";
import { CLASSIFY_USAGE, classifyCommand } from "./classify.ts";
import { incidents, INCIDENTS_USAGE } from "./incidents.ts";
import { MITIGATION_USAGE, mitigationCommand } from "./mitigation.ts";
import { status, STATUS_USAGE } from "./status.ts";
import { top, TOP_USAGE } from "./top.ts";
import { replay, REPLAY_USAGE } from "./replay.ts";
import { REPLAY_LOG_USAGE, replayLog } from "./replay_log.ts";
import { INSTALL_SERVICE_USAGE, installService } from "./install_service.ts";
import { SELF_TEST_USAGE, selfTest } from "./self_test.ts";
import { setup, SETUP_USAGE } from "./setup.ts";
import { run, RUN_USAGE } from "./run.ts";
import { UPDATE_USAGE, updateCommand } from "./update.ts";
import { VERSION } from "../agent/mod.ts";

const USAGE = `ftagent ${VERSION}: DDoS detection agent for Linux servers

${indent(RUN_USAGE)}

  ftagent --setup                wizard that writes the config (--api-key K --node-uuid U: no questions)
  ftagent --test                 check config, capture, control plane, detection (--config PATH)
  ftagent --install-service      install the systemd unit (then: systemctl enable --now ftagent)
  ftagent --update               replace this binary with the newer release, verified (SHA-256, signature)
  ftagent --version              print the version
  ftagent --help                 this text

Commands:
${indent(CAPTURE_USAGE)}

${indent(REPLAY_USAGE)}

${indent(REPLAY_LOG_USAGE)}

${indent(CLASSIFY_USAGE)}

${indent(INCIDENTS_USAGE)}

${indent(MITIGATION_USAGE)}

${indent(STATUS_USAGE)}

${indent(TOP_USAGE)}

${indent(SETUP_USAGE)}

${indent(SELF_TEST_USAGE)}

${indent(INSTALL_SERVICE_USAGE)}`;

function indent(text: string): string {
  return text.split("\n").map((line) => "  " + line).join("\n");
}

/** The commands, with their usage (for `ftagent COMMAND --help`). */
const COMMANDS: Record<string, string> = {
  "replay": REPLAY_USAGE,
  "replay-log": REPLAY_LOG_USAGE,
  "classify": CLASSIFY_USAGE,
  "incidents": INCIDENTS_USAGE,
  "mitigation": MITIGATION_USAGE,
  "status": STATUS_USAGE,
  "top": TOP_USAGE,
  "capture": CAPTURE_USAGE,
  "help": USAGE,
};
/** The Flowtriq agent's mode flags, taken wherever they stand when no command is given. */
const MODES = new Set([
  "--version",
  "-V",
  "--help",
  "-h",
  "--setup",
  "--test",
  "--install-service",
  "--update",
]);
const MODE_USAGE: Record<string, string> = {
  "--setup": SETUP_USAGE,
  "--test": SELF_TEST_USAGE,
  "--install-service": INSTALL_SERVICE_USAGE,
  "--update": UPDATE_USAGE,
};

/**
 * Runs the CLI with `args`; returns the exit code (errors are printed as one line). Options
 * may come before or after the command, in any order, as with argparse.
 */
export async function main(args: string[]): Promise<number> {
  try {
    const { command: first, rest } = splitCommand(args, new Set(Object.keys(COMMANDS)), MODES);
    const usage = first === null ? RUN_USAGE : COMMANDS[first] ?? MODE_USAGE[first];
    if (usage && first !== "help" && (rest.includes("--help") || rest.includes("-h"))) {
      console.log(usage);
      return 0;
    }
    switch (first) {
      case "--version":
      case "-V":
        console.log(`ftagent ${VERSION}`);
        return 0;
      case "--help":
      case "-h":
      case "help":
        console.log(USAGE);
        return 0;
      case "replay":
        return await replay(rest);
      case "replay-log":
        return await replayLog(rest);
      case "classify":
        return await classifyCommand(rest);
      case "incidents":
        return await incidents(rest);
      case "mitigation":
        return await mitigationCommand(rest);
      case "status":
        return await status(rest);
      case "top":
        return await top(rest);
      case "capture":
        return await capture(rest);
      case "--setup":
        return await setup(rest);
      case "--test":
        return await selfTest(rest);
      case "--install-service":
        return await installService(rest);
      case "--update":
        return await updateCommand(rest);
      default:
        return await run(rest);
    }
  } catch (err) {
    return report(err);
  } finally {
    await closeLogging();
  }
}

function report(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`ftagent: ${err.message} (see ftagent --help)`);
    return 2;
  }
  if (err instanceof Error) {
    console.error(`ftagent: error: ${err.message.split("\n")[0]}`);
    if (Deno.env.get("FTAGENT_DEBUG")) console.error(err.stack);
    return 1;
  }
  console.error(`ftagent: error: ${String(err)}`);
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
