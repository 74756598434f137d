/**
 * Saving and restoring the traffic baseline (`state_dir`), so a restart does not start cold:
 * one JSON file written atomically (temp file in the same directory, fsync, rename), read back
 * at start unless it is missing, corrupt, of another version or window, or older than 24 h.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { Baseline, type BaselineOptions, type BaselineState } from "../../core/detect/mod.ts";

/** A saved baseline is ignored once older than this (seconds of wall time). */
const BASELINE_MAX_AGE_SEC = 24 * 3600;
/** A saved baseline more than this far in the future (clock stepped back) is ignored. */
const FUTURE_SLACK_SEC = 300;

/** The file's content: the baseline state and the wall time it was saved. */
export interface StoredBaseline {
  /** Wall clock, epoch seconds. */
  savedAt: number;
  /** {@linkcode Baseline.toJSON} output. */
  baseline: BaselineState;
}

const Envelope = z.object({ savedAt: z.number(), baseline: z.unknown() });

/** Temp files of saves in flight in this process (never swept as stale). */
const inFlight = new Set<string>();
let sequence = 0;

/**
 * Writes `baseline` to `path` atomically: a temp file in the same directory (mode 0600),
 * fsync, rename over `path`, fsync of the directory. Creates the directory (mode 0700) when
 * missing. A crash at any point leaves either the old file or the new one; temp files left by
 * an earlier crash are removed. Throws on I/O errors (the old file stays).
 */
export async function saveBaseline(
  path: string,
  baseline: Baseline,
  nowSec: number,
): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const prefix = `${basename(path)}.tmp-`;
  const temp = join(dir, `${prefix}${Deno.pid}-${sequence++}`);
  inFlight.add(temp);
  try {
    const stored: StoredBaseline = { savedAt: nowSec, baseline: baseline.toJSON() };
    const data = new TextEncoder().encode(JSON.stringify(stored) + "\n");
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await Deno.chmod(temp, 0o600); // whatever the umask
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  } finally {
    inFlight.delete(temp);
  }
  await syncDirectory(dir);
  await removeStaleTemps(dir, prefix);
}

/**
 * Loads the baseline saved at `path`. Returns `{ baseline: null, reason }` (a one-line reason)
 * when the file is missing, unreadable, corrupt, of another version or window than `options`,
 * older than 24 h at `nowSec` (wall clock, epoch seconds) or from the future. Never throws
 * for a bad file.
 */
export async function loadBaseline(
  path: string,
  options: BaselineOptions,
  nowSec: number,
): Promise<{ baseline: Baseline | null; reason: string | null }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? `no saved baseline at ${path}`
      : `cannot read ${path}: ${oneLine(err)}`;
    return { baseline: null, reason };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { baseline: null, reason: `corrupt baseline file ${path}: ${oneLine(err)}` };
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success || envelope.data.baseline === undefined) {
    return { baseline: null, reason: `corrupt baseline file ${path}: not a saved baseline` };
  }
  const { savedAt } = envelope.data;
  const age = nowSec - savedAt;
  if (age > BASELINE_MAX_AGE_SEC) {
    const hours = (age / 3600).toFixed(1);
    return { baseline: null, reason: `saved baseline is ${hours} h old (limit 24 h)` };
  }
  if (age < -FUTURE_SLACK_SEC) {
    return { baseline: null, reason: `saved baseline is from the future (${-age} s ahead)` };
  }
  let baseline: Baseline;
  try {
    baseline = Baseline.fromJSON(envelope.data.baseline, options);
  } catch (err) {
    return { baseline: null, reason: oneLine(err) };
  }
  const newest = baseline.newest;
  if (newest !== null && newest > nowSec + FUTURE_SLACK_SEC) {
    return { baseline: null, reason: `saved baseline has samples from the future (${newest})` };
  }
  return { baseline, reason: null };
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0];
}

/** fsync of the directory so the rename itself survives a power cut (best effort). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

/** Removes temp files of earlier saves that never reached their rename (a crash). */
async function removeStaleTemps(dir: string, prefix: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
      const full = join(dir, entry.name);
      if (!inFlight.has(full)) await Deno.remove(full).catch(() => {});
    }
  } catch {
    // Best effort: a stale temp file costs only disk space.
  }
}
