/**
 * Judges an access log path the control plane pushes (`l7.log_path`): the agent runs as root
 * and would tail whatever it is told (`/etc/shadow`), so the path is resolved first (symlinks
 * and `..`, through the deepest part that exists; a log not yet created is judged by its
 * folder) and accepted only inside a web server's log folder ({@linkcode WEB_LOG_DIRS}) and
 * only when it is a regular file or does not exist yet.
 *
 * @module
 */

import { basename, dirname, posix } from "node:path";
import { inLogDirs, WEB_LOG_DIRS } from "../../core/report/mod.ts";

/** The verdict on a pushed log path: the resolved path to follow, or why it is refused. */
export type PushedLogPath = { ok: true; path: string } | { ok: false; error: string };

/**
 * Resolves `path` and accepts it when it lies inside one of `dirs` (default
 * {@linkcode WEB_LOG_DIRS}); the path to follow is the resolved one. Never throws.
 */
export async function judgePushedLogPath(
  path: string,
  dirs: readonly string[] = WEB_LOG_DIRS,
): Promise<PushedLogPath> {
  if (!path.startsWith("/")) return { ok: false, error: "not an absolute path" };
  // Not normalised by hand: ".." after a symlink goes up from the symlink's target, as the
  // kernel does it; realPath resolves both.
  let head = path;
  const tail: string[] = [];
  let resolved: string | null = null;
  // realPath needs an existing path: climb to the deepest existing folder, keep the rest.
  for (let depth = 0; depth < 256 && resolved === null; depth++) {
    try {
      resolved = posix.join(await Deno.realPath(head), ...tail);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound) || head === "/") {
        return { ok: false, error: `cannot resolve it (${oneLine(err)})` };
      }
      tail.unshift(basename(head));
      head = dirname(head);
    }
  }
  if (resolved === null) return { ok: false, error: "too deep to resolve" };
  if (tail.includes("..") || tail.includes(".")) {
    return { ok: false, error: "holds .. below a folder that does not exist" };
  }
  const shown = resolved === path ? "" : ` (resolves to ${resolved})`;
  if (!inLogDirs(resolved, dirs)) {
    return {
      ok: false,
      error: `outside the web servers' log folders${shown}; set it in the local config instead`,
    };
  }
  if (tail.length === 0) {
    try {
      const st = await Deno.stat(resolved);
      if (!st.isFile) return { ok: false, error: `not a regular file${shown}` };
    } catch (err) {
      return { ok: false, error: `cannot read it (${oneLine(err)})` };
    }
  }
  return { ok: true, path: resolved };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
