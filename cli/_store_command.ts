/**
 * Flags and config of the commands that read the state database (`incidents`, `mitigation`):
 * `--config PATH`, `--limit N`, `--json`, and the sub-command words.
 *
 * @module
 */

import { z } from "zod";
import type { Config } from "../core/config/mod.ts";
import { DEFAULT_CONFIG_PATH, loadConfigOrDefaults } from "../agent/config/mod.ts";
import { parseCommand } from "./_args.ts";

const Options = z.object({
  config: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1_000_000).default(50),
  json: z.boolean().default(false),
});

/** What a state-database command was asked. */
export interface StoreCommand {
  config: Config;
  limit: number;
  json: boolean;
  positionals: string[];
}

/** Parses the flags (a bad one throws a usage error) and loads the config (or the defaults). */
export async function storeCommand(args: string[]): Promise<StoreCommand> {
  const { values, positionals } = parseCommand(args, {
    config: { type: "string" },
    limit: { type: "string", short: "n" },
    json: { type: "boolean" },
  }, Options);
  const { config } = await loadConfigOrDefaults(
    values.config ?? DEFAULT_CONFIG_PATH,
    values.config !== undefined,
  );
  return { config, limit: values.limit, json: values.json, positionals };
}
