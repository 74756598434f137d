import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import {
  binaryName,
  makeKey,
  makeRelease,
  ReleaseServer,
  standIn,
} from "../support/release_server.ts";
import { SERVICE_UNIT } from "../../packaging/ftagent_service.ts";
import { VERSION } from "../../agent/mod.ts";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` with only `env` (and PATH, HOME) set, in `cwd`. */
async function sh(argv: string[], env: Record<string, string>, cwd: string): Promise<Ran> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? cwd,
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `curl -fsSL <url>/install.sh | sh` from the empty directory `cwd`, into the root `root`. */
function curlPipeSh(url: string, root: string, cwd: string, env: Record<string, string> = {}) {
  return sh(["sh", "-c", `curl -fsSL "${url}/install.sh" | sh`], {
    FTAGENT_ROOT: root,
    FTAGENT_SKIP_PACKAGES: "1",
    FTAGENT_RELEASE_URL: url,
    ...env,
  }, cwd);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A server, a root and an empty working directory; all removed afterwards. */
async function withRelease(
  fn: (server: ReleaseServer, root: string, cwd: string) => Promise<void>,
): Promise<void> {
  const server = new ReleaseServer();
  const root = await Deno.makeTempDir({ prefix: "fta-release-root-" });
  const cwd = await Deno.makeTempDir({ prefix: "fta-release-cwd-" });
  try {
    await fn(server, root, cwd);
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
}

const BIN = "/usr/local/bin/ftagent";
const bytesEqual = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

Deno.test("curl | sh installs a signed release into a root from an empty directory, and a second run keeps the config", async () => {
  await withRelease(async (server, root, cwd) => {
    const key = await makeKey();
    const binary = standIn();
    server.release = await makeRelease(VERSION, binary, { key, pinned: key.publicKey });
    const first = await curlPipeSh(server.url, root, cwd);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /signature of SHA256SUMS verified \(Ed25519, pinned key\)/);
    assertMatch(first.stdout, new RegExp(`SHA-256 of ${binaryName()} verified`));
    assertEquals(server.requests.slice(0, 4), [
      "install.sh",
      "SHA256SUMS",
      "SHA256SUMS.sig",
      binaryName(),
    ]);
    assert(bytesEqual(await Deno.readFile(`${root}${BIN}`), binary));
    assertEquals((await Deno.stat(`${root}${BIN}`)).mode! & 0o777, 0o755);
    // The installed program runs; its own --install-service wrote the unit.
    const version = await sh([`${root}${BIN}`, "--version"], {}, cwd);
    assertEquals(version.stdout.trim(), `ftagent ${VERSION}`);
    assertMatch(first.stdout, new RegExp(`installed ftagent ${VERSION} at /usr/local/bin/ftagent`));
    const units = `${root}/etc/systemd/system`;
    assertEquals(await Deno.readTextFile(`${units}/ftagent.service`), SERVICE_UNIT);
    assertMatch(
      await Deno.readTextFile(`${units}/ftagent-update.service`),
      /ExecStart=\/usr\/local\/bin\/ftagent --update --requested --config \/etc\/ftagent\/config\.json/,
    );
    assertMatch(
      await Deno.readTextFile(`${units}/ftagent-update.path`),
      /PathExists=\/var\/lib\/ftagent\/update-request/,
    );
    assertEquals(await Deno.readTextFile(`${root}/etc/ftagent/release_url`), `${server.url}\n`);
    // Nothing left behind: no temp file beside the binary, nothing in the working directory.
    assertEquals([...Deno.readDirSync(`${root}/usr/local/bin`)].map((e) => e.name), ["ftagent"]);
    assertEquals([...Deno.readDirSync(cwd)].length, 0);

    await Deno.writeTextFile(`${root}/etc/ftagent/config.json`, '{"interface":"eth9"}\n');
    const second = await curlPipeSh(server.url, root, cwd);
    assertEquals(second.code, 0, second.stderr);
    assertEquals(
      await Deno.readTextFile(`${root}/etc/ftagent/config.json`),
      '{"interface":"eth9"}\n',
    );
    assert(bytesEqual(await Deno.readFile(`${root}${BIN}`), binary));
    assertEquals([...Deno.readDirSync(`${root}/usr/local/bin`)].map((e) => e.name), ["ftagent"]);
    assertEquals([...Deno.readDirSync(units)].map((e) => e.name).sort(), [
      "ftagent-update.path",
      "ftagent-update.service",
      "ftagent.service",
    ]);
  });
});

Deno.test("curl | sh refuses a tampered binary with one line naming the mismatch and replaces nothing", async () => {
  await withRelease(async (server, root, cwd) => {
    const key = await makeKey();
    const good = standIn();
    server.release = await makeRelease(VERSION, good, { key, pinned: key.publicKey });
    const fresh = `${root}/fresh`;
    const installed = `${root}/installed`;
    assertEquals((await curlPipeSh(server.url, installed, cwd)).code, 0);
    // The binary is swapped after SHA256SUMS was made (a compromised mirror).
    server.release.set(binaryName(), standIn("6.6.6"));
    for (const target of [installed, fresh]) {
      const out = await curlPipeSh(server.url, target, cwd);
      assertEquals(out.code, 1);
      assertMatch(
        out.stderr,
        new RegExp(
          `^ftagent install: error: checksum mismatch for ${binaryName()}: expected [0-9a-f]{64}, ` +
            `got [0-9a-f]{64}: nothing installed\n$`,
        ),
      );
    }
    assert(bytesEqual(await Deno.readFile(`${installed}${BIN}`), good));
    assertEquals([...Deno.readDirSync(`${installed}/usr/local/bin`)].length, 1);
    // A fresh root got nothing at all: no program, no config directory, no unit.
    assert(!(await exists(`${fresh}/usr`)));
    assert(!(await exists(`${fresh}/etc`)));
    assertEquals([...Deno.readDirSync(cwd)].length, 0);
  });
});

Deno.test("curl | sh refuses SHA256SUMS signed by another key, or not signed, when a key is pinned", async () => {
  await withRelease(async (server, root, cwd) => {
    const pinned = await makeKey();
    const other = await makeKey();
    server.release = await makeRelease(VERSION, standIn(), {
      key: other,
      pinned: pinned.publicKey,
    });
    const bad = await curlPipeSh(server.url, root, cwd);
    assertEquals(bad.code, 1);
    assertMatch(
      bad.stderr,
      /^ftagent install: error: signature mismatch: .*SHA256SUMS\.sig does not verify SHA256SUMS with the pinned key: nothing installed\n$/,
    );
    server.release.delete("SHA256SUMS.sig");
    const unsigned = await curlPipeSh(server.url, root, cwd);
    assertEquals(unsigned.code, 1);
    assertMatch(
      unsigned.stderr,
      /could not download .*SHA256SUMS\.sig \(a release key is pinned\)/,
    );
    assert(!(await exists(`${root}/usr`)));
  });
});

/** Installs `VERSION` signed with a fresh key into `root`; returns the key. */
async function installCurrent(server: ReleaseServer, root: string, cwd: string) {
  const key = await makeKey();
  server.release = await makeRelease(VERSION, standIn(), { key, pinned: key.publicKey });
  const out = await curlPipeSh(server.url, root, cwd);
  assertEquals(out.code, 0, out.stderr);
  return key;
}

/** `<root>/usr/local/bin/ftagent --update`, from where install.sh recorded, with `key` pinned. */
function runUpdate(root: string, cwd: string, publicKey: string) {
  return sh([`${root}${BIN}`, "--update"], {
    FTAGENT_ROOT: root,
    FTAGENT_RELEASE_PUBKEY: publicKey,
  }, cwd);
}

Deno.test("ftagent --update replaces the installed binary with a newer verified release, and says when it is up to date", async () => {
  await withRelease(async (server, root, cwd) => {
    const key = await installCurrent(server, root, cwd);
    const same = await runUpdate(root, cwd, key.publicKey);
    assertEquals(same.code, 0, same.stderr);
    assertMatch(same.stdout, new RegExp(`up to date \\(running ${VERSION}, release ${VERSION}\\)`));
    assert(!server.requests.slice(-3).includes(binaryName()), "no binary fetched when current");

    const newer = standIn("99.0.0");
    server.release = await makeRelease("99.0.0", newer, { key });
    const up = await runUpdate(root, cwd, key.publicKey);
    assertEquals(up.code, 0, up.stderr);
    assertMatch(up.stdout, /signature of SHA256SUMS verified \(Ed25519, pinned key\)/);
    assertMatch(up.stdout, new RegExp(`updated ${root}${BIN} from ${VERSION} to 99\\.0\\.0`));
    assertMatch(up.stdout, /FTAGENT_ROOT is set .*: not restarting the service/);
    assert(bytesEqual(await Deno.readFile(`${root}${BIN}`), newer));
    assertEquals((await Deno.stat(`${root}${BIN}`)).mode! & 0o777, 0o755);
    const version = await sh([`${root}${BIN}`, "--version"], {}, cwd);
    assertEquals(version.stdout.trim(), "ftagent 99.0.0");
    assertEquals([...Deno.readDirSync(`${root}/usr/local/bin`)].map((e) => e.name), ["ftagent"]);
  });
});

Deno.test("ftagent --update refuses a tampered, badly signed, unsigned or broken release and leaves the binary intact", async () => {
  await withRelease(async (server, root, cwd) => {
    const key = await installCurrent(server, root, cwd);
    const before = await Deno.readFile(`${root}${BIN}`);
    const other = await makeKey();
    const tampered = await makeRelease("99.0.0", standIn("99.0.0"), { key });
    tampered.set(binaryName(), standIn("66.6.6"));
    const badSig = await makeRelease("99.0.0", standIn("99.0.0"), { key: other });
    const unsigned = await makeRelease("99.0.0", standIn("99.0.0"));
    // Verified, but the binary does not run as the release's version: not installed either.
    const broken = await makeRelease("99.0.0", standIn("98.0.0"), { key });
    const cases: [string, typeof tampered, RegExp][] = [
      [
        "tampered",
        tampered,
        new RegExp(
          `checksum mismatch for ${binaryName()}: expected [0-9a-f]{64}, got [0-9a-f]{64}$`,
        ),
      ],
      ["bad signature", badSig, /SHA256SUMS\.sig does not verify SHA256SUMS with the pinned key$/],
      [
        "unsigned",
        unsigned,
        /SHA256SUMS\.sig: HTTP 404 \(a release key is pinned: releases must be signed\)$/,
      ],
      [
        "broken",
        broken,
        /the new binary does not run as ftagent 99\.0\.0 \(printed "ftagent 98\.0\.0"\)$/,
      ],
    ];
    for (const [name, release, error] of cases) {
      server.release = release;
      const out = await runUpdate(root, cwd, key.publicKey);
      assertEquals(out.code, 1, `${name}: ${out.stdout}`);
      const lines = out.stderr.trim().split("\n");
      assertEquals(lines.length, 1, `${name}: ${out.stderr}`);
      assertMatch(lines[0], /^ftagent: error: /);
      assertMatch(lines[0], error, name);
      assert(bytesEqual(await Deno.readFile(`${root}${BIN}`), before), `${name}: binary replaced`);
      assertEquals([...Deno.readDirSync(`${root}/usr/local/bin`)].map((e) => e.name), ["ftagent"]);
    }
  });
});

Deno.test("ftagent --update from a checkout says to update the checkout instead", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "fta-release-cwd-" });
  try {
    const main = new URL("../../cli/main.ts", import.meta.url).pathname;
    const out = await sh([Deno.execPath(), "run", "--allow-all", main, "--update"], {}, cwd);
    assertEquals(out.code, 1);
    assertMatch(
      out.stderr,
      /^ftagent: error: this ftagent runs from a checkout \(deno\), not a release binary: update the checkout, then sh install.sh\n$/,
    );
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("ftagent --update --requested updates only when auto_update is on and the agent left a request", async () => {
  await withRelease(async (server, root, cwd) => {
    const key = await installCurrent(server, root, cwd);
    const before = await Deno.readFile(`${root}${BIN}`);
    const newer = standIn("99.0.0");
    server.release = await makeRelease("99.0.0", newer, { key });
    const state = `${root}/var/lib/ftagent`;
    const configPath = `${root}/etc/ftagent/config.json`;
    const request = `${state}/update-request`;
    const requested = async (autoUpdate: boolean) => {
      await Deno.writeTextFile(
        configPath,
        JSON.stringify({ state_dir: state, auto_update: autoUpdate }),
      );
      return await sh([`${root}${BIN}`, "--update", "--requested", "--config", configPath], {
        FTAGENT_ROOT: root,
        FTAGENT_RELEASE_PUBKEY: key.publicKey,
      }, cwd);
    };
    const none = await requested(true);
    assertEquals(none.code, 0, none.stderr);
    assertMatch(none.stdout, /no update request: nothing to do/);
    await Deno.writeTextFile(request, "force_update\n");
    const off = await requested(false);
    assertEquals(off.code, 0, off.stderr);
    assertMatch(off.stdout, /update requested but auto_update is off in .*: not updating/);
    assert(!(await exists(request)), "the request stays after it was refused");
    assert(bytesEqual(await Deno.readFile(`${root}${BIN}`), before));
    assert(!server.requests.includes("VERSION"), "the release was asked without a request");
    await Deno.writeTextFile(request, "force_update\n");
    const on = await requested(true);
    assertEquals(on.code, 0, on.stderr);
    assertMatch(on.stdout, new RegExp(`updated ${root}${BIN} from ${VERSION} to 99\\.0\\.0`));
    assert(!(await exists(request)));
    assert(bytesEqual(await Deno.readFile(`${root}${BIN}`), newer));
  });
});

Deno.test("systemd-analyze verify accepts the update units install.sh writes, sandboxed", async () => {
  const analyze = await new Deno.Command("systemd-analyze", { args: ["--version"] }).output()
    .then((o) => o.success, () => false);
  if (!analyze) return; // Checked where systemd-analyze is installed (it is on the CI machines).
  await withRelease(async (server, root, cwd) => {
    await installCurrent(server, root, cwd);
    const dir = `${cwd}/units`;
    await Deno.mkdir(dir);
    // verify checks that ExecStart exists: point it at the installed stand-in.
    for (const unit of ["ftagent-update.path", "ftagent-update.service"]) {
      const text = await Deno.readTextFile(`${root}/etc/systemd/system/${unit}`);
      await Deno.writeTextFile(`${dir}/${unit}`, text.replaceAll(BIN, `${root}${BIN}`));
    }
    const units = [`${dir}/ftagent-update.path`, `${dir}/ftagent-update.service`];
    const verify = await sh(["systemd-analyze", "verify", "--man=no", ...units], {}, cwd);
    assertEquals(verify.code, 0, verify.stderr);
    assertEquals(verify.stderr.trim(), "");
    const security = await sh(
      [
        "systemd-analyze",
        "security",
        "--offline=true",
        `${dir}/ftagent-update.service`,
      ],
      {},
      cwd,
    );
    const level = Number(/exposure level for .*: (\d+\.\d)/.exec(security.stdout)?.[1]);
    console.log(`ftagent-update.service exposure: ${level}`);
    assert(level <= 6, `exposure ${level}`);
  });
});
