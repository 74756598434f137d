/**
 * Self-update: fetches the release's `SHA256SUMS` (and, with a pinned key, verifies its Ed25519
 * signature), its `VERSION`, and when that is newer the binary for this CPU; checks the binary's
 * SHA-256, writes it beside the installed one, runs it once (`--version` must name the release's
 * version), renames it over the installed one (atomic) and restarts the service with systemctl
 * (an argument vector, never a shell). Any failure before the rename leaves the installed
 * binary untouched: it never replaces itself with an unverified file.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import {
  artifactName,
  compareVersions,
  parseSums,
  sha256Hex,
  SIG_FILE,
  SUMS_FILE,
  verifySignature,
  VERSION_FILE,
} from "./release.ts";

/** A release refused or unreachable: one line naming the file and the check that failed. */
export class UpdateError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UpdateError";
  }
}

/** What {@linkcode update} needs. */
export interface UpdateOptions {
  /** The release directory URL (no trailing slash). */
  url: string;
  /** The running version. */
  current: string;
  /** The file to replace (the installed binary). */
  target: string;
  /** The pinned public key (base64 SPKI DER); empty: SHA256 only. */
  publicKey: string;
  /** CPU architecture (`Deno.build.arch`). */
  arch: string;
  /** Seconds one download may take (default 120). */
  timeoutSeconds?: number;
  /** Aborts the downloads (the agent stopping). */
  signal?: AbortSignal;
  /** Told each step, one line each. */
  say?: (line: string) => void;
}

/** What an update did. */
export type UpdateResult =
  | { updated: false; current: string; available: string }
  | { updated: true; from: string; to: string; target: string };

/** Largest `SHA256SUMS` accepted (bytes). */
const SHA256SUMS_LIMIT = 64 * 1024;
/** Largest binary accepted (bytes). */
const BINARY_LIMIT = 512 * 1024 * 1024;

/**
 * Updates `target` to the release at `url` when it is newer than `current`; throws
 * {@linkcode UpdateError} (target untouched) when a file is missing, a signature or checksum
 * does not match, or the new binary does not run.
 */
export async function update(opts: UpdateOptions): Promise<UpdateResult> {
  const timeout = (opts.timeoutSeconds ?? 120) * 1000;
  const get = (name: string, limit: number) =>
    download(`${opts.url}/${name}`, limit, timeout, opts.signal);
  const { sums, available } = await manifest(opts, get);
  let newer: number;
  try {
    newer = compareVersions(available, opts.current);
  } catch (err) {
    throw new UpdateError(`${opts.url}/${VERSION_FILE}: ${(err as Error).message}`);
  }
  if (newer <= 0) return { updated: false, current: opts.current, available };
  const name = artifactName(opts.arch);
  opts.say?.(`downloading ${opts.url}/${name} (${available})`);
  const binary = await get(name, BINARY_LIMIT);
  await checkSum(sums, name, binary);
  opts.say?.(`SHA256 of ${name} verified`);
  await replace(opts.target, binary, available);
  return { updated: true, from: opts.current, to: available, target: opts.target };
}

/**
 * The newer release's version at `opts.url` (verified as {@linkcode update} verifies it), or
 * null when the running one is current. Throws {@linkcode UpdateError}. For the agent's start-up
 * notice; downloads no binary.
 */
export async function newerRelease(
  opts: Pick<UpdateOptions, "url" | "current" | "publicKey" | "timeoutSeconds" | "signal">,
): Promise<string | null> {
  const timeout = (opts.timeoutSeconds ?? 20) * 1000;
  const get = (name: string, limit: number) =>
    download(`${opts.url}/${name}`, limit, timeout, opts.signal);
  const { available } = await manifest(opts, get);
  try {
    return compareVersions(available, opts.current) > 0 ? available : null;
  } catch (err) {
    throw new UpdateError(`${opts.url}/${VERSION_FILE}: ${(err as Error).message}`);
  }
}

/** Fetches and verifies `SHA256SUMS` (signature with a pinned key) and `VERSION`. */
async function manifest(
  opts: Pick<UpdateOptions, "url" | "publicKey" | "say">,
  get: (name: string, limit: number) => Promise<Uint8Array>,
): Promise<{ sums: Map<string, string>; available: string }> {
  const say = opts.say ?? (() => {});
  const sumsBytes = await get(SUMS_FILE, SHA256SUMS_LIMIT);
  if (opts.publicKey !== "") {
    const sig = await get(SIG_FILE, 1024).catch((err) => {
      throw new UpdateError(`${err.message} (a release key is pinned: releases must be signed)`);
    });
    if (!await verifySignature(opts.publicKey, sumsBytes, sig)) {
      throw new UpdateError(
        `${opts.url}/${SIG_FILE} does not verify ${SUMS_FILE} with the pinned key`,
      );
    }
    say(`signature of ${SUMS_FILE} verified (Ed25519, pinned key)`);
  } else {
    say(`no release key pinned: ${SUMS_FILE} not signature-checked (SHA256 only)`);
  }
  let sums: Map<string, string>;
  try {
    sums = parseSums(new TextDecoder().decode(sumsBytes));
  } catch (err) {
    throw new UpdateError(`${opts.url}/${(err as Error).message}`);
  }
  const versionBytes = await get(VERSION_FILE, 64);
  await checkSum(sums, VERSION_FILE, versionBytes);
  return { sums, available: new TextDecoder().decode(versionBytes).trim() };
}

async function checkSum(sums: Map<string, string>, name: string, bytes: Uint8Array) {
  const want = sums.get(name);
  if (want === undefined) throw new UpdateError(`${SUMS_FILE} has no line for ${name}`);
  const got = await sha256Hex(bytes);
  if (got !== want) {
    throw new UpdateError(`checksum mismatch for ${name}: expected ${want}, got ${got}`);
  }
}

/** GETs `url` into memory, at most `limit` bytes; a failure is one line naming the URL. */
async function download(
  url: string,
  limit: number,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = stop === undefined ? timeout : AbortSignal.any([timeout, stop]);
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: "follow" });
  } catch (err) {
    throw new UpdateError(`could not download ${url}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new UpdateError(`could not download ${url}: HTTP ${response.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body!) {
      size += chunk.length;
      if (size > limit) throw new UpdateError(`${url} is larger than ${limit} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    await response.body?.cancel().catch(() => {});
    if (err instanceof UpdateError) throw err;
    throw new UpdateError(`could not download ${url}: ${(err as Error).message.split("\n")[0]}`);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) out.set(c, (at += c.length) - c.length);
  return out;
}

/**
 * Writes `binary` beside `target` (same file system), runs it with `--version` (it must print
 * `ftagent <version>`), then renames it over `target`. The temporary file is removed on any
 * failure.
 */
async function replace(target: string, binary: Uint8Array, version: string): Promise<void> {
  const temp = `${dirname(target)}/.${basename(target)}.update-${Deno.pid}`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o755 });
    try {
      await writeAll(file, binary);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(temp, 0o755);
    const out = await new Deno.Command(temp, { args: ["--version"], stdin: "null" }).output()
      .catch((err) => {
        throw new UpdateError(`the new binary does not run here: ${(err as Error).message}`);
      });
    const printed = new TextDecoder().decode(out.stdout).trim();
    if (!out.success || printed !== `ftagent ${version}`) {
      throw new UpdateError(
        `the new binary does not run as ftagent ${version} (printed "${printed.slice(0, 60)}")`,
      );
    }
    await Deno.rename(temp, target);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}
