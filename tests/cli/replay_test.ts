import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { corpusFiles, ftagent, jsonLines, tcpdumpTotals } from "../support/cli.ts";

type Line = Record<string, unknown> & { type: string };

async function replayJson(path: string, extra: string[] = []) {
  const out = await ftagent(["replay", path, "--json", ...extra]);
  const lines = jsonLines(out.stdout) as Line[];
  return {
    ...out,
    windows: lines.filter((l) => l.type === "window"),
    summary: lines.find((l) => l.type === "summary") as Line,
  };
}

for (const path of corpusFiles()) {
  const name = path.split("/").pop();
  Deno.test(`replay totals equal tcpdump's for ${name}`, async () => {
    const [r, expected] = await Promise.all([replayJson(path), tcpdumpTotals(path)]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.summary.packets, expected.packets);
    assertEquals(r.summary.bytes, expected.bytes);
    assertEquals(r.summary.malformed, 0);
    const windowPackets = r.windows.reduce((n, w) => n + (w.packets as number), 0);
    assertEquals(windowPackets, expected.packets);
    assertEquals(r.summary.windows, r.windows.length);
  });
}

Deno.test("replay prints the same windows through the TypeScript and libpcap readers", async () => {
  for (const path of corpusFiles()) {
    const [ts, lp] = await Promise.all([
      replayJson(path),
      replayJson(path, ["--reader", "libpcap"]),
    ]);
    assertEquals(lp.code, 0, lp.stderr);
    assertEquals(lp.windows, ts.windows, path);
    assertEquals(lp.summary.packets, ts.summary.packets);
  }
});

Deno.test("replay prints a readable table without --json", async () => {
  const path = corpusFiles().find((p) => p.includes("synflood"))!;
  const out = await ftagent(["replay", path]);
  assertEquals(out.code, 0, out.stderr);
  assertMatch(out.stdout, /time \(UTC\)\s+pps\s+bps/);
  assertMatch(out.stdout, /25565 \(\d+\)/);
  assertMatch(out.stdout, /packets 37841 /);
});

Deno.test("replay of a missing file is one error line and exit 1", async () => {
  const out = await ftagent(["replay", "/nonexistent/x.pcap"]);
  assertEquals(out.code, 1);
  assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
  assertMatch(out.stderr, /no such file/);
});

Deno.test("replay of a file that is not a capture is one error line and exit 1", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeTextFile(path, "this is a text file, not a capture\n");
    const out = await ftagent(["replay", path, "--json"]);
    assertEquals(out.code, 1);
    assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
    assertMatch(out.stderr, /not a pcap or pcapng capture/);
    for (const reader of ["ts", "libpcap"]) {
      const r = await ftagent(["replay", path, "--reader", reader]);
      assertEquals(r.code, 1, reader);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("replay of a truncated capture reports the packets before the cut, then fails", async () => {
  const source = corpusFiles().find((p) => p.includes("isakmp"))!;
  const bytes = await Deno.readFile(source);
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2) + 7));
    const expected = await tcpdumpTotals(path);
    assert(expected.packets > 0);
    for (const reader of ["ts", "libpcap"]) {
      const r = await replayJson(path, ["--reader", reader]);
      assertEquals(r.code, 1, reader);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertMatch(r.stderr, /truncated/i);
      assertEquals(r.summary.packets, expected.packets, reader);
      assertEquals(r.summary.bytes, expected.bytes, reader);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("replay rejects unknown flags and bad values with a usage line", async () => {
  const bad = await ftagent(["replay", "--nope", "x.pcap"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /Unknown option '--nope'/);
  const reader = await ftagent(["replay", "x.pcap", "--reader", "magic"]);
  assertEquals(reader.code, 2);
  assertMatch(reader.stderr, /--reader/);
});
