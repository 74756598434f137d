import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CLI } from "../support/cli.ts";
import { MAX_ATTEMPTS, runWizard, type WizardIO } from "../../cli/setup.ts";
import { waitFor } from "../support/stream.ts";

const UUID = "123e4567-e89b-12d3-a456-426614174000";

/** `ftagent --setup --config PATH` with stdin piped. */
function spawnSetup(path: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI, "--setup", "--config", path],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** Runs the wizard with `input` on stdin (closed afterwards). */
async function setupWith(path: string, input: string) {
  const child = spawnSetup(path);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-setup-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("ftagent --setup through a pipe writes the answers, 0600 in a new 0700 directory", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/etc/ftagent/config.json`;
    // API key, node UUID, interface 1 (auto), PCAP off.
    const out = await setupWith(path, `key-0123456789\n${UUID}\n1\nn\n`);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /1\) auto {2}\(the default-route interface, now /);
    assertMatch(out.stdout, new RegExp(`ftagent: wrote ${path}: api_key set`));
    assertEquals(JSON.parse(await Deno.readTextFile(path)), {
      api_key: "key-0123456789",
      node_uuid: UUID,
      interface: "auto",
      pcap_enabled: false,
      log_file: "/var/log/ftagent/ftagent.log",
    });
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/etc/ftagent`)).mode! & 0o777, 0o700);
    assertEquals(names(`${dir}/etc/ftagent`), ["config.json"]);
  });
});

Deno.test("ftagent --setup keeps the other keys, and Enter keeps the current answers", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const lo = names("/sys/class/net").includes("lo") ? "lo" : names("/sys/class/net")[0];
    const before = {
      min_pps_threshold: 1234,
      api_key: "old-key-12345",
      node_uuid: UUID,
      interface: lo,
      pcap_enabled: false,
      state_dir: "/srv/ftagent",
    };
    await Deno.writeTextFile(path, JSON.stringify(before));
    const out = await setupWith(path, "\n\n\n\n");
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /Flowtriq API key \(Enter: keep old-\.\.\.2345;/);
    assertEquals(JSON.parse(await Deno.readTextFile(path)), before);
    // "none" clears the key and the UUID (standalone); the interface can be given by name.
    const again = await setupWith(path, `none\nnone\nauto\ny\n`);
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stdout, /standalone \(no api_key\)/);
    assertEquals(JSON.parse(await Deno.readTextFile(path)), {
      ...before,
      api_key: "",
      node_uuid: "",
      interface: "auto",
      pcap_enabled: true,
    });
  });
});

Deno.test("ftagent --setup re-asks a bad answer, then gives up writing nothing", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const fixed = await setupWith(path, `\nnot-a-uuid\n${UUID}\n99\neth-missing\n1\nmaybe\ny\n`);
    assertEquals(fixed.code, 0, fixed.stderr);
    assertMatch(fixed.stdout, /a node UUID looks like .*; try again/);
    assertMatch(fixed.stdout, /choose a number from 1 to \d+; try again/);
    assertMatch(fixed.stdout, /eth-missing is not in the list; try again/);
    assertMatch(fixed.stdout, /answer y or n; try again/);
    assertEquals(JSON.parse(await Deno.readTextFile(path)).node_uuid, UUID);
    await Deno.remove(path);

    const bad = await setupWith(path, "has space\n$$$\nshort\nvalid-key-123\n");
    assertEquals(bad.code, 1);
    assertMatch(bad.stdout, new RegExp(`giving up after ${MAX_ATTEMPTS} tries`));
    assertMatch(bad.stderr, /setup cancelled: no valid answer after 3 tries; .* not written/);
    assertEquals(names(dir), []);
  });
});

Deno.test("ftagent --setup with stdin closed before the last answer leaves no file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    for (const input of ["", "key-0123456789\n", `\n${UUID}\n1\n`]) {
      const out = await setupWith(path, input);
      assertEquals(out.code, 1, out.stdout);
      assertMatch(out.stderr, /setup cancelled: the input ended before the last answer/);
      assertEquals(names(dir), []);
    }
  });
});

Deno.test("ftagent --setup interrupted by SIGINT while it waits for an answer leaves no file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const child = spawnSetup(path);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("key-0123456789\n"));
    // Wait for the second question: the wizard is then blocked reading stdin.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const seen = await waitFor(reader, /Node UUID/);
    assertMatch(seen, /Node UUID/);
    child.kill("SIGINT");
    const status = await child.status;
    await reader.cancel();
    await writer.close().catch(() => {});
    const stderr = await new Response(child.stderr).text();
    assertEquals(status.code, 130, stderr);
    assertMatch(stderr, /setup cancelled: .* not written/);
    assertEquals(names(dir), []);
  });
});

Deno.test("ftagent --setup refuses to overwrite a config that is not valid JSON", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(path, "{not json");
    const out = await setupWith(path, "\n\n\n\n");
    assertEquals(out.code, 1);
    assertMatch(out.stderr, /not valid JSON .*fix or remove it first/);
    assertEquals(await Deno.readTextFile(path), "{not json");
  });
});

Deno.test("the wizard lists auto first, marks auto's pick and accepts a number or a name", async () => {
  const said: string[] = [];
  const answers = ["", "", "3", ""];
  const io: WizardIO = {
    ask: (prompt) => {
      said.push(prompt);
      return Promise.resolve(answers.shift() ?? null);
    },
    say: (line) => said.push(line),
  };
  const result = await runWizard(io, {}, { names: ["eth0", "eth1"], auto: "eth1" });
  assertEquals(result, { api_key: "", node_uuid: "", interface: "eth1", pcap_enabled: true });
  assert(said.includes("  1) auto  (the default-route interface, now eth1)"));
  assert(said.includes("  2) eth0"));
  assert(said.includes("  3) eth1  <- auto picks this"));
});
