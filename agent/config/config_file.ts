/**
 * Reads the config file (`/etc/ftagent/config.json` or `--config PATH`), refusing what is not
 * a config: anything but a regular file (a FIFO would block, `/dev/zero` never ends), more than
 * {@linkcode MAX_CONFIG_BYTES}, text that is not UTF-8 or not JSON (told by line, column and
 * kind, never quoting the file: it holds the api_key), and `state_dir`/`pcap_dir` that resolve
 * (through symlinks too) into a system folder ({@linkcode SYSTEM_DIRS}). A file that holds an
 * api_key but that group or other users may read gives a warning naming its mode.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import {
  type Config,
  ConfigError,
  defaultConfig,
  parseConfig,
  type ParsedConfig,
} from "../../core/config/mod.ts";
import { jsonSyntaxError } from "./json_syntax.ts";

/** Where the agent looks for its config. */
export const DEFAULT_CONFIG_PATH = "/etc/ftagent/config.json";

/** Largest config file read (1 MiB); a real one is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Folders `state_dir` and `pcap_dir` may not resolve into (the agent writes there). */
export const SYSTEM_DIRS: readonly string[] = [
  "/etc",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/boot",
  "/proc",
  "/sys",
  "/dev",
];

/** A loaded config, and whether the file was missing (defaults used). */
export interface LoadedConfig extends ParsedConfig {
  /** True when there was no file and these are the defaults. */
  missing: boolean;
}

/** A config file's text and permission bits. */
export interface ConfigText {
  /** The file's text (UTF-8). */
  text: string;
  /** Its mode (permission bits, e.g. 0o600). */
  mode: number;
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
  const { text, mode } = await readConfigText(path);
  const data = parseConfigJson(path, text);
  let parsed: ParsedConfig;
  try {
    parsed = parseConfig(data);
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  await refuseSystemDirs(path, parsed.config);
  if (parsed.config.api_key !== "" && (mode & 0o077) !== 0) {
    parsed.warnings.push(
      `${path} holds an api_key and has mode ${octal(mode)} (other users may read it): ` +
        `chmod 600 ${path}`,
    );
  }
  return parsed;
}

/**
 * Reads the text of the config file at `path`: a regular file of at most
 * {@linkcode MAX_CONFIG_BYTES} in UTF-8, else a one-line {@linkcode ConfigError}.
 */
export async function readConfigText(path: string): Promise<ConfigText> {
  let file: Deno.FsFile | null = null;
  try {
    // Checked before opening: opening a FIFO blocks until a writer comes.
    refuseNonFile(path, await Deno.stat(path));
    file = await Deno.open(path, { read: true });
    const info = await file.stat();
    refuseNonFile(path, info); // replaced between the two calls
    const buf = new Uint8Array(MAX_CONFIG_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = await file.read(buf.subarray(n));
      if (got === null) break;
      n += got;
    }
    if (n > MAX_CONFIG_BYTES) throw tooLarge(path);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      throw new ConfigError(`${path}: not UTF-8 text`);
    }
    return { text, mode: (info.mode ?? 0) & 0o7777 };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof Deno.errors.NotFound) throw new ConfigError(`${path}: no such file`);
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(`${path}: permission denied`);
    }
    throw new ConfigError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    file?.close();
  }
}

/** Parses a config's JSON; an error names the line, the column and the kind only. */
export function parseConfigJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const at = jsonSyntaxError(text);
    throw new ConfigError(
      at === null
        ? `${path}: not valid JSON`
        : `${path}: not valid JSON at line ${at.line}, column ${at.column}: ${at.kind}`,
    );
  }
}

/**
 * Throws when `state_dir` or `pcap_dir`, as written or resolved (symlinks followed, also those
 * of a part not made yet), is the root or inside one of {@linkcode SYSTEM_DIRS}.
 */
export async function refuseSystemDirs(
  path: string,
  config: Pick<Config, "state_dir" | "pcap_dir">,
): Promise<void> {
  for (const key of ["state_dir", "pcap_dir"] as const) {
    const dir = config[key];
    const real = await resolveDir(dir);
    // As written or where it leads (/proc/self/cwd/... leads anywhere).
    const system = systemDir(resolve(dir)) ?? systemDir(real);
    if (system === undefined) continue;
    const via = real === resolve(dir) ? "" : ` (resolves to ${real})`;
    throw new ConfigError(
      `${path}: ${key} ${dir}${via} is inside the system folder ${system}: refused, ` +
        "give the agent a folder of its own (e.g. /var/lib/ftagent)",
    );
  }
}

/** Where `dir` leads: its existing part resolved, symlinks (also dangling ones) followed. */
async function resolveDir(dir: string): Promise<string> {
  let head = resolve(dir);
  const rest: string[] = [];
  for (let hops = 0; hops < 64; hops++) {
    try {
      return join(await Deno.realPath(head), ...[...rest].reverse());
    } catch {
      // Missing (or a dangling link): step up, or follow the link by hand.
    }
    let link: string | null = null;
    try {
      if ((await Deno.lstat(head)).isSymlink) link = await Deno.readLink(head);
    } catch {
      // Not there at all.
    }
    if (link !== null) {
      head = resolve(dirname(head), link);
      continue;
    }
    const up = dirname(head);
    if (up === head) break;
    rest.push(basename(head));
    head = up;
  }
  return resolve(dir);
}

/** The system folder `path` is in (or is), or undefined. */
function systemDir(path: string): string | undefined {
  if (path === "/") return "/";
  return SYSTEM_DIRS.find((d) => path === d || path.startsWith(`${d}/`));
}

function refuseNonFile(path: string, info: Deno.FileInfo): void {
  if (info.isFile) {
    if (info.size > MAX_CONFIG_BYTES) throw tooLarge(path);
    return;
  }
  const what = info.isDirectory
    ? "a directory"
    : info.isFifo
    ? "a FIFO"
    : info.isCharDevice
    ? "a character device"
    : info.isBlockDevice
    ? "a block device"
    : info.isSocket
    ? "a socket"
    : "not a file";
  throw new ConfigError(`${path}: ${what}, not a regular file: refused`);
}

function tooLarge(path: string): ConfigError {
  return new ConfigError(`${path}: larger than ${MAX_CONFIG_BYTES} bytes: refused`);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}
