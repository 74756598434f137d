/**
 * The config of the offline commands (`replay`, `replay-log`): the defaults, or `--config PATH`
 * with its warnings on stderr.
 *
 * @module
 */

import { type Config, defaultConfig } from "../core/config/mod.ts";
import { loadConfigFile } from "../agent/config/mod.ts";

/** The defaults without `path`; else the file's config (a bad file throws one line). */
export async function offlineConfig(path: string | undefined): Promise<Config> {
  if (path === undefined) return defaultConfig();
  const parsed = await loadConfigFile(path);
  for (const warning of parsed.warnings) console.error(`ftagent: warning: ${warning}`);
  return parsed.config;
}
