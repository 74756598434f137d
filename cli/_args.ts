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
