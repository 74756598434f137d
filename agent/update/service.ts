/**
 * The self-update's surroundings: which file is the installed binary, where install.sh recorded
 * the release URL, the request file through which the sandboxed service asks the root-run
 * `ftagent-update.service` for an update (the server's `force_update` with `auto_update` on),
 * and restarting the service with systemctl (an argument vector, never a shell).
 *
 * @module
 */

import { dirname } from "node:path";
import { newerRelease } from "./updater.ts";

/** The program path install.sh writes (under `FTAGENT_ROOT` when set). */
export const INSTALLED_BINARY = "/usr/local/bin/ftagent";
/** Where install.sh records the release URL it installed from. */
export const RECORDED_URL_PATH = "/etc/ftagent/release_url";
/** The request file in `state_dir` that `ftagent-update.path` watches. */
export const UPDATE_REQUEST_FILE = "update-request";

/** True when this process is a `deno compile` binary (not `deno run` of a checkout or bundle). */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-");
}

/**
 * The file `ftagent --update` replaces: this binary when compiled; under a throw-away root
 * (`root`, from `FTAGENT_ROOT`) the installed program path inside it; otherwise null (an
 * install from a checkout is updated with git and install.sh).
 */
export function updateTarget(root: string, compiled: boolean = isCompiled()): string | null {
  if (compiled) return Deno.execPath();
  if (root !== "") return `${root}${INSTALLED_BINARY}`;
  return null;
}

/** The first line of `<root>/etc/ftagent/release_url`, or null when there is none. */
export async function recordedReleaseUrl(root: string): Promise<string | null> {
  try {
    const line = (await Deno.readTextFile(`${root}${RECORDED_URL_PATH}`)).split("\n")[0].trim();
    return line === "" ? null : line;
  } catch {
    return null;
  }
}

/** Writes the update request into `stateDir` (atomically; a second request changes nothing). */
export async function requestUpdate(stateDir: string, reason: string): Promise<void> {
  const path = `${stateDir}/${UPDATE_REQUEST_FILE}`;
  const temp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(temp, `${reason}\n`, { mode: 0o600 });
  await Deno.rename(temp, path);
}

/** Removes the update request in `stateDir`; true when there was one. */
export async function takeUpdateRequest(stateDir: string): Promise<boolean> {
  try {
    await Deno.remove(`${stateDir}/${UPDATE_REQUEST_FILE}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Restarts `ftagent.service` when systemd runs it here (never under a throw-away root);
 * returns one line saying what was done.
 */
export async function restartService(root: string): Promise<string> {
  if (root !== "") return `FTAGENT_ROOT is set (${root}): not restarting the service`;
  try {
    if (!Deno.statSync("/run/systemd/system").isDirectory) throw new Error();
  } catch {
    return "systemd is not running here: restart ftagent by hand";
  }
  const systemctl = (args: string[]) =>
    new Deno.Command("systemctl", { args, stdin: "null", stdout: "null", stderr: "piped" })
      .output();
  let active;
  try {
    active = await systemctl(["is-active", "--quiet", "ftagent.service"]);
  } catch {
    return "systemctl is not installed: restart ftagent by hand";
  }
  if (!active.success) return "ftagent.service is not running: not restarted";
  const out = await systemctl(["restart", "ftagent.service"]);
  if (!out.success) {
    const detail = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`systemctl restart ftagent.service failed: ${detail}`);
  }
  return "restarted ftagent.service";
}

/** The directory of `path` exists and is writable by this process (a cheap check first). */
export async function canWriteBeside(path: string): Promise<boolean> {
  const probe = `${dirname(path)}/.ftagent-write-probe-${Deno.pid}`;
  try {
    await Deno.writeFile(probe, new Uint8Array(), { createNew: true });
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * The server's `force_update`: with `autoUpdate` leaves the request for `ftagent-update.path`
 * in `stateDir` (the sandboxed service cannot write its own binary; the root-run update verifies
 * the release and restarts the service); without it only says why nothing happens. Returns the
 * line to log and its level.
 */
export async function onForceUpdate(
  autoUpdate: boolean,
  stateDir: string,
): Promise<{ level: "info" | "warning"; message: string }> {
  if (!autoUpdate) {
    return {
      level: "warning",
      message: "the server asks for an update (force_update) but auto_update is off: not updating",
    };
  }
  try {
    await requestUpdate(stateDir, "force_update");
  } catch (err) {
    return {
      level: "warning",
      message: `the server asks for an update; could not leave the request in ${stateDir}: ${
        (err as Error).message.split("\n")[0]
      }`,
    };
  }
  return {
    level: "info",
    message: `the server asks for an update: requested it (${stateDir}/${UPDATE_REQUEST_FILE}, ` +
      "run by ftagent-update.path as ftagent --update --requested)",
  };
}

/** A start-up update check running in the background (see {@linkcode startUpdateCheck}). */
export interface UpdateCheck {
  /** Aborts the check if still running and waits for it. */
  stop(): Promise<void>;
}

/**
 * Looks once, in the background, for a newer verified release and tells `say` (`ftagent X is
 * available ...: ftagent --update`); a failure is told at debug level only (no internet is
 * normal). Never blocks: the agent starts at once and {@linkcode UpdateCheck.stop} aborts it.
 */
export function startUpdateCheck(
  opts: { url: string; current: string; publicKey: string },
  say: (level: "info" | "debug", message: string) => void,
): UpdateCheck {
  const abort = new AbortController();
  const done = newerRelease({ ...opts, signal: abort.signal }).then(
    (newer) => {
      if (newer !== null) {
        say("info", `ftagent ${newer} is available (running ${opts.current}): ftagent --update`);
      } else say("debug", `update check: ${opts.current} is the newest release`);
    },
    (err) => {
      if (!abort.signal.aborted) say("debug", `update check failed: ${(err as Error).message}`);
    },
  );
  return {
    async stop() {
      abort.abort();
      await done;
    },
  };
}
