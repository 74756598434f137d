/**
 * Reads the config file (`/etc/ftagent/config.json` or `--config PATH`).
 *
 * @module
 */

import { ConfigError, parseConfig, type ParsedConfig } from "../core/config.ts";

/** Reads and validates `path`; throws a one-line {@linkcode ConfigError} for anything wrong. */
export async function loadConfigFile(path: string): Promise<ParsedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new ConfigError(`${path}: no such file`);
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(`${path}: permission denied`);
    }
    throw new ConfigError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  try {
    return parseConfig(data);
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
}
