/**
 * Writes the config file atomically: a temp file in the same directory (mode 0600), synced,
 * then renamed over the config, so a reader sees the old file or the new one, never half.
 * A new directory is made with mode 0700. When root writes into a directory owned by another
 * user (install.sh gives `/etc/ftagent` to the `ftagent` user the service runs as), the file
 * gets that directory's owner so the service can read it.
 *
 * @module
 */

import { basename, dirname } from "node:path";

/** The temp file {@linkcode writeConfigAtomic} uses for `path` (removed on any failure). */
function tempPathFor(path: string): string {
  return `${dirname(path)}/.${basename(path)}.tmp-${Deno.pid}`;
}

/** Writes `config` as JSON (2-space indent, final newline) to `path`, atomically. */
export async function writeConfigAtomic(
  path: string,
  config: Record<string, unknown>,
): Promise<void> {
  const dir = dirname(path);
  let dirInfo: Deno.FileInfo;
  try {
    dirInfo = await Deno.stat(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
    dirInfo = await Deno.stat(dir);
  }
  const temp = tempPathFor(path);
  const text = JSON.stringify(config, null, 2) + "\n";
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(text));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.chmod(temp, 0o600);
    if (Deno.uid() === 0 && dirInfo.uid !== null && dirInfo.uid !== 0) {
      await Deno.chown(temp, dirInfo.uid, dirInfo.gid);
    }
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}

/** Removes a temp file left by an interrupted write (a signal handler's clean-up). */
export function removeTempSync(path: string): void {
  try {
    Deno.removeSync(tempPathFor(path));
  } catch {
    // Nothing was left.
  }
}
