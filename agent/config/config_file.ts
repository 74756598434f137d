/**
 * Reads the config file (`/etc/ftagent/config.json` or `--config PATH`).
 *
 * @module
 */

import {
  ConfigError,
  defaultConfig,
  parseConfig,
  type ParsedConfig,
} from "../../core/config/mod.ts";

/** Where the agent looks for its config. */
export const DEFAULT_CONFIG_PATH = "/etc/ftagent/config.json";

/** A loaded config, and whether the file was missing (defaults used). */
export interface LoadedConfig extends ParsedConfig {
  /** True when there was no file and these are the defaults. */
  missing: boolean;
}

/**
 * Reads `path`; when it was not named explicitly and does not exist, the defaults (so a fresh
 * install runs). A named file that is missing or wrong is a one-line {@linkcode ConfigError}.
 */
export async function loadConfigOrDefaults(path: string, explicit: boolean): Promise<LoadedConfig> {
  if (!explicit) {
    try {
      await Deno.stat(path);
    } catch {
      return { config: defaultConfig(), warnings: [], missing: true };
    }
  }
  return { ...(await loadConfigFile(path)), missing: false };
}

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
