// Argument parsing for every command: node:util parseArgs (JSR's @std/cli is out of reach
// here) validated by zod, so a bad flag or value is one clear line.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { z } from "zod";

/** A command line the user got wrong: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parses `args` against `options`, then validates the values with `schema`. */
export function parseCommand<S extends z.ZodType>(
  args: string[],
  options: ParseArgsOptionsConfig,
  schema: S,
): { values: z.infer<S>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const result = schema.safeParse(parsed.values);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path.join(".");
    throw new UsageError(`--${key}: ${issue.message}`);
  }
  return { values: result.data, positionals: parsed.positionals };
}

/** Options of any command that take a value (their next argument is never a command). */
const VALUE_OPTIONS = new Set([
  "--config",
  "--interface",
  "--api-key",
  "--node-uuid",
  "--api-base",
  "-i",
  "--pcap",
  "--filter",
  "--duration",
  "--reader",
  "--format",
  "--limit",
  "-n",
  "--output",
  "-o",
]);

/**
 * Finds the command in `args` wherever it stands, as argparse did: the first argument that is
 * not an option or an option's value, when it is one of `commands`, else the first of `modes`
 * (`--test`, `--setup`, ...). Returns it (null: none) and the other arguments in their order,
 * so `ftagent --config X --test` and `ftagent --config X incidents` work like their
 * command-first forms.
 */
export function splitCommand(
  args: readonly string[],
  commands: ReadonlySet<string>,
  modes: ReadonlySet<string>,
): { command: string | null; rest: string[] } {
  let positional = -1, mode = -1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") break;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (modes.has(a)) {
      if (mode < 0) mode = i;
    } else if (!a.startsWith("-") || a === "-") {
      positional = i;
      break;
    }
  }
  const at = positional >= 0 && commands.has(args[positional]) ? positional : mode;
  if (at < 0) return { command: null, rest: [...args] };
  return { command: args[at], rest: [...args.slice(0, at), ...args.slice(at + 1)] };
}
