import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { run } from "../support/cli.ts";

const INSTALL = new URL("../../install.sh", import.meta.url).pathname;
const UNIT_FILE = new URL("../../packaging/ftagent.service", import.meta.url).pathname;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("install.sh installs the bundled agent and its unit into a root, twice, keeping the config", async () => {
  const root = await Deno.makeTempDir({ prefix: "fta-install-" });
  try {
    const env = [
      "env",
      `FTAGENT_ROOT=${root}`,
      "FTAGENT_SKIP_PACKAGES=1",
      `PATH=${Deno.env.get("PATH")}`,
    ];
    const first = await run([...env, "sh", INSTALL]);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /installed .* at \/usr\/local\/bin\/ftagent/);
    await Deno.writeTextFile(`${root}/etc/ftagent/config.json`, '{"interface":"eth9"}\n');
    const second = await run([...env, "sh", INSTALL]);
    assertEquals(second.code, 0, second.stderr);
    assertEquals(
      await Deno.readTextFile(`${root}/etc/ftagent/config.json`),
      '{"interface":"eth9"}\n',
    );
    assertEquals((await Deno.stat(`${root}/etc/ftagent`)).mode! & 0o777, 0o700);
    // The service: its unit (installed, not enabled), its directories, no user in a root.
    for (const out of [first, second]) {
      assertMatch(out.stdout, /FTAGENT_ROOT is set: not creating the system user ftagent/);
      assertMatch(out.stdout, /installed the systemd unit .*ftagent\.service \(not enabled\)/);
    }
    const unit = `${root}/etc/systemd/system/ftagent.service`;
    assertEquals(await Deno.readTextFile(unit), await Deno.readTextFile(UNIT_FILE));
    assertEquals((await Deno.stat(unit)).mode! & 0o777, 0o644);
    assertEquals([...Deno.readDirSync(`${root}/etc/systemd/system`)].length, 1);
    assert(!(await exists(`${root}/etc/systemd/system/multi-user.target.wants`)));
    for (const dir of ["var/lib/ftagent", "var/lib/ftagent/pcaps", "var/log/ftagent"]) {
      assert((await Deno.stat(`${root}/${dir}`)).isDirectory, dir);
    }
    const wrapper = await Deno.readTextFile(`${root}/usr/local/bin/ftagent`);
    assertMatch(wrapper, /run --allow-all .*"\/usr\/local\/lib\/ftagent\/ftagent\.js" "\$@"/);
    const version = await run([
      Deno.execPath(),
      "run",
      "--allow-all",
      `${root}/usr/local/lib/ftagent/ftagent.js`,
      "--version",
    ]);
    assertEquals(version.code, 0, version.stderr);
    assertMatch(version.stdout, /^ftagent \d+\.\d+\.\d+/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("install.sh outside a checkout with an unreachable release says so in one line and installs nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-install-" });
  // A port nothing listens on: bound, then closed.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  try {
    await Deno.copyFile(INSTALL, `${dir}/install.sh`);
    const url = `http://127.0.0.1:${port}/release`;
    const out = await run([
      "env",
      `FTAGENT_ROOT=${dir}/root`,
      "FTAGENT_SKIP_PACKAGES=1",
      `FTAGENT_RELEASE_URL=${url}/`,
      "sh",
      `${dir}/install.sh`,
    ]);
    assertEquals(out.code, 1);
    assertMatch(
      out.stderr,
      new RegExp(
        `(^|\n)ftagent install: error: could not download ${url}/SHA256SUMS: nothing installed\n$`,
      ),
    );
    assert(!(await exists(`${dir}/root`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
