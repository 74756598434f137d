// A release directory served on 127.0.0.1 (a stand-in for the project's release location), and
// the Ed25519 keys and stand-in executables the release tests put in it.
import { formatSums } from "../../agent/update/mod.ts";

/** The checkout's install.sh, CLI entry point and Deno. */
export const INSTALL_SH = new URL("../../install.sh", import.meta.url).pathname;
const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/** An Ed25519 key pair: the public key as base64 SPKI DER, the private key for signing. */
export interface ReleaseKey {
  /** Base64 SPKI DER (what `RELEASE_PUBLIC_KEY` / `FTAGENT_RELEASE_PUBKEY` hold). */
  publicKey: string;
  /** The private key (sign only). */
  privateKey: CryptoKey;
  /** The private key as PKCS#8 PEM (what `FTAGENT_SIGNING_KEY` holds). */
  pem: string;
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** Makes a fresh Ed25519 key pair. */
export async function makeKey(): Promise<ReleaseKey> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${b64(pkcs8)}\n-----END PRIVATE KEY-----\n`;
  return { publicKey: b64(spki), privateKey: pair.privateKey, pem };
}

/**
 * A stand-in for the release binary: runs the checkout's real CLI (so `--install-service` and
 * `--update` are the real ones) and answers `--version` with `version` when given (a newer
 * release that is not this code).
 */
export function standIn(version?: string): Uint8Array {
  const versionLine = version === undefined
    ? ""
    : `case "\${1:-}" in --version) echo "ftagent ${version}"; exit 0 ;; esac\n`;
  return new TextEncoder().encode(
    `#!/bin/sh\n${versionLine}exec "${Deno.execPath()}" run --allow-all --quiet "${MAIN}" "$@"\n`,
  );
}

/** Files of a release: name -> bytes. */
export type Release = Map<string, Uint8Array>;

/**
 * A release as `deno task release` makes it: the binary for this CPU (`binary`), install.sh with
 * `pinned` filled in as its `PINNED_PUBKEY`, VERSION, SHA256SUMS over them and, with `key`, the
 * signature of SHA256SUMS.
 */
export async function makeRelease(
  version: string,
  binary: Uint8Array,
  opts: { key?: ReleaseKey; pinned?: string } = {},
): Promise<Release> {
  const installer = (await Deno.readTextFile(INSTALL_SH))
    .replace('\nPINNED_PUBKEY=""\n', `\nPINNED_PUBKEY="${opts.pinned ?? ""}"\n`);
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  const files: [string, Uint8Array][] = [
    [`ftagent-linux-${arch}`, binary],
    ["install.sh", new TextEncoder().encode(installer)],
    ["VERSION", new TextEncoder().encode(`${version}\n`)],
  ];
  const release: Release = new Map(files);
  const sums = new TextEncoder().encode(await formatSums(files));
  release.set("SHA256SUMS", sums);
  if (opts.key !== undefined) {
    const sig = await crypto.subtle.sign({ name: "Ed25519" }, opts.key.privateKey, sums);
    release.set("SHA256SUMS.sig", new Uint8Array(sig));
  }
  return release;
}

/** The binary's name in a release for this CPU. */
export function binaryName(): string {
  return `ftagent-linux-${Deno.build.arch === "aarch64" ? "aarch64" : "x86_64"}`;
}

/** A release directory on 127.0.0.1; `release` may be swapped while it serves. */
export class ReleaseServer {
  /** The files served (404 for others). */
  release: Release = new Map();
  /** Paths requested, in order. */
  readonly requests: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const name = new URL(req.url).pathname.replace(/^\/release\//, "");
      this.requests.push(name);
      const body = this.release.get(name);
      return body === undefined
        ? new Response("not found\n", { status: 404 })
        : new Response(body as BodyInit);
    });
  }

  /** The release URL (`FTAGENT_RELEASE_URL`). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/release`;
  }

  /** Stops serving. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
