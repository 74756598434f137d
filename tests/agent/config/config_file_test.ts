// The config file as hostile input: modes, FIFOs, /dev/zero, huge files, syntax errors next to
// secrets, and data folders that lead into system folders through symlinks. Real files, real
// FIFOs (mkfifo), the real CLI.

import { jsonSyntaxError, loadConfigFile, MAX_CONFIG_BYTES } from "../../../agent/config/mod.ts";
import { ConfigError } from "../../../core/config/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { CLI, type Output, run } from "../../support/cli.ts";
import { xorshift32 } from "../../support/random.ts";
import { pcapngBytes, udpFlood } from "../../support/hostile_capture.ts";
import { agentScratch } from "../../support/scratch.ts";

const SECRET = "sk_live_SECRET_0123456789";

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `ftagent ARGS` with stdin closed; killed (and failed) after `timeoutMs`. */
async function ftagentBounded(
  args: string[],
  timeoutMs = 60_000,
): Promise<Output & { ms: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const started = performance.now();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      ms: performance.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function refusal(path: string): Promise<string> {
  try {
    await loadConfigFile(path);
  } catch (err) {
    assert(err instanceof ConfigError, String(err));
    return err.message;
  }
  throw new Error(`${path} was accepted`);
}

async function writeConfig(path: string, data: Record<string, unknown>, mode: number) {
  await Deno.writeTextFile(path, JSON.stringify(data));
  await Deno.chmod(path, mode);
}

Deno.test("loadConfigFile() warns once, naming the mode and chmod 600, when others may read a config's api_key", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const data = { api_key: SECRET, state_dir: `${dir}/state`, pcap_dir: `${dir}/pcaps` };
    for (const mode of [0o644, 0o640, 0o604]) {
      await writeConfig(path, data, mode);
      const { warnings } = await loadConfigFile(path);
      assertEquals(warnings.length, 1, warnings.join("\n"));
      assertEquals(
        warnings[0],
        `${path} holds an api_key and has mode 0${mode.toString(8)} (other users may read it): ` +
          `chmod 600 ${path}`,
      );
    }
    await writeConfig(path, data, 0o600);
    assertEquals((await loadConfigFile(path)).warnings, []);
    await writeConfig(path, { state_dir: `${dir}/state` }, 0o644); // no secret in it
    assertEquals((await loadConfigFile(path)).warnings, []);
    // The real CLI says it in one line, and never the key.
    await writeConfig(path, data, 0o644);
    const out = await ftagentBounded(["replay", "--config", path, "/dev/null/none.pcap"]);
    const lines = out.stderr.trim().split("\n").filter((l) => l.includes("api_key"));
    assertEquals(lines.length, 1, out.stderr);
    assertMatch(lines[0], /^ftagent: warning: .* has mode 0644 .*: chmod 600 /);
    assert(!out.stderr.includes(SECRET), out.stderr);
  });
});

Deno.test("a --config that is a FIFO is refused in one line at once, by the agent, replay and --setup", async () => {
  await inTempDir(async (dir) => {
    const fifo = `${dir}/config.json`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success, "mkfifo");
    assertEquals(await refusal(fifo), `${fifo}: a FIFO, not a regular file: refused`);
    for (
      const args of [
        ["--config", fifo, "--pcap", "/dev/null"],
        ["replay", "--config", fifo, "/dev/null"],
        ["--setup", "--config", fifo],
      ]
    ) {
      const out = await ftagentBounded(args);
      console.log(`${args[0]} on a FIFO: exit ${out.code} after ${Math.round(out.ms)} ms`);
      assertEquals(out.code, 1, out.stderr);
      assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
      assertMatch(out.stderr, /a FIFO, not a regular file: refused/);
    }
  });
});

Deno.test("/dev/zero, a directory and a file over 1 MiB are refused as configs in one line", async () => {
  await inTempDir(async (dir) => {
    assertEquals(
      await refusal("/dev/zero"),
      "/dev/zero: a character device, not a regular file: refused",
    );
    assertEquals(await refusal(dir), `${dir}: a directory, not a regular file: refused`);
    const big = `${dir}/big.json`;
    await Deno.writeTextFile(big, `{"api_key": "${"x".repeat(MAX_CONFIG_BYTES)}"}`);
    assertEquals(await refusal(big), `${big}: larger than ${MAX_CONFIG_BYTES} bytes: refused`);
    const out = await ftagentBounded(["--config", "/dev/zero", "--pcap", "/dev/null"]);
    assertEquals(out.code, 1, out.stderr);
    assertEquals(
      out.stderr.trim(),
      "ftagent: error: /dev/zero: a character device, not a regular file: refused",
    );
    const bin = `${dir}/latin1.json`;
    await Deno.writeFile(bin, new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    assertEquals(await refusal(bin), `${bin}: not UTF-8 text`);
  });
});

Deno.test("a config that is not JSON is told by line, column and kind, never by its bytes", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const cases: [string, string][] = [
      [`${SECRET} {`, "line 1, column 1: unexpected character where a value should be"],
      [
        `{\n  "api_key": "${SECRET}"\n  "node_uuid": "x"\n}`,
        "line 3, column 3: expected ',' or '}'",
      ],
      [
        `{\n  "api_key": "${SECRET}",\n}`,
        "line 3, column 1: expected a double-quoted property name",
      ],
      [`{"api_key": "${SECRET}\n"}`, `line 1, column ${14 + SECRET.length}: control character`],
      [`{"api_key": "${SECRET}`, "unexpected end of the file"],
      [`{"api_key": tru}`, "line 1, column 13: unexpected character where a value should be"],
      [
        `{"api_key": "${SECRET}"} ${SECRET}`,
        "unexpected characters after the end of the JSON value",
      ],
    ];
    for (const [text, expected] of cases) {
      await Deno.writeTextFile(path, text);
      await Deno.chmod(path, 0o600);
      const message = await refusal(path);
      assert(message.startsWith(`${path}: not valid JSON at line `), message);
      assert(message.includes(expected), `${message} (expected ${expected})`);
      assert(!message.includes("SECRET") && !message.includes("sk_"), message);
    }
    for (const args of [["replay", "--config", path, "/dev/null"], ["--setup", "--config", path]]) {
      const out = await ftagentBounded(args);
      assertEquals(out.code, 1, out.stderr);
      assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
      assertMatch(out.stderr, /not valid JSON at line 1, column \d+: /);
      assert(!out.stderr.includes("SECRET") && !out.stdout.includes("SECRET"), out.stderr);
    }
  });
});

Deno.test("jsonSyntaxError() finds an error exactly when JSON.parse() does, on 5000 mutated configs", () => {
  const next = xorshift32(15);
  const base = JSON.stringify(
    { api_key: "k", a: [1, -2.5e3, true, null, { b: "x\\n\\u00e9" }], c: { d: [] } },
    null,
    2,
  );
  const alphabet = '{}[]:," \n\\u0e-+.5atrfn';
  let errors = 0;
  for (let i = 0; i < 5000; i++) {
    const chars = [...base];
    for (let m = 1 + (next() % 3); m > 0; m--) {
      const at = next() % chars.length;
      const c = alphabet[next() % alphabet.length];
      const op = next() % 3;
      if (op === 0) chars[at] = c;
      else if (op === 1) chars.splice(at, 1);
      else chars.splice(at, 0, c);
    }
    const text = chars.join("");
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
      errors++;
    }
    assertEquals(jsonSyntaxError(text) === null, valid, JSON.stringify(text));
  }
  assert(errors > 2000, `${errors} invalid texts`);
  assertEquals(jsonSyntaxError("[".repeat(200000)), {
    line: 1,
    column: 200001,
    kind: "unexpected end of the file",
  });
});

Deno.test("state_dir or pcap_dir leading into /etc or /usr through a symlink is refused; its own folder is taken", async () => {
  await inTempDir(async (dir) => {
    await Deno.symlink("/etc", `${dir}/etc-link`);
    await Deno.symlink("/usr/share", `${dir}/share-link`);
    await Deno.symlink("/etc/ftagent-not-there/deeper", `${dir}/dangling`);
    await Deno.symlink(`${dir}/etc-link`, `${dir}/link-to-link`);
    const path = `${dir}/config.json`;
    const cases: [Record<string, string>, RegExp][] = [
      [
        { state_dir: `${dir}/etc-link/ftagent` },
        /state_dir .*\(resolves to \/etc\/ftagent\) is inside the system folder \/etc: refused/,
      ],
      [
        { pcap_dir: `${dir}/share-link/pcaps` },
        /pcap_dir .*\(resolves to \/usr\/share\/pcaps\) is inside the system folder \/usr/,
      ],
      [
        { state_dir: `${dir}/dangling/state` },
        /resolves to \/etc\/ftagent-not-there\/deeper\/state\) is inside the system folder \/etc/,
      ],
      [{ pcap_dir: `${dir}/link-to-link/new/pcaps` }, /resolves to \/etc\/new\/pcaps\)/],
      [
        { state_dir: "/etc/ftagent/state" },
        /state_dir \/etc\/ftagent\/state is inside the system folder \/etc/,
      ],
      [{ pcap_dir: "/" }, /pcap_dir \/ is inside the system folder \/: refused/],
      [{ state_dir: "/proc/self/cwd/x" }, /is inside the system folder \/proc: refused/],
    ];
    for (const [dirs, expected] of cases) {
      await writeConfig(path, { state_dir: `${dir}/s`, pcap_dir: `${dir}/p`, ...dirs }, 0o600);
      assertMatch(await refusal(path), expected);
    }
    await Deno.mkdir(`${dir}/real`);
    await Deno.symlink(`${dir}/real`, `${dir}/own-link`);
    await writeConfig(path, { state_dir: `${dir}/own-link/state`, pcap_dir: `${dir}/p` }, 0o600);
    assertEquals((await loadConfigFile(path)).config.state_dir, `${dir}/own-link/state`);
    // The agent stops at the start with that one line, having written nothing into /etc.
    await writeConfig(path, { state_dir: `${dir}/etc-link/ftagent-test-state` }, 0o600);
    const out = await ftagentBounded(["--config", path, "--pcap", "/dev/null"]);
    assertEquals(out.code, 1, out.stderr);
    assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
    assertMatch(out.stderr, /is inside the system folder \/etc: refused/);
    let exists = true;
    await Deno.stat("/etc/ftagent-test-state").catch(() => exists = false);
    assert(!exists, "nothing was made in /etc");
  });
});

Deno.test("the agent makes its folders 0700 and its captures and baseline 0600, whatever the umask", async () => {
  const { dir, config, state } = await agentScratch("fta-modes-", {
    min_pps_threshold: 2000,
    min_bps_threshold: 0,
    min_udp_pps_threshold: 2000,
    pcap_min_free_mb: 0,
  });
  try {
    const file = `${dir}/flood.pcapng`;
    await Deno.writeFile(file, pcapngBytes(udpFlood(3000, 8, ["198.51.100.2"])));
    // A umask of 000 would leave 0666/0777 to whatever does not set its modes.
    const out = await run([
      "sh",
      "-c",
      `umask 000; exec "$@"`,
      "sh",
      Deno.execPath(),
      "run",
      "-A",
      CLI,
      "--pcap",
      file,
      "--fast",
      "--config",
      config,
    ]);
    assertEquals(out.code, 0, out.stderr);
    const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
    const pcaps = [...Deno.readDirSync(`${dir}/pcaps`)].map((e) => `${dir}/pcaps/${e.name}`);
    assertEquals(pcaps.length, 1, pcaps.join(" "));
    assertEquals(await mode(`${dir}/pcaps`), 0o700);
    assertEquals(await mode(pcaps[0]), 0o600);
    assertEquals(await mode(state), 0o700);
    assertEquals(await mode(`${state}/baseline.json`), 0o600);
    const db = [...Deno.readDirSync(state)].filter((e) => e.name.startsWith("ftagent.db"));
    const modes = await Promise.all(
      db.map(async (e) => `${e.name} 0${(await mode(`${state}/${e.name}`)).toString(8)}`),
    );
    console.log(`state database files (agent/state owns their modes): ${modes.join(", ")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
