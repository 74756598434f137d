// Faults of the agent's surroundings, made with real components: a second process (python3's
// sqlite3) holding the real state database, a real tmpfs filled to the last byte, and probes
// of the agent's local endpoint while they last. Shared by the state fault tests and the soak.
import { DatabaseSync } from "node:sqlite";
import { waitFor } from "./stream.ts";

/** python3 script: holds an EXCLUSIVE transaction on argv[1] for argv[2] seconds. */
export const LOCK_HOLDER = `
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
con.execute("BEGIN EXCLUSIVE")
con.execute("INSERT OR REPLACE INTO schema_versions (component, version) SELECT component, version FROM schema_versions")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
print("released", flush=True)
`;

/** A running {@linkcode LOCK_HOLDER}. */
export interface DbLock {
  /** Resolves when the lock is held (false when the holder never said so). */
  locked: Promise<boolean>;
  /** Resolves when the lock was released (false when the holder never said so). */
  released: Promise<boolean>;
  /** Kills the holder if it still runs and reaps it. */
  stop(): Promise<void>;
}

/** Starts a python3 process that holds the database at `path` for `seconds`. */
export function holdDatabase(path: string, seconds: number): DbLock {
  const child = new Deno.Command("python3", {
    args: ["-c", LOCK_HOLDER, path, String(seconds)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timeoutMs = (seconds + 40) * 1000;
  const locked = waitFor(out, /locked/, "", timeoutMs);
  const released = locked.then((seen) => waitFor(out, /released/, seen, timeoutMs));
  const done = released.finally(() => out.cancel().catch(() => {}));
  return {
    locked: locked.then((s) => /locked/.test(s)),
    released: released.then((s) => /released/.test(s)),
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await out.cancel().catch(() => {});
      await done.catch(() => {});
      await child.status;
    },
  };
}

/** Fills the filesystem of `path` to the last byte (a file written until ENOSPC). */
export async function fill(path: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true });
  try {
    for (const size of [1 << 20, 65536, 4096, 512, 1]) {
      const chunk = new Uint8Array(size);
      try {
        for (;;) await file.write(chunk);
      } catch { /* full at this size: go on with smaller ones */ }
    }
  } finally {
    file.close();
  }
}

/** Mounts a tmpfs of `size` (e.g. "2m") on the existing directory `dir`; throws when it cannot. */
export async function mountTmpfs(dir: string, size: string): Promise<void> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir],
  }).output();
  if (out.code !== 0) throw new Error(`mount ${dir}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Unmounts `dir` (lazily if busy); never throws. */
export async function unmount(dir: string): Promise<void> {
  const out = await new Deno.Command("umount", { args: [dir], stderr: "null" }).output();
  if (out.code !== 0) await new Deno.Command("umount", { args: ["-l", dir] }).output();
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Asks `/health` every 250 ms until `untilMs` (performance.now()): answers and slowest. */
export function probeHealth(port: number, untilMs: number): {
  answered: number;
  slowestMs: number;
  done: Promise<void>;
} {
  const result = { answered: 0, slowestMs: 0, done: Promise.resolve() };
  result.done = (async () => {
    while (performance.now() < untilMs) {
      const t = performance.now();
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health`, {
          signal: AbortSignal.timeout(5000),
        });
        await r.body?.cancel();
        result.answered++;
      } catch { /* not answered */ }
      result.slowestMs = Math.max(result.slowestMs, Math.round(performance.now() - t));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return result;
}

/** A row of the agent's incidents table. */
export interface StoredIncident {
  id: string;
  state: string;
  last_event: string;
  started_ms: number;
}

/** Rows of the incidents table, read by a connection of the caller's own. */
export function storedIncidents(path: string): StoredIncident[] {
  const db = new DatabaseSync(path);
  try {
    return db.prepare("SELECT id, state, last_event, started_ms FROM incidents ORDER BY started_ms")
      .all() as unknown as StoredIncident[];
  } finally {
    db.close();
  }
}
