import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { startUpdateCheck } from "../../../agent/update/mod.ts";
import { makeKey, makeRelease, ReleaseServer, standIn } from "../../support/release_server.ts";

Deno.test("startUpdateCheck() tells of a newer verified release, and only at debug when current or refused", async () => {
  const server = new ReleaseServer();
  try {
    const key = await makeKey();
    const other = await makeKey();
    const cases: [string, Awaited<ReturnType<typeof makeRelease>>, "info" | "debug", RegExp][] = [
      [
        "newer",
        await makeRelease("0.9.0", standIn("0.9.0"), { key }),
        "info",
        /^ftagent 0\.9\.0 is available \(running 0\.1\.0\): ftagent --update$/,
      ],
      [
        "current",
        await makeRelease("0.1.0", standIn(), { key }),
        "debug",
        /^update check: 0\.1\.0 is the newest release$/,
      ],
      [
        "badly signed",
        await makeRelease("0.9.0", standIn("0.9.0"), { key: other }),
        "debug",
        /^update check failed: .*SHA256SUMS\.sig does not verify SHA256SUMS with the pinned key$/,
      ],
    ];
    for (const [name, release, level, line] of cases) {
      server.release = release;
      const said: [string, string][] = [];
      const check = startUpdateCheck(
        { url: server.url, current: "0.1.0", publicKey: key.publicKey },
        (l, m) => said.push([l, m]),
      );
      while (said.length === 0) await new Promise((r) => setTimeout(r, 20));
      await check.stop();
      assertEquals(said.length, 1, name);
      assertEquals(said[0][0], level, name);
      assertMatch(said[0][1], line);
      // It never downloads a binary.
      assert(server.requests.every((p) => !p.startsWith("ftagent-linux-")), name);
    }
  } finally {
    await server.close();
  }
});

Deno.test("UpdateCheck.stop() aborts a check whose server never answers, at once and silently", async () => {
  let release!: () => void;
  const hold = new Promise<void>((r) => release = r);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await hold;
    return new Response("late");
  });
  try {
    const said: string[] = [];
    const check = startUpdateCheck(
      { url: `http://127.0.0.1:${server.addr.port}/release`, current: "0.1.0", publicKey: "" },
      (_l, m) => said.push(m),
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await check.stop();
    const ms = performance.now() - t0;
    console.log(`stop() took ${ms.toFixed(1)} ms`);
    assert(ms < 1000, `stop() took ${ms} ms`);
    assertEquals(said, []);
  } finally {
    release();
    await server.shutdown();
  }
});
