// LogTailer on real files: start at the end, partial lines, every rotation scheme, deletion
// and late creation, huge lines and binary garbage, several files. Polls are driven by hand
// (and the drain clock is a variable) so nothing here depends on timing.
import { assert, assertEquals } from "../../support/assert.ts";
import { LogTailer } from "../../../agent/l7/mod.ts";

interface Harness {
  dir: string;
  lines: [string, string][];
  notices: string[];
  tailer: LogTailer;
  clock: { now: number };
}

async function harness(
  names: string[],
  fn: (h: Harness) => Promise<void>,
  setup?: (dir: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-tail-" });
  try {
    if (setup) await setup(dir);
    const lines: [string, string][] = [];
    const notices: string[] = [];
    const clock = { now: 1_000_000 };
    const tailer = new LogTailer({
      paths: names.map((n) => `${dir}/${n}`),
      onLine: (line, path) => lines.push([path.slice(dir.length + 1), line]),
      onNotice: (_path, message) => notices.push(message),
      now: () => clock.now,
      drainMs: 5000,
    });
    try {
      await fn({ dir, lines, notices, tailer, clock });
    } finally {
      await tailer.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function append(path: string, text: string): Promise<void> {
  const f = await Deno.open(path, { append: true, create: true });
  await f.write(new TextEncoder().encode(text));
  f.close();
}

const texts = (h: Harness) => h.lines.map(([, l]) => l);

Deno.test("LogTailer starts at the end of an existing file; a partial line waits for its newline", async () => {
  await harness(["a.log"], async (h) => {
    const a = `${h.dir}/a.log`;
    await h.tailer.poll();
    assertEquals(h.lines, []);
    await append(a, "new 1\nnew 2 part");
    await h.tailer.poll();
    assertEquals(texts(h), ["new 1"]);
    await h.tailer.poll();
    assertEquals(texts(h), ["new 1"]);
    await append(a, "ial\r\nnew 3\n");
    await h.tailer.poll();
    assertEquals(texts(h), ["new 1", "new 2 partial", "new 3"]);
    const st = h.tailer.stats()[0];
    assertEquals([st.following, st.lines, st.bytes], [true, 3, 27]);
  }, async (dir) => {
    await Deno.writeTextFile(`${dir}/a.log`, "old 1\nold 2\n");
  });
});

Deno.test("LogTailer follows rename-and-create: finishes the old file, reads the new from 0", async () => {
  await harness(["access.log"], async (h) => {
    const log = `${h.dir}/access.log`;
    await Deno.writeTextFile(log, "");
    await h.tailer.poll();
    await append(log, "a1\na2\n");
    await h.tailer.poll();
    // logrotate create: rename, create; the server writes to the old file until it reopens.
    await Deno.rename(log, `${log}.1`);
    await append(`${log}.1`, "a3\n");
    await Deno.writeTextFile(log, "");
    await h.tailer.poll();
    await append(`${log}.1`, "a4 before reopen\n");
    await append(log, "b1\n");
    await h.tailer.poll();
    await append(log, "b2\n");
    h.clock.now += 6000; // the old file has been quiet for the drain period: closed
    await h.tailer.poll();
    await append(`${log}.1`, "too late\n");
    await append(log, "b3\n");
    await h.tailer.poll();
    assertEquals(texts(h), ["a1", "a2", "a3", "a4 before reopen", "b1", "b2", "b3"]);
    assertEquals(h.tailer.stats()[0].rotations, 1);
    assert(h.notices.includes("log rotated (new file)"));
  });
});

Deno.test("LogTailer follows copytruncate: reads the copy's tail, then the file from 0", async () => {
  await harness(["access.log"], async (h) => {
    const log = `${h.dir}/access.log`;
    await Deno.writeTextFile(log, "");
    await h.tailer.poll();
    await append(log, "a1\na2\n");
    await h.tailer.poll();
    await append(log, "a3 after the last read\n");
    // logrotate copytruncate: copy, then truncate in place; the server goes on appending.
    await Deno.copyFile(log, `${log}.1`);
    await Deno.truncate(log, 0);
    await append(log, "b1\n");
    await h.tailer.poll();
    await append(log, "b2\n");
    await h.tailer.poll();
    assertEquals(texts(h), ["a1", "a2", "a3 after the last read", "b1", "b2"]);
    const st = h.tailer.stats()[0];
    assertEquals(st.truncations, 1);
    assertEquals(st.recoveredBytes, 23);
    // Truncated and regrown past the old offset between two polls: the first bytes tell.
    await Deno.copyFile(log, `${log}.1`);
    await Deno.writeTextFile(log, "c1 a much longer first line than before\n");
    await h.tailer.poll();
    assertEquals(texts(h).slice(5), ["c1 a much longer first line than before"]);
    assertEquals(h.tailer.stats()[0].truncations, 2);
  });
});

Deno.test("LogTailer reads past the hole a non-appending writer leaves after copytruncate", async () => {
  await harness(["h.log"], async (h) => {
    const log = `${h.dir}/h.log`;
    await Deno.writeTextFile(log, "");
    await h.tailer.poll();
    // The writer keeps its own position (no O_APPEND), as HAProxy's stdout does.
    const w = await Deno.open(log, { write: true });
    const put = (t: string) => w.write(new TextEncoder().encode(t));
    await put("a1\na2\n");
    await h.tailer.poll();
    await put("a3\n");
    await Deno.copyFile(log, `${log}.1`);
    await Deno.truncate(log, 0);
    await put("b1\n"); // at offset 9: NULs before it
    await h.tailer.poll();
    await put("b2\n");
    await h.tailer.poll();
    w.close();
    assertEquals(texts(h), ["a1", "a2", "a3", "b1", "b2"]);
    assertEquals(h.tailer.stats()[0].truncations, 1);
  });
});

Deno.test("LogTailer finishes a deleted file and reads a file created later from its start", async () => {
  await harness(["late.log"], async (h) => {
    const log = `${h.dir}/late.log`;
    await h.tailer.poll();
    assertEquals(h.tailer.stats()[0].following, false);
    await append(log, "l1\nl2\n");
    await h.tailer.poll();
    assertEquals(texts(h), ["l1", "l2"]);
    assert(h.notices.includes("log file appeared; following it from its start"));
    await append(log, "l3\n");
    await Deno.remove(log);
    await h.tailer.poll();
    assertEquals(texts(h), ["l1", "l2", "l3"]);
    assertEquals(h.tailer.stats()[0].following, false);
    await append(log, "m1\n");
    await h.tailer.poll();
    assertEquals(texts(h), ["l1", "l2", "l3", "m1"]);
  });
});

Deno.test("LogTailer skips and counts a 1 MB line and binary garbage, never stopping", async () => {
  await harness(["big.log"], async (h) => {
    const log = `${h.dir}/big.log`;
    await Deno.writeTextFile(log, "");
    await h.tailer.poll();
    await append(log, "before\n" + "x".repeat(600_000));
    await h.tailer.poll();
    await append(log, "y".repeat(500_000) + "\nafter\n");
    const garbage = new Uint8Array(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 256;
    const f = await Deno.open(log, { append: true });
    await f.write(garbage);
    await f.write(new TextEncoder().encode("\nlast\n"));
    f.close();
    await h.tailer.poll();
    const got = texts(h);
    assertEquals(got[0], "before");
    assertEquals(got[1], "after");
    assertEquals(got[got.length - 1], "last");
    const st = h.tailer.stats()[0];
    assertEquals(st.tooLong, 1);
    assert(st.binary >= 1, JSON.stringify(st));
  });
});

Deno.test("LogTailer follows several files at once", async () => {
  await harness(["one.log", "two.log", "one.log"], async (h) => {
    await h.tailer.poll();
    await append(`${h.dir}/one.log`, "1a\n");
    await append(`${h.dir}/two.log`, "2a\n2b\n");
    await h.tailer.poll();
    assertEquals(h.lines.sort(), [["one.log", "1a"], ["two.log", "2a"], ["two.log", "2b"]]);
    assertEquals(h.tailer.stats().length, 2);
  });
});

Deno.test("LogTailer.start polls by itself until stop", async () => {
  await harness(["s.log"], async (h) => {
    await h.tailer.start();
    await append(`${h.dir}/s.log`, "x\n");
    const until = Date.now() + 10_000;
    while (h.lines.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assertEquals(texts(h), ["x"]);
  });
});
