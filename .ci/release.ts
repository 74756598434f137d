/**
 * `deno task release [--strict] [--out DIR]`: builds the release directory `dist/` (or DIR):
 *
 * - `ftagent-linux-x86_64`, `ftagent-linux-aarch64`: `deno compile --target ...` single binaries
 *   with every permission granted (the agent captures through FFI, runs nft/iptables/systemctl,
 *   reads and writes its state, talks to the network). No `--include`: the program reads no file
 *   of its own at runtime (the systemd unit is a string in `packaging/ftagent_service.ts`, the
 *   npm modules are compiled in, libpcap is the system's);
 * - `install.sh` (the checkout's, with the pinned release key filled in), `VERSION`;
 * - `SHA256SUMS` over all of them and, when a signing key is given, `SHA256SUMS.sig` (Ed25519,
 *   raw 64 bytes) that must verify with the pinned key.
 *
 * Signing: `FTAGENT_SIGNING_KEY` (the PEM text) or `FTAGENT_SIGNING_KEY_FILE` (its path) holds the
 * PKCS#8 Ed25519 private key (`openssl genpkey -algorithm ed25519 -out release.pem`); its public
 * half (`openssl pkey -in release.pem -pubout -outform DER | base64 -w0`) is pinned as
 * `RELEASE_PUBLIC_KEY` in `agent/update/release.ts`. A key that does not match the pin is refused.
 *
 * `deno compile` downloads its runtime (denort) from dl.deno.land. Where it cannot (no internet),
 * each binary is skipped with one line and the rest is still built; the exit code is then 0 (the
 * rest can be checked offline), unless `--strict` (the release workflow) makes it 1: a release is
 * never published without its binaries, nor unsigned while a key is pinned. Any other failure
 * exits 1.
 *
 * @module
 */

import { dirname, join } from "node:path";
import {
  formatSums,
  releasePublicKey,
  SIG_FILE,
  SUMS_FILE,
  verifySignature,
  VERSION_FILE,
} from "../agent/update/mod.ts";
import { VERSION } from "../agent/version.ts";

const ROOT = join(dirname(new URL(import.meta.url).pathname), "..");
const TARGETS: [string, string][] = [
  ["ftagent-linux-x86_64", "x86_64-unknown-linux-gnu"],
  ["ftagent-linux-aarch64", "aarch64-unknown-linux-gnu"],
];
/** Prefix of an Ed25519 SPKI DER key before its 32 raw bytes. */
const SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

const say = (line: string) => console.log(`release: ${line}`);

async function compile(
  name: string,
  target: string,
  dist: string,
): Promise<"built" | "no-runtime"> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--allow-all",
      "--target",
      target,
      "--output",
      join(dist, name),
      join(ROOT, "cli/main.ts"),
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return "built";
  const err = new TextDecoder().decode(out.stderr);
  if (/Setting up base binary|denort-[\w-]+\.zip/.test(err)) {
    const cause = /error sending request for url \(([^)]+)\)/.exec(err)?.[1] ?? "its runtime";
    say(`${name}: not built: deno compile could not download ${cause} (no internet here)`);
    return "no-runtime";
  }
  const lines = err.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const first = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? `exit ${out.code}`;
  throw new Error(`deno compile ${target} failed: ${first}`);
}

function fromPem(pem: string): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Signs `data` with the PEM key; returns the signature and the key's public half (SPKI b64). */
async function sign(pem: string, data: Uint8Array): Promise<[Uint8Array, string]> {
  const key = await crypto.subtle.importKey(
    "pkcs8",
    fromPem(pem) as BufferSource,
    { name: "Ed25519" },
    true,
    ["sign"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const x = Uint8Array.from(
    atob(jwk.x!.replace(/-/g, "+").replace(/_/g, "/")),
    (c) => c.charCodeAt(0),
  );
  const spki = toBase64(new Uint8Array([...SPKI_PREFIX, ...x]));
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, key, data as BufferSource),
  );
  return [sig, spki];
}

async function signingKey(): Promise<string | null> {
  const text = Deno.env.get("FTAGENT_SIGNING_KEY");
  if (text !== undefined && text.trim() !== "") return text;
  const file = Deno.env.get("FTAGENT_SIGNING_KEY_FILE");
  if (file !== undefined && file !== "") return await Deno.readTextFile(file);
  return null;
}

async function main(args: string[]): Promise<number> {
  const strict = args.includes("--strict");
  const at = args.indexOf("--out");
  const DIST = at >= 0 && args[at + 1] ? args[at + 1] : join(ROOT, "dist");
  await Deno.mkdir(DIST, { recursive: true });
  const names = [...TARGETS.map(([n]) => n), "install.sh", VERSION_FILE, SUMS_FILE, SIG_FILE];
  for (const name of names) await Deno.remove(join(DIST, name)).catch(() => {});
  let missing = 0;
  for (const [name, target] of TARGETS) {
    if (await compile(name, target, DIST) === "built") say(`built ${DIST}/${name} (${target})`);
    else missing++;
  }
  const pinned = releasePublicKey(Deno.env.get("FTAGENT_RELEASE_PUBKEY"));
  const installer = await Deno.readTextFile(join(ROOT, "install.sh"));
  if (!installer.includes('\nPINNED_PUBKEY=""\n')) {
    throw new Error('install.sh has no PINNED_PUBKEY="" line');
  }
  await Deno.writeTextFile(
    join(DIST, "install.sh"),
    installer.replace('\nPINNED_PUBKEY=""\n', `\nPINNED_PUBKEY="${pinned}"\n`),
    { mode: 0o755 },
  );
  await Deno.writeTextFile(join(DIST, VERSION_FILE), `${VERSION}\n`);
  const files: [string, Uint8Array][] = [];
  for (const name of [...TARGETS.map(([n]) => n), "install.sh", VERSION_FILE]) {
    try {
      files.push([name, await Deno.readFile(join(DIST, name))]);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  const sums = new TextEncoder().encode(await formatSums(files));
  await Deno.writeFile(join(DIST, SUMS_FILE), sums);
  say(`wrote ${DIST}/${SUMS_FILE} over ${files.map(([n]) => n).join(", ")} (version ${VERSION})`);
  const pem = await signingKey();
  if (pem !== null) {
    const [sig, spki] = await sign(pem, sums);
    if (pinned === "") {
      throw new Error(
        `no release key is pinned: set RELEASE_PUBLIC_KEY in agent/update/release.ts to ${spki} first`,
      );
    }
    if (!await verifySignature(pinned, sums, sig)) {
      throw new Error(`the signing key (public ${spki}) is not the pinned release key`);
    }
    await Deno.writeFile(join(DIST, SIG_FILE), sig);
    say(`signed ${DIST}/${SUMS_FILE} -> ${DIST}/${SIG_FILE} (verified with the pinned key)`);
  } else if (pinned !== "") {
    say("not signed (no FTAGENT_SIGNING_KEY/_FILE) while a key is pinned: updates will refuse it");
    if (strict) return 1;
  } else {
    say("not signed (no FTAGENT_SIGNING_KEY/_FILE; no release key pinned)");
  }
  if (missing > 0) {
    say(`${missing} binary(ies) missing: ${strict ? "exit 1 (--strict)" : "the rest is built"}`);
    return strict ? 1 : 0;
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`release: error: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
