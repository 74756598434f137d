import { join } from "node:path";
import { loadBaseline, saveBaseline } from "../../../agent/state/mod.ts";
import { Baseline, BaselineMetric } from "../../../core/detect/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";

const NOW = 1_763_942_400;
const OPTIONS = { windowMinutes: 10 };

function baselineOf(pps: number, seconds = 400): Baseline {
  const b = new Baseline(OPTIONS);
  for (let i = 0; i < seconds; i++) b.add(NOW - seconds + i, [pps, pps * 8000, 0, pps, 0, 0]);
  return b;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ftagent_baseline_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("saveBaseline creates the missing directory (0700) and a 0600 file that loadBaseline restores", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "state", "nested");
    const path = join(dir, "baseline.json");
    const saved = baselineOf(1234);
    await saveBaseline(path, saved, NOW);
    assertEquals((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["baseline.json"]);
    const stored = JSON.parse(await Deno.readTextFile(path));
    assertEquals(stored.savedAt, NOW);

    const { baseline, reason } = await loadBaseline(path, OPTIONS, NOW + 60);
    assertEquals(reason, null);
    assert(baseline !== null);
    assertEquals(baseline.toJSON(), saved.toJSON());
    assert(baseline.ready);
    assertEquals(baseline.level(BaselineMetric.PPS, NOW), 1234);
  });
});

Deno.test("a crash before the rename leaves the old file intact and the next save cleans up", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "baseline.json");
    await saveBaseline(path, baselineOf(100), NOW);
    // What a crash between the temp write and the rename leaves behind: a half-written temp
    // file beside the good one (one from another process, one with our own pid).
    const staleOther = join(dir, "baseline.json.tmp-999999-0");
    const staleOwn = join(dir, `baseline.json.tmp-${Deno.pid}-123456`);
    await Deno.writeTextFile(staleOther, '{"savedAt": 17');
    await Deno.writeTextFile(staleOwn, "garbage");
    const first = await loadBaseline(path, OPTIONS, NOW);
    assertEquals(first.reason, null);
    assertEquals(first.baseline!.p99(BaselineMetric.PPS), 100);

    await saveBaseline(path, baselineOf(200), NOW + 10);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(names, ["baseline.json"]);
    const second = await loadBaseline(path, OPTIONS, NOW + 10);
    assertEquals(second.baseline!.p99(BaselineMetric.PPS), 200);
  });
});

Deno.test("a failed save throws, keeps the old file and leaves no temp file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "baseline.json");
    // A non-empty directory in the file's place: the rename fails after the temp write.
    await Deno.mkdir(path);
    await Deno.writeTextFile(join(path, "keep"), "x");
    let failed = false;
    try {
      await saveBaseline(path, baselineOf(100), NOW);
    } catch {
      failed = true;
    }
    assert(failed);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["baseline.json"]);
    assertEquals(await Deno.readTextFile(join(path, "keep")), "x");
  });
});

Deno.test("concurrent saves each write a whole file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "baseline.json");
    await Promise.all([
      saveBaseline(path, baselineOf(1), NOW),
      saveBaseline(path, baselineOf(2), NOW),
      saveBaseline(path, baselineOf(3), NOW),
    ]);
    const { baseline, reason } = await loadBaseline(path, OPTIONS, NOW);
    assertEquals(reason, null);
    assert([1, 2, 3].includes(baseline!.p99(BaselineMetric.PPS)));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["baseline.json"]);
  });
});

Deno.test("a saved baseline older than 24 hours is ignored", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "baseline.json");
    await saveBaseline(path, baselineOf(100), NOW);
    const fresh = await loadBaseline(path, OPTIONS, NOW + 86400);
    assertEquals(fresh.reason, null);
    assert(fresh.baseline !== null);
    const old = await loadBaseline(path, OPTIONS, NOW + 86401);
    assertEquals(old.baseline, null);
    assertMatch(old.reason!, /24\.0 h old \(limit 24 h\)/);
    const future = await loadBaseline(path, OPTIONS, NOW - 3600);
    assertEquals(future.baseline, null);
    assertMatch(future.reason!, /future/);
  });
});

Deno.test("a missing, corrupt or mismatched file gives null and a one-line reason", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "baseline.json");
    const cases: [string | null, RegExp, object?][] = [
      [null, /^no saved baseline at /],
      ['{"savedAt": 1763942400, "baseline": {"vers', /^corrupt baseline file .*JSON/],
      ["\u0000\u0001binary", /^corrupt baseline file /],
      ["[1, 2, 3]", /^corrupt baseline file .*not a saved baseline/],
      ['{"savedAt": 1763942400}', /not a saved baseline/],
      ['{"savedAt": "yesterday", "baseline": {}}', /not a saved baseline/],
      ['{"savedAt": 1763942400, "baseline": [1]}', /^bad baseline state: .*expected object/],
      [
        JSON.stringify({ savedAt: NOW, baseline: { ...baselineOf(5).toJSON(), version: 9 } }),
        /version 9/,
      ],
      [
        JSON.stringify({ savedAt: NOW, baseline: baselineOf(5).toJSON() }),
        /window is 600 s, configured 3600 s/,
        {
          windowMinutes: 60,
        },
      ],
    ];
    for (const [content, pattern, options] of cases) {
      if (content !== null) await Deno.writeTextFile(path, content);
      const { baseline, reason } = await loadBaseline(
        path,
        (options ?? OPTIONS) as typeof OPTIONS,
        NOW,
      );
      assertEquals(baseline, null, String(content));
      assertMatch(reason!, pattern);
      assert(!reason!.includes("\n"), reason!);
    }
    // A directory where the file should be: unreadable, still no throw.
    await Deno.remove(path);
    await Deno.mkdir(path);
    const { baseline, reason } = await loadBaseline(path, OPTIONS, NOW);
    assertEquals(baseline, null);
    assertMatch(reason!, /^cannot read /);
  });
});
