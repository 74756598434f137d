/**
 * The `ftagent` command: argument parsing and wiring only.
 *
 * @module
 */

import { UsageError } from "./_args.ts";
import { capture, CAPTURE_USAGE } from "./capture.ts";
import { CLASSIFY_USAGE, classifyCommand } from "./classify.ts";
import { replay, REPLAY_USAGE } from "./replay.ts";
import { VERSION } from "./version.ts";

const USAGE = `ftagent ${VERSION}: DDoS detection agent for Linux servers

Usage:
  ftagent [--interface IF]       watch an interface live (same as "ftagent capture")
  ftagent --version              print the version
  ftagent --help                 this text

Commands:
${indent(CAPTURE_USAGE)}

${indent(REPLAY_USAGE)}

${indent(CLASSIFY_USAGE)}`;

function indent(text: string): string {
  return text.split("\n").map((line) => "  " + line).join("\n");
}

/** Runs the CLI with `args`; returns the exit code (errors are printed as one line). */
export async function main(args: string[]): Promise<number> {
  try {
    const [first, ...rest] = args;
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
      case "classify":
        return await classifyCommand(rest);
      case "capture":
        return await capture(rest);
      default:
        return await capture(args);
    }
  } catch (err) {
    return report(err);
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
