// `ftagent --test` as an operator runs it: each check one line ("ok: ..." / "FAIL: ... why"),
// a verdict, exit 1 on any failure. The control plane is the stand-in server (200, 401, 404,
// an answer that never comes), a closed port, an unresolvable name and a self-signed TLS
// server; capture is the real libpcap handle on lo, on a missing interface, and without
// capabilities (setpriv, no namespace needed).

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CLI, ftagent, type Output, run } from "../support/cli.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { bodyProblems, specEndpoints } from "../support/flowtriq_spec.ts";
import { hasCommand } from "../support/netns.ts";

const UUID = "00000000-0000-4000-8000-000000000001";
const noSetpriv = !(await hasCommand("setpriv")) || Deno.uid() !== 0;
const noOpenssl = !(await hasCommand("openssl"));
if (noSetpriv) {
  console.warn("self_test_cli_test: setpriv missing or not root; permission test ignored");
}
if (noOpenssl) console.warn("self_test_cli_test: openssl missing; the TLS test is ignored");

/** Runs `ftagent --test` with `config` (interface lo, 1 s API timeout unless given). */
async function selfTest(config: Record<string, unknown>, prefix: string[] = []): Promise<Output> {
  const dir = await Deno.makeTempDir({ prefix: "fta-selftest-" });
  try {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ interface: "lo", api_timeout_seconds: 1, ...config }),
      { mode: 0o600 },
    );
    // The unprivileged run reads the config through the directory.
    await Deno.chmod(dir, 0o755);
    return prefix.length === 0 ? await ftagent(["--test", "--config", path]) : await run([
      ...prefix,
      Deno.execPath(),
      "run",
      "--allow-all",
      CLI,
      "--test",
      "--config",
      path,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The one line of `check` in the output (asserting there is exactly one). */
function line(out: Output, check: string): string {
  const lines = out.stdout.split("\n").filter((l) => new RegExp(`^(ok|FAIL): ${check}:`).test(l));
  assertEquals(lines.length, 1, `one "${check}" line expected in:\n${out.stdout}${out.stderr}`);
  return lines[0];
}

async function withServer(fn: (server: FlowtriqServer) => Promise<void>): Promise<void> {
  const server = new FlowtriqServer("key-0123456789", UUID);
  server.up();
  try {
    await fn(server);
  } finally {
    await server.down();
  }
}

function account(server: FlowtriqServer): Record<string, unknown> {
  return { api_key: server.apiKey, node_uuid: server.nodeUuid, api_base: server.base };
}

Deno.test("ftagent --test sends the agent's heartbeat, prints the answer, and passes", async () => {
  await withServer(async (server) => {
    const out = await selfTest(account(server));
    assertEquals(out.code, 0, out.stdout + out.stderr);
    assertMatch(line(out, "config"), /^ok: config: .* is valid$/);
    assertMatch(line(out, "capture"), /^ok: capture: opened lo, link type 1, libpcap/);
    assertMatch(
      line(out, "control plane"),
      new RegExp(
        `^ok: control plane: heartbeat to ${server.base}/agent/heartbeat answered HTTP 200 in \\d+ ms: \\{"ok":true\\}$`,
      ),
    );
    assertMatch(line(out, "detection"), /^ok: detection: .*syn_flood\/syn_flood opened/);
    assertMatch(out.stdout, /\nverdict: ok \(4 checks passed\)\n$/);
    // One heartbeat, with the spec's headers and body.
    assertEquals(server.requests.map((r) => `${r.method} ${r.path}`), ["POST /agent/heartbeat"]);
    const hb = server.requests[0];
    assertEquals(hb.headers["authorization"], `Bearer ${server.apiKey}`);
    assertEquals(hb.headers["x-node-uuid"], UUID);
    assertMatch(hb.headers["user-agent"], /^ftagent\/\d+\.\d+\.\d+$/);
    const spec = specEndpoints().find((e) => e.path === "/agent/heartbeat")!;
    assertEquals(bodyProblems(hb.body, spec.l3, false), []);
  });
});

Deno.test("ftagent --test names a rejected key (401) and an unknown node (404), exit 1", async () => {
  await withServer(async (server) => {
    const badKey = await selfTest({ ...account(server), api_key: "wrong-key-123" });
    assertEquals(badKey.code, 1);
    assertEquals(
      line(badKey, "control plane"),
      `FAIL: control plane: heartbeat to ${server.base}/agent/heartbeat: HTTP 401: the api_key is not accepted (wrong or revoked key)`,
    );
    assertMatch(badKey.stdout, /\nverdict: FAIL \(control plane\)\n$/);
    server.mode = { kind: "status", status: 404 };
    const unknown = await selfTest(account(server));
    assertEquals(unknown.code, 1);
    assertMatch(
      line(unknown, "control plane"),
      /: HTTP 404: unknown node \(the server does not know this node_uuid\) or a wrong api_base path$/,
    );
    server.mode = { kind: "status", status: 500 };
    const broken = await selfTest(account(server));
    assertEquals(broken.code, 1);
    assertMatch(line(broken, "control plane"), /heartbeat: HTTP 500 \{"error":"refused"\}$/);
    // The other checks still ran and passed.
    assertMatch(line(broken, "detection"), /^ok: detection:/);
  });
});

Deno.test("ftagent --test gives up on a silent control plane after api_timeout_seconds", async () => {
  await withServer(async (server) => {
    // Past the 1 s timeout; the stand-in gives the answer up 5 s later (shutdown waits for it).
    server.mode = { kind: "slow", delayMs: 5_000 };
    const started = performance.now();
    const out = await selfTest(account(server));
    const seconds = (performance.now() - started) / 1000;
    console.log(`--test against a silent server: ${seconds.toFixed(2)} s (timeout 1 s)`);
    assertEquals(out.code, 1);
    assertEquals(
      line(out, "control plane"),
      `FAIL: control plane: heartbeat to ${server.base}/agent/heartbeat: timeout: no answer within 1 s (api_timeout_seconds)`,
    );
    assert(seconds < 20, `${seconds} s`);
  });
});

Deno.test("ftagent --test names a refused connection and a name that does not resolve", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await selfTest({
    api_key: "key-0123456789",
    node_uuid: UUID,
    api_base: `http://127.0.0.1:${port}/api/v1`,
  });
  assertEquals(refused.code, 1);
  assertEquals(
    line(refused, "control plane"),
    `FAIL: control plane: heartbeat to http://127.0.0.1:${port}/api/v1/agent/heartbeat: connection refused by 127.0.0.1:${port}`,
  );
  const dns = await selfTest({
    api_key: "key-0123456789",
    node_uuid: UUID,
    api_base: "http://nonexistent.invalid/api/v1",
  });
  assertEquals(dns.code, 1);
  assertEquals(
    line(dns, "control plane"),
    "FAIL: control plane: heartbeat to http://nonexistent.invalid/api/v1/agent/heartbeat: DNS: the name of nonexistent.invalid was not found",
  );
});

Deno.test({
  name: "ftagent --test names an untrusted TLS certificate",
  ignore: noOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fta-selftest-tls-" });
    let server: Deno.HttpServer | null = null;
    try {
      const made = await run([
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ]);
      assertEquals(made.code, 0, made.stderr);
      let reached = 0;
      server = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(`${dir}/cert.pem`),
        key: await Deno.readTextFile(`${dir}/key.pem`),
        onListen: () => {},
        onError: () => new Response("", { status: 500 }),
      }, () => {
        reached++;
        return Response.json({ ok: true });
      });
      const base = `https://127.0.0.1:${(server.addr as Deno.NetAddr).port}/api/v1`;
      const out = await selfTest({ api_key: "key-0123456789", node_uuid: UUID, api_base: base });
      assertEquals(out.code, 1);
      assertMatch(
        line(out, "control plane"),
        new RegExp(
          `^FAIL: control plane: heartbeat to ${base}/agent/heartbeat: TLS error: the server's certificate is not trusted \\(.+\\)$`,
        ),
      );
      assertEquals(reached, 0);
    } finally {
      await server?.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ftagent --test fails the capture check on an interface that does not exist", async () => {
  const out = await selfTest({ interface: "fta-missing0" });
  assertEquals(out.code, 1);
  assertEquals(line(out, "capture"), "FAIL: capture: no such interface: fta-missing0");
  assertEquals(
    line(out, "control plane"),
    "ok: control plane: standalone mode (no api_key): nothing to reach, incidents stay local",
  );
  assertMatch(out.stdout, /\nverdict: FAIL \(capture\)\n$/);
});

Deno.test({
  name: "ftagent --test fails the capture check when capture is not permitted",
  ignore: noSetpriv,
  async fn() {
    // Root with every capability dropped: the packet socket is refused (no namespace needed).
    const out = await selfTest({}, ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]);
    assertEquals(out.code, 1, out.stdout + out.stderr);
    assertEquals(
      line(out, "capture"),
      "FAIL: capture: capture on lo is not permitted: run as root or grant CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode)",
    );
    assertMatch(line(out, "detection"), /^ok: detection:/);
  },
});

Deno.test("ftagent --test resolves interface auto as the agent does", async () => {
  const out = await selfTest({ interface: "auto" });
  // Whichever interface auto picks, the line says which (or why none).
  assertMatch(
    line(out, "capture"),
    /^(ok: capture: opened \S+ \(interface auto -> \S+\)|FAIL: capture: )/,
  );
});

Deno.test("ftagent --test in standalone mode passes; an api_key without node_uuid fails", async () => {
  const standalone = await selfTest({});
  assertEquals(standalone.code, 0, standalone.stdout + standalone.stderr);
  assertMatch(line(standalone, "control plane"), /standalone mode \(no api_key\)/);
  const half = await selfTest({ api_key: "key-0123456789", node_uuid: "" });
  assertEquals(half.code, 1);
  assertEquals(
    line(half, "control plane"),
    "FAIL: control plane: api_key is set but node_uuid is empty: the agent reports only with both (ftagent --setup)",
  );
});

Deno.test("ftagent --test with a wrong config value says FAIL: config and stops, exit 1", async () => {
  const out = await selfTest({ pcap_enabled: "yes" });
  assertEquals(out.code, 1);
  assertMatch(line(out, "config"), /^FAIL: config: .*config key "pcap_enabled"/);
  assertMatch(out.stdout, /\nverdict: FAIL \(config\); the other checks need a valid config\n$/);
});
