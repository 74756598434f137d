import { assert, assertEquals } from "../support/assert.ts";

/** Most the peak RSS may grow from 100 to 100,000 destinations (the tracked rows are fixed). */
const GROWTH_LIMIT_MB = 24;
/** Most the peak RSS of a replay with 4,096 tracked addresses may reach. */
const LIMIT_MB = 200;

const probe = decodeURIComponent(
  new URL("../support/mirror_memory_probe.ts", import.meta.url).pathname,
);

async function probeRun(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", probe, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim().split("\n").at(-1)!;
}

Deno.test("Mirror mode keeps its peak RSS bounded from 100 to 100,000 distinct destinations and still names the flooded one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ftmem-" });
  try {
    const runs: { destinations: number; vm_hwm_mb: number; opens: string[] }[] = [];
    for (const destinations of [100, 10_000, 100_000]) {
      const path = `${dir}/d${destinations}.pcap`;
      await probeRun(["generate", path, String(destinations)]);
      const r = JSON.parse(await probeRun(["replay", path, "4096"]));
      await Deno.remove(path);
      runs.push({ destinations, ...r });
      console.log(
        `${destinations} destinations: peak RSS (VmHWM) ${r.vm_hwm_mb} MB, at start ` +
          `${r.start_rss_mb} MB, ${r.packets} packets in ${r.seconds} s, opened ${r.opens}`,
      );
    }
    for (const r of runs) {
      assertEquals(r.opens, ["198.19.200.200 udp_flood"], `${r.destinations} destinations`);
      assert(r.vm_hwm_mb < LIMIT_MB, `${r.destinations} destinations: VmHWM ${r.vm_hwm_mb} MB`);
    }
    const growth = runs[2].vm_hwm_mb - runs[0].vm_hwm_mb;
    assert(growth < GROWTH_LIMIT_MB, `VmHWM grew ${growth.toFixed(1)} MB from 100 to 100,000`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
