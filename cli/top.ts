/**
 * `ftagent top`: a live terminal view of the running agent (rates with a sparkline, targets,
 * open incidents, last events) read from its local endpoint; `q` quits.
 *
 * @module
 */

import { z } from "zod";
import { runTop } from "../agent/observe/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";
import { agentEndpoint } from "./_config.ts";

/** Usage text of `top`. */
export const TOP_USAGE = `ftagent top [--config PATH] [--once]

A live view of the running agent (http://127.0.0.1:<metrics_port>/dashboard.json): traffic
rates with a sparkline of the last minutes, tracked targets, open incidents, last events.
q quits. No colour when NO_COLOR is set or the output is not a terminal.
  --once          print one screen and exit`;

const Options = z.object({
  config: z.string().min(1).optional(),
  once: z.boolean().default(false),
});

/** Runs `top`; returns the process exit code. */
export async function top(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    config: { type: "string" },
    once: { type: "boolean" },
  }, Options);
  if (positionals.length > 0) throw new UsageError(`unknown argument "${positionals[0]}"`);
  const { baseUrl, headers } = await agentEndpoint(values.config);
  return await runTop({
    baseUrl,
    headers,
    color: Deno.stdout.isTerminal() && (Deno.env.get("NO_COLOR") ?? "") === "",
    once: values.once,
  });
}
