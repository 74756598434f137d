// PCAP write failures said once, when they happen, by the real agent recording real incidents:
// a pcap_dir on a tmpfs mounted read-only (chmod does not stop root), and one filled to the
// last byte while a capture is being written.

import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { PcapRecorder } from "../../../agent/evidence/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";
import { ftagent, killAgent, run, spawnFtagent } from "../../support/cli.ts";
import { FLOOD_T0_US, floodFrame, pcapngBytes, udpFlood } from "../../support/hostile_capture.ts";
import { agentScratch } from "../../support/scratch.ts";
import { waitFor } from "../../support/stream.ts";

const TARGETS = ["198.51.100.2", "198.51.100.3"];
/** Floors under the test floods; no free-space floor, so the disk itself says full. */
const KEYS = {
  min_pps_threshold: 2000,
  min_bps_threshold: 0,
  min_udp_pps_threshold: 2000,
  pcap_min_free_mb: 0,
  log_file: "",
};
const PCAP_WARNING = /\[WRN\] ftagent: PCAP (capture|writing)/;

async function mountTmpfs(dir: string, options: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const out = await run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir]);
  assertEquals(out.code, 0, out.stderr);
}

async function umount(dir: string): Promise<void> {
  const out = await run(["umount", dir]);
  if (out.code !== 0) {
    // Lazily, so the test's own failure is the one reported.
    await run(["umount", "-l", dir]);
    throw new Error(`umount ${dir}: ${out.stderr.trim()}`);
  }
}

/** Fills the file system at `dir` to the last byte; returns the bytes written. */
async function fill(dir: string): Promise<number> {
  await run(["dd", "if=/dev/zero", `of=${dir}/fill`, "bs=4096"]); // ends with ENOSPC
  await run(["dd", "if=/dev/zero", `of=${dir}/fill-tail`, "bs=1"]);
  const df = await run(["df", "-B1", "--output=avail", dir]);
  assertEquals(Number(df.stdout.trim().split("\n").pop()), 0, df.stdout);
  return (await Deno.stat(`${dir}/fill`)).size;
}

function lines(text: string, pattern: RegExp): string[] {
  return text.split("\n").filter((l) => pattern.test(l));
}

Deno.test("a read-only pcap_dir is said once, with the path and the system's error, when the first capture fails; detection goes on", async () => {
  const { dir, config } = await agentScratch("fta-pcap-ro-", KEYS);
  const pcaps = `${dir}/pcaps`;
  await mountTmpfs(pcaps, "size=4m,ro");
  try {
    const file = `${dir}/two.pcapng`;
    await Deno.writeFile(file, pcapngBytes(udpFlood(3000, 8, TARGETS)));
    // At the recorded pace: the failure must be said while the incidents are still open.
    const out = await ftagent(["--pcap", file, "--config", config]);
    assertEquals(out.code, 0, out.stderr);
    const warnings = lines(out.stderr, PCAP_WARNING);
    assertEquals(warnings.length, 1, out.stderr);
    assertMatch(
      warnings[0],
      new RegExp(
        `PCAP capture ${pcaps}/[0-9a-f-]{36}\\.pcap failed: Read-only file system \\(os error 30\\)`,
      ),
    );
    const all = out.stderr.split("\n");
    const firstResolve = all.findIndex((l) => /incident resolve/.test(l));
    assert(firstResolve > all.indexOf(warnings[0]), "said before any incident resolved");
    assertEquals(lines(out.stderr, /incident open/).length, 2, out.stderr);
    assertEquals(lines(out.stderr, /incident resolve/).length, 2, out.stderr);
    assertMatch(out.stderr, /PCAP: 2 captures, 0 frames dropped, 2 errors/);
    assertMatch(out.stderr, /stopped: 48000 packets, 0 malformed/);
  } finally {
    await umount(pcaps);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pcap_dir filled to the last byte during a capture is said once when it happens; detection goes on", async () => {
  const { dir, config } = await agentScratch("fta-pcap-full-", KEYS);
  const pcaps = `${dir}/pcaps`;
  await mountTmpfs(pcaps, "size=4m,mode=0700");
  const file = `${dir}/one.pcapng`;
  await Deno.writeFile(file, pcapngBytes(udpFlood(3000, 10, TARGETS.slice(0, 1))));
  const child = spawnFtagent(["--pcap", file, "--config", config]);
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = await waitFor(stderr, /incident open/);
    assertMatch(seen, /incident open/);
    const filled = await fill(pcaps);
    const filledAt = seen.length;
    seen = await waitFor(stderr, /stopped: \d+ packets/, seen, 60_000);
    const status = await child.status;
    assertEquals(status.code, 0, seen);
    const warnings = lines(seen, PCAP_WARNING);
    console.log(`tmpfs filled with ${filled} bytes; warning: ${warnings[0]?.slice(24)}`);
    assertEquals(warnings.length, 1, seen);
    assertMatch(
      warnings[0],
      new RegExp(
        `PCAP capture ${pcaps}/[0-9a-f-]{36}\\.pcap failed: No space left on device \\(os error 28\\)` +
          `|PCAP writing stopped: free space on ${pcaps} \\(-?[\\d.]+ MB\\) below pcap_min_free_mb`,
      ),
    );
    // Said while the incident was open, after the fill.
    const at = seen.indexOf(warnings[0]);
    assert(at > filledAt - 200 && at < seen.indexOf("incident resolve"), seen);
    assertMatch(seen, /incident resolve/);
    assertMatch(seen, /stopped: 30000 packets, 0 malformed/);
  } finally {
    await killAgent(child, stderr);
    await umount(pcaps);
    await Deno.remove(dir, { recursive: true });
  }
});

/** An incident event as the detector makes it, for an interface-wide capture. */
function openEvent(id: string, atUs: number): IncidentEvent {
  const iso = new Date(atUs / 1000).toISOString().replace("Z", "000+00:00");
  return {
    event: "open",
    id,
    target: "interface",
    direction: "inbound",
    started_at: iso,
    detected_at: iso,
  } as unknown as IncidentEvent;
}

Deno.test("PcapRecorder says a write failing with ENOSPC once, with the path, and keeps taking frames", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-pcap-enospc-" });
  const pcaps = `${dir}/pcaps`;
  await mountTmpfs(pcaps, "size=1m,mode=0700");
  const warnings: string[] = [];
  const { config } = parseConfig({ pcap_dir: pcaps, pcap_min_free_mb: 0 });
  // The free space read once, before the disk fills: the write itself meets the full disk.
  const recorder = new PcapRecorder(config, {
    diskCheckMs: 3_600_000,
    flushMs: 20,
    onWarning: (message) => warnings.push(message),
  });
  const t0 = Number(FLOOD_T0_US);
  let n = 0;
  const feed = (seconds: number) => {
    for (let i = 0; i < seconds * 1000; i++, n++) {
      const frame = floodFrame(n, "198.51.100.2");
      recorder.packet(frame, 0, frame.length, frame.length, t0 + n * 1000, 1);
    }
  };
  try {
    feed(1);
    recorder.incident(openEvent("first", t0 + 1e6));
    for (let i = 0; i < 100 && (recorder.stats().bytesWritten === 0); i++) {
      feed(0.01);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(recorder.stats().bytesWritten > 0, "the capture was being written");
    await fill(pcaps);
    for (let i = 0; i < 20; i++) {
      feed(0.1); // frames keep coming: packet() never throws
      await new Promise((r) => setTimeout(r, 20));
    }
    recorder.incident(openEvent("second", t0 + n * 1000)); // the same cause again: not said
    feed(0.5);
    await recorder.close();
    const stats = recorder.stats();
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assertMatch(
      warnings[0],
      new RegExp(
        `^PCAP capture ${pcaps}/(first|second)\\.pcap failed: No space left on device \\(os error 28\\)`,
      ),
    );
    assert(stats.errors >= 1, JSON.stringify(stats));
    assertMatch(stats.lastError ?? "", /No space left on device/);
  } finally {
    await recorder.close();
    await umount(pcaps);
    await Deno.remove(dir, { recursive: true });
  }
});
