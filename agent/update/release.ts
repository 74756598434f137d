/**
 * What a release is and how its files are checked: the artifact names, `SHA256SUMS` (the
 * `sha256sum` format), the optional Ed25519 signature of `SHA256SUMS` (`SHA256SUMS.sig`, the raw
 * 64 bytes) verified with a pinned public key, the `VERSION` file, and where releases live.
 *
 * A release directory holds `ftagent-linux-x86_64`, `ftagent-linux-aarch64`, `install.sh`,
 * `VERSION`, `SHA256SUMS` over all of them and, when signed, `SHA256SUMS.sig`.
 *
 * @module
 */

/**
 * The project's release location: the newest GitHub release's files
 * (`<url>/SHA256SUMS`, `<url>/ftagent-linux-x86_64`, ...). `FTAGENT_RELEASE_URL` overrides it.
 */
export const DEFAULT_RELEASE_URL = "https://github.com/ftagent/ftagent/releases/latest/download";

/**
 * The pinned release signing key: base64 of the Ed25519 public key in SPKI DER form (44 bytes,
 * as `openssl pkey -pubout -outform DER` writes it). Empty: no key pinned yet, releases are
 * checked by SHA256 only. When set, every update (and install.sh where openssl >= 1.1.1 runs)
 * requires `SHA256SUMS.sig` to verify with it. `FTAGENT_RELEASE_PUBKEY` overrides it (tests,
 * private mirrors signed with their own key).
 */
export const RELEASE_PUBLIC_KEY = "";

/** Files of a release besides the binaries. */
export const SUMS_FILE = "SHA256SUMS";
/** The signature of {@linkcode SUMS_FILE}. */
export const SIG_FILE = "SHA256SUMS.sig";
/** The release's version, one line (listed in {@linkcode SUMS_FILE}). */
export const VERSION_FILE = "VERSION";

/** The release binary for a CPU architecture (`Deno.build.arch`, `uname -m`). */
export function artifactName(arch: string): string {
  if (arch === "x86_64" || arch === "amd64") return "ftagent-linux-x86_64";
  if (arch === "aarch64" || arch === "arm64") return "ftagent-linux-aarch64";
  throw new Error(`no release binary for the CPU architecture ${arch}`);
}

/**
 * Parses `sha256sum` output (`<64 hex>  <name>` or `<64 hex> *<name>`) into name -> hash.
 * A malformed line throws with its number: a damaged list is never half-used.
 */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^([0-9a-f]{64}) [ *](\S.*)$/.exec(line);
    if (m === null) throw new Error(`${SUMS_FILE} line ${i + 1} is not "<sha256>  <file>"`);
    sums.set(m[2], m[1]);
  });
  return sums;
}

/** `SHA256SUMS` text for `files` (name -> content), in the order given. */
export async function formatSums(files: [string, Uint8Array][]): Promise<string> {
  const lines: string[] = [];
  for (const [name, bytes] of files) lines.push(`${await sha256Hex(bytes)}  ${name}`);
  return lines.join("\n") + "\n";
}

/** The SHA-256 of `bytes`, lower-case hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Compares two `MAJOR.MINOR.PATCH` versions: negative when `a` is older, 0 when equal, positive
 * when newer. Throws on anything else (a `VERSION` file that is not a version).
 */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(v.trim());
    if (m === null) {
      throw new Error(`"${v.trim().slice(0, 40)}" is not a version (MAJOR.MINOR.PATCH)`);
    }
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  };
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Decodes base64 (the pinned key); throws a one-line error on bad input. */
function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new Error("the release public key is not base64");
  }
}

/**
 * True when `signature` (64 raw bytes) is an Ed25519 signature of `data` by the key `publicKey`
 * (base64 SPKI DER, see {@linkcode RELEASE_PUBLIC_KEY}). A key that does not import throws.
 */
export async function verifySignature(
  publicKey: string,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "spki",
      fromBase64(publicKey) as BufferSource,
      { name: "Ed25519" },
      false,
      ["verify"],
    );
  } catch (err) {
    throw new Error(`the release public key is not an Ed25519 SPKI key: ${String(err)}`);
  }
  if (signature.length !== 64) return false;
  return await crypto.subtle.verify(
    { name: "Ed25519" },
    key,
    signature as BufferSource,
    data as BufferSource,
  );
}

/** The key releases are verified with: `FTAGENT_RELEASE_PUBKEY` when set, else the pinned one. */
export function releasePublicKey(env: string | undefined): string {
  return env !== undefined && env.trim() !== "" ? env.trim() : RELEASE_PUBLIC_KEY;
}

/**
 * Where releases come from: `FTAGENT_RELEASE_URL` when set, else the URL install.sh recorded
 * (`recorded`, the first line of `/etc/ftagent/release_url`), else {@linkcode DEFAULT_RELEASE_URL}.
 * Only http(s) URLs; no trailing slash.
 */
export function releaseUrl(env: string | undefined, recorded: string | null): string {
  const pick = [env, recorded?.split("\n")[0]].find((v) => v !== undefined && v.trim() !== "");
  const url = (pick ?? DEFAULT_RELEASE_URL).trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new Error(`release URL "${url}" is not http(s)`);
  return url;
}
