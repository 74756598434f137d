import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CLI, ftagent, run } from "../support/cli.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { MAX_ATTEMPTS, runWizard, type WizardIO } from "../../cli/setup.ts";
import { detectWebServers } from "../../agent/l7/mod.ts";
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
    // API key, node UUID, API base (Enter: default), interface 1 (auto), PCAP off, L7 off,
    // local auto-mitigation off, server-pushed mitigation (Enter: yes, the default: not written).
    const out = await setupWith(path, `key-0123456789\n${UUID}\n\n1\nn\nn\nn\n\n`);
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
    const out = await setupWith(path, "\n".repeat(8));
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /Flowtriq API key \(Enter: keep old-\.\.\.2345;/);
    assertMatch(out.stdout, /Flowtriq API base \(Enter: https:\/\/flowtriq\.com\/api\/v1\)/);
    assertEquals(JSON.parse(await Deno.readTextFile(path)), before);
    // "none" clears the key and the UUID (standalone); the interface can be given by name.
    // Standalone: no API base question, no server-pushed mitigation question.
    const again = await setupWith(path, `none\nnone\nauto\ny\nn\nn\n`);
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
    const fixed = await setupWith(
      path,
      `\nnot-a-uuid\n${UUID}\n99\neth-missing\n1\nmaybe\ny\nn\nn\n`,
    );
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
  const answers = ["", "", "3", "", "", ""];
  const io: WizardIO = {
    ask: (prompt) => {
      said.push(prompt);
      return Promise.resolve(answers.shift() ?? null);
    },
    say: (line) => said.push(line),
  };
  const result = await runWizard(io, {}, { names: ["eth0", "eth1"], auto: "eth1" });
  assertEquals(result, {
    api_key: "",
    node_uuid: "",
    api_base: "https://flowtriq.com/api/v1",
    interface: "eth1",
    pcap_enabled: true,
    l7_enabled: false,
    l7_log_paths: [],
    mitigation: { mode: "dry_run", server_commands: "apply" },
  });
  assert(said.includes("  1) auto  (the default-route interface, now eth1)"));
  assert(said.includes("  2) eth0"));
  assert(said.includes("  3) eth1  <- auto picks this"));
});

/** A scripted wizard: `answers` in order (null once they run out), everything said kept. */
function scripted(answers: string[]): { io: WizardIO; said: string[] } {
  const said: string[] = [];
  const queue = [...answers];
  return {
    said,
    io: {
      ask: (prompt) => {
        said.push(prompt);
        return Promise.resolve(queue.shift() ?? null);
      },
      say: (line) => said.push(line),
    },
  };
}

const NGINX = { server: "nginx, running", path: "/var/log/nginx/access.log" };

Deno.test("the wizard asks the API base (re-asked when not a URL), L7 with the log it found, and server mitigation", async () => {
  const { io, said } = scripted([
    "key-0123456789",
    UUID,
    "ftp://example.com",
    "https://cp.example.net/api/v1/",
    "1",
    "n",
    "y",
    "",
    "n",
    "y",
  ]);
  const result = await runWizard(io, {}, { names: ["eth0"], auto: "eth0", logs: [NGINX] });
  assertEquals(result, {
    api_key: "key-0123456789",
    node_uuid: UUID,
    api_base: "https://cp.example.net/api/v1",
    interface: "auto",
    pcap_enabled: false,
    l7_enabled: true,
    l7_log_paths: [],
    mitigation: { mode: "dry_run", server_commands: "apply" },
  });
  assert(said.includes("Flowtriq API base (Enter: https://flowtriq.com/api/v1): "));
  assert(said.includes("  the API base is an http:// or https:// URL; try again"));
  assert(said.includes("  found: /var/log/nginx/access.log (nginx, running)"));
  // A new config with a web server found: L7 defaults to on; the log's prompt names it.
  assert(said.includes("Detect HTTP floods from the access log (L7)? [Y/n]: "));
  assert(said.some((l) => l.startsWith("Access log to follow (Enter: auto: /var/log/nginx")));
  assert(said.some((l) => l.startsWith("Local auto-mitigation: when the agent detects")));
  assert(said.some((l) => l.startsWith("Server-pushed mitigation: the agent runs the firewall")));
  assert(said.includes("Apply server-pushed mitigation? [Y/n]: "));
});

Deno.test("the wizard maps local auto-mitigation to mode auto and server-pushed to server_commands", async () => {
  const { io, said } = scripted([
    "key-0123456789",
    UUID,
    "",
    "",
    "",
    "y",
    "/srv/www/access.log",
    "y",
    "n",
  ]);
  const result = await runWizard(io, { mitigation: { mode: "dry_run" } }, {
    names: [],
    auto: null,
    logs: [],
  });
  assertEquals(result.mitigation, { mode: "auto", server_commands: "dry_run" });
  assertEquals(result.l7_log_paths, ["/srv/www/access.log"]);
  assert(said.includes("  no web server access log found on this machine"));
  assert(said.includes("Apply server-pushed mitigation? [Y/n]: "));
  // Standalone: a manual mode is kept (local proposals), never asked about the server.
  const standalone = scripted(["none", "none", "", "", "", "n"]);
  const kept = await runWizard(standalone.io, { mitigation: { mode: "manual" } }, {
    names: [],
    auto: null,
  });
  assertEquals(kept.mitigation.mode, "manual");
  assertEquals(standalone.said.some((l) => l.startsWith("Flowtriq API base")), false);
});

Deno.test("ftagent --setup through a pipe writes the API base, L7 and mitigation answers", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(path, JSON.stringify({ mitigation: { ttl_seconds: 300 } }));
    const input = [
      "key-0123456789",
      UUID,
      "http://127.0.0.1:8080/api/v1",
      "1",
      "y",
      "y",
      "/var/log/nginx/access.log",
      "y",
      "",
    ].join("\n") + "\n";
    const out = await setupWith(path, input);
    assertEquals(out.code, 0, out.stderr);
    // The logs found on this machine are shown, each on its own line.
    const found = (await detectWebServers()).flatMap((s) => s.logs.map((l) => l.path));
    for (const p of new Set(found)) assertMatch(out.stdout, new RegExp(`  found: ${p} \\(`));
    assertMatch(
      out.stdout,
      /L7 on \(\/var\/log\/nginx\/access\.log\), mitigation\.mode auto, server commands apply\n/,
    );
    assertEquals(JSON.parse(await Deno.readTextFile(path)), {
      api_key: "key-0123456789",
      node_uuid: UUID,
      api_base: "http://127.0.0.1:8080/api/v1",
      interface: "auto",
      pcap_enabled: true,
      l7_enabled: true,
      l7_log_paths: ["/var/log/nginx/access.log"],
      mitigation: { ttl_seconds: 300, mode: "auto" },
    });
  });
});

Deno.test("ftagent --setup --api-key K --node-uuid U writes without asking, 0600, other keys kept", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const before = { min_pps_threshold: 1234, interface: "lo", mitigation: { mode: "auto" } };
    await Deno.writeTextFile(path, JSON.stringify(before), { mode: 0o644 });
    // Options in any order; stdin is not read (a closed stdin would cancel a wizard).
    const out = await run([
      Deno.execPath(),
      "run",
      "--allow-all",
      CLI,
      "--api-key",
      "key-0123456789",
      "--config",
      path,
      "--setup",
      "--node-uuid",
      UUID.toUpperCase(),
      "--api-base",
      "http://127.0.0.1:8080/api/v1/",
    ]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stdout.includes("?"), false, out.stdout);
    assertMatch(
      out.stdout,
      new RegExp(`^ftagent: wrote ${path}: api_key set, api_base http://127`),
    );
    assertEquals(JSON.parse(await Deno.readTextFile(path)), {
      ...before,
      api_key: "key-0123456789",
      node_uuid: UUID,
      api_base: "http://127.0.0.1:8080/api/v1",
    });
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    // A new file gets the service's log file, as the wizard's.
    const fresh = `${dir}/new/config.json`;
    const made = await ftagent([
      "--setup",
      "--config",
      fresh,
      "--api-key",
      "key-0123456789",
      "--node-uuid",
      UUID,
      "--interface",
      "auto",
    ]);
    assertEquals(made.code, 0, made.stderr);
    assertEquals(JSON.parse(await Deno.readTextFile(fresh)), {
      log_file: "/var/log/ftagent/ftagent.log",
      api_key: "key-0123456789",
      node_uuid: UUID,
      interface: "auto",
    });
    assertEquals((await Deno.stat(fresh)).mode! & 0o777, 0o600);
  });
});

Deno.test("ftagent --setup with a bad or half flag set says why in one line and writes nothing", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    const cases: [string[], RegExp][] = [
      [["--api-key", "key-0123456789"], /--api-key and --node-uuid together/],
      [["--api-key", "key-0123456789", "--node-uuid", "nope"], /--node-uuid: a node UUID looks/],
      [["--api-key", "has space", "--node-uuid", UUID], /--api-key: an API key is 8-256/],
      [["--interface", "fta-missing0"], /--interface: no interface fta-missing0 on this machine/],
      [["--api-base", "not a url"], /--api-base: the API base is a URL/],
    ];
    for (const [flags, why] of cases) {
      const out = await ftagent(["--setup", "--config", path, ...flags]);
      assertEquals(out.code, 2, flags.join(" "));
      assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
      assertMatch(out.stderr, why);
      assertEquals(names(dir), []);
    }
  });
});

Deno.test("a config written by ftagent --setup --api-key passes ftagent --test against the control plane", async () => {
  const server = new FlowtriqServer("key-0123456789", UUID);
  server.up();
  try {
    await inTempDir(async (dir) => {
      const path = `${dir}/config.json`;
      const made = await ftagent([
        "--setup",
        "--config",
        path,
        "--api-key",
        server.apiKey,
        "--node-uuid",
        server.nodeUuid,
        "--api-base",
        server.base,
        "--interface",
        "lo",
      ]);
      assertEquals(made.code, 0, made.stderr);
      const tested = await ftagent(["--test", "--config", path]);
      assertEquals(tested.code, 0, tested.stdout + tested.stderr);
      assertMatch(tested.stdout, /^ok: control plane: heartbeat to .* answered HTTP 200/m);
      assertEquals(server.accepted(/^\/agent\/heartbeat$/).length, 1);
    });
  } finally {
    await server.down();
  }
});
