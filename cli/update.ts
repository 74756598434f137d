/**
 * `ftagent --update`: replaces the installed release binary with the newest release when that
 * is newer, verified first (SHA-256 from `SHA256SUMS`, and the Ed25519 signature of
 * `SHA256SUMS` when a release key is pinned), then restarts the service. `--requested` is how
 * `ftagent-update.service` (root, started by `ftagent-update.path`) runs it after the server's
 * `force_update`: only when the config's `auto_update` is true and the agent left a request.
 *
 * @module
 */

import { z } from "zod";
import { DEFAULT_CONFIG_PATH, loadConfigOrDefaults } from "../agent/config/mod.ts";
import { VERSION } from "../agent/mod.ts";
import {
  canWriteBeside,
  recordedReleaseUrl,
  releasePublicKey,
  releaseUrl,
  restartService,
  takeUpdateRequest,
  update,
  updateTarget,
} from "../agent/update/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";

/** Usage text of `--update`. */
export const UPDATE_USAGE = `ftagent --update [--requested] [--config PATH]

Fetches the release's SHA256SUMS and VERSION (from $FTAGENT_RELEASE_URL, else the URL install.sh
recorded in /etc/ftagent/release_url, else the project's releases); when it is newer, downloads
the binary for this CPU, checks its SHA-256 (and the Ed25519 signature of SHA256SUMS when a
release key is pinned), replaces this binary atomically and restarts ftagent.service. Refuses,
leaving the binary as it was, when any check fails.
  --requested     only when the config's auto_update is true and the agent asked for it (the
                  server's force_update); run by ftagent-update.service
  --config PATH   config file (default /etc/ftagent/config.json), read with --requested`;

const Options = z.object({
  requested: z.boolean().default(false),
  config: z.string().min(1).optional(),
});

/** Runs `--update`; returns the process exit code. */
export async function updateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    requested: { type: "boolean" },
    config: { type: "string" },
  }, Options);
  if (positionals.length > 0) throw new UsageError(`--update takes no file: ${positionals[0]}`);
  const root = Deno.env.get("FTAGENT_ROOT") ?? "";
  if (values.requested) {
    const path = values.config ?? DEFAULT_CONFIG_PATH;
    const { config } = await loadConfigOrDefaults(path, values.config !== undefined);
    const asked = await takeUpdateRequest(config.state_dir);
    if (!config.auto_update) {
      console.log(`ftagent: update requested but auto_update is off in ${path}: not updating`);
      return 0;
    }
    if (!asked) {
      console.log("ftagent: no update request: nothing to do");
      return 0;
    }
  }
  const target = updateTarget(root);
  if (target === null) {
    console.error(
      "ftagent: error: this ftagent runs from a checkout (deno), not a release binary: " +
        "update the checkout, then sh install.sh",
    );
    return 1;
  }
  if (!await canWriteBeside(target)) {
    console.error(`ftagent: error: cannot write beside ${target}: run --update as root`);
    return 1;
  }
  const url = releaseUrl(Deno.env.get("FTAGENT_RELEASE_URL"), await recordedReleaseUrl(root));
  console.log(`ftagent: checking ${url} (running ${VERSION})`);
  const result = await update({
    url,
    current: VERSION,
    target,
    publicKey: releasePublicKey(Deno.env.get("FTAGENT_RELEASE_PUBKEY")),
    arch: Deno.build.arch,
    say: (line) => console.log(`ftagent: ${line}`),
  });
  if (!result.updated) {
    console.log(`ftagent: up to date (running ${result.current}, release ${result.available})`);
    return 0;
  }
  console.log(`ftagent: updated ${result.target} from ${result.from} to ${result.to}`);
  console.log(`ftagent: ${await restartService(root)}`);
  return 0;
}
