import { assert, assertEquals } from "../support/assert.ts";

const LIMIT_MB = 80;

Deno.test(`Windows stay under ${LIMIT_MB} MB RSS through 10 million distinct spoofed sources`, async () => {
  const probe = new URL("../support/memory_probe.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", decodeURIComponent(probe.pathname)],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err);
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  const r = JSON.parse(lines[lines.length - 1]);
  console.log(
    `peak RSS ${r.peak_rss_mb} MB (VmHWM ${r.vm_hwm_mb} MB, at start ${r.start_rss_mb} MB) ` +
      `for ${r.packets.toLocaleString("en-US")} packets`,
  );
  assertEquals(r.windows, 10);
  assert(r.peak_rss_mb < LIMIT_MB, `peak RSS ${r.peak_rss_mb} MB`);
  assert(r.vm_hwm_mb < LIMIT_MB, `VmHWM ${r.vm_hwm_mb} MB`);
  // The sketches still count: about a million sources a window, ten million in all.
  assert(
    Math.abs(r.max_window_src_count - 1e6) < 2e4,
    `window src_count ${r.max_window_src_count}`,
  );
  assert(Math.abs(r.all_src_count - 1e7) < 2e5, `total src_count ${r.all_src_count}`);
});
