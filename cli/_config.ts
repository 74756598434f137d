/**
 * The config of the offline commands (`replay`, `replay-log`): the defaults, or `--config PATH`
 * with its warnings on stderr; and the running agent's local endpoint (`status`, `top`).
 *
 * @module
 */

import { type Config, defaultConfig } from "../core/config/mod.ts";
import { DEFAULT_CONFIG_PATH, loadConfigFile, loadConfigOrDefaults } from "../agent/config/mod.ts";
import { endpointOf } from "../agent/observe/mod.ts";

/** The defaults without `path`; else the file's config (a bad file throws one line). */
export async function offlineConfig(path: string | undefined): Promise<Config> {
  if (path === undefined) return defaultConfig();
  const parsed = await loadConfigFile(path);
  for (const warning of parsed.warnings) console.error(`ftagent: warning: ${warning}`);
  return parsed.config;
}

/** The running agent's endpoint and headers from the config at `path` (default: the service's). */
export async function agentEndpoint(
  path: string | undefined,
): Promise<{ baseUrl: string; headers: Record<string, string> }> {
  const { config } = await loadConfigOrDefaults(path ?? DEFAULT_CONFIG_PATH, path !== undefined);
  if (config.metrics_port === 0) {
    throw new Error("the agent's endpoint is off (metrics_port is 0 in the config)");
  }
  return endpointOf(config);
}
