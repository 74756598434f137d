import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { makeKey } from "../support/release_server.ts";
import {
  DEFAULT_RELEASE_URL,
  parseSums,
  sha256Hex,
  verifySignature,
} from "../../agent/update/mod.ts";
import { VERSION } from "../../agent/mod.ts";

const RELEASE = new URL("../../.ci/release.ts", import.meta.url).pathname;
const BINARIES = ["ftagent-linux-x86_64", "ftagent-linux-aarch64"];

async function release(out: string, args: string[], env: Record<string, string>) {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", RELEASE, "--out", out, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: result.code,
    stdout: dec.decode(result.stdout),
    stderr: dec.decode(result.stderr),
  };
}

Deno.test("deno task release writes install.sh with the pinned key, VERSION, SHA256SUMS and its verified signature, and names each binary deno compile could not build", async () => {
  const out = await Deno.makeTempDir({ prefix: "fta-release-dist-" });
  try {
    const key = await makeKey();
    const env = { FTAGENT_SIGNING_KEY: key.pem, FTAGENT_RELEASE_PUBKEY: key.publicKey };
    const r = await release(out, [], env);
    assertEquals(r.code, 0, r.stderr);
    const built = BINARIES.filter((b) => exists(`${out}/${b}`));
    // Here (no internet) deno compile cannot fetch denort: one line per binary, the rest built.
    for (const b of BINARIES.filter((b) => !built.includes(b))) {
      assertMatch(
        r.stdout,
        new RegExp(
          `release: ${b}: not built: deno compile could not download https://dl\\.deno\\.land/\\S+denort-\\S+\\.zip \\(no internet here\\)\\n`,
        ),
      );
    }
    const installer = await Deno.readTextFile(`${out}/install.sh`);
    // install.sh and the binary fetch from the same default place.
    assert(installer.includes(`\nDEFAULT_RELEASE_URL=${DEFAULT_RELEASE_URL}\n`));
    assertMatch(
      installer,
      new RegExp(`\\nPINNED_PUBKEY="${key.publicKey.replace(/\+/g, "\\+")}"\\n`),
    );
    assertEquals(await Deno.readTextFile(`${out}/VERSION`), `${VERSION}\n`);
    const sumsBytes = await Deno.readFile(`${out}/SHA256SUMS`);
    const sums = parseSums(new TextDecoder().decode(sumsBytes));
    assertEquals([...sums.keys()], [...built, "install.sh", "VERSION"]);
    for (const [name, hash] of sums) {
      assertEquals(await sha256Hex(await Deno.readFile(`${out}/${name}`)), hash, name);
    }
    // sha256sum -c agrees, and the signature verifies with WebCrypto and with openssl.
    const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: out })
      .output();
    assert(check.success, new TextDecoder().decode(check.stdout));
    const sig = await Deno.readFile(`${out}/SHA256SUMS.sig`);
    assert(await verifySignature(key.publicKey, sumsBytes, sig));
    await Deno.writeTextFile(
      `${out}/key.pem`,
      `-----BEGIN PUBLIC KEY-----\n${key.publicKey}\n-----END PUBLIC KEY-----\n`,
    );
    const openssl = await new Deno.Command("openssl", {
      args: [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        `${out}/key.pem`,
        "-rawin",
        "-in",
        `${out}/SHA256SUMS`,
        "-sigfile",
        `${out}/SHA256SUMS.sig`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(openssl.success, new TextDecoder().decode(openssl.stderr));
    for (const b of built) {
      if (!b.endsWith(Deno.build.arch)) continue;
      const v = await new Deno.Command(`${out}/${b}`, { args: ["--version"] }).output();
      assertEquals(new TextDecoder().decode(v.stdout).trim(), `ftagent ${VERSION}`);
    }
    // --strict (the release workflow) fails when a binary is missing.
    if (built.length < BINARIES.length) {
      const strict = await release(out, ["--strict"], env);
      assertEquals(strict.code, 1);
      assertMatch(strict.stdout, /binary\(ies\) missing: exit 1 \(--strict\)/);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task release refuses to sign with a key that is not the pinned one", async () => {
  const out = await Deno.makeTempDir({ prefix: "fta-release-dist-" });
  try {
    const pinned = await makeKey();
    const other = await makeKey();
    const r = await release(out, [], {
      FTAGENT_SIGNING_KEY: other.pem,
      FTAGENT_RELEASE_PUBKEY: pinned.publicKey,
    });
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      `release: error: the signing key (public ${other.publicKey}) is not the pinned release key\n`,
    );
    assert(!exists(`${out}/SHA256SUMS.sig`));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
