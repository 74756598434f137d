// Frames whose timestamp cannot be a date (a pcapng time of 2^64 µs, a nanosecond pcap's
// ts_sec 0xFFFFFFFF) replayed with the real CLI and run through the real agent's --pcap path.

import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { ftagent, jsonLines, run } from "../../support/cli.ts";
import {
  floodFrame,
  HUGE_TS,
  pcapNanoBytes,
  pcapngBytes,
  udpFlood,
} from "../../support/hostile_capture.ts";
import { agentScratch } from "../../support/scratch.ts";

const BAD_TIME = /a frame with timestamp \S+ µs \(not a time from 1970 to 2100\) was ignored/;
/** Floors under the test floods (as in the other agent tests). */
const FLOORS = {
  min_pps_threshold: 2000,
  min_bps_threshold: 0,
  min_udp_pps_threshold: 2000,
};

function linesMatching(text: string, pattern: RegExp): string[] {
  return text.split("\n").filter((l) => pattern.test(l));
}

async function withDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("replay of a pcapng holding a frame timed 2^64 µs warns in one line, ignores it and counts the others", async () => {
  await withDir("fta-badtime-", async (dir) => {
    const file = `${dir}/huge.pcapng`;
    const odd = [{ frame: floodFrame(7, "198.51.100.2"), ts: HUGE_TS }];
    await Deno.writeFile(file, pcapngBytes(udpFlood(1000, 3, ["198.51.100.2"], odd, 1)));
    const out = await ftagent(["replay", "--json", file]);
    assertEquals(out.code, 0, out.stderr);
    const warnings = out.stderr.trim().split("\n");
    assertEquals(warnings.length, 1, out.stderr);
    assertMatch(warnings[0], /^ftagent: warning: .*huge\.pcapng: /);
    assertMatch(warnings[0], BAD_TIME);
    const summary = jsonLines(out.stdout).find((l) => l.type === "summary")!;
    assertEquals([summary.packets, summary.malformed, summary.windows], [3001, 1, 3]);
    assertEquals(summary.seconds, 2.999);
  });
});

Deno.test("replay of a nanosecond pcap with ts_sec 0xFFFFFFFF warns once with either reader and replays the rest", async () => {
  await withDir("fta-badtime-", async (dir) => {
    const file = `${dir}/ns.pcap`;
    const frames = [...udpFlood(200, 2, ["198.51.100.2"])].map((f) => ({
      frame: f.frame,
      ts: f.ts * 1000n,
    }));
    const late = 0xffffffffn * 1000000000n + 999999999n; // 2106-02-07, past 2100
    frames.splice(100, 0, { frame: floodFrame(1, "198.51.100.2"), ts: late });
    frames.splice(300, 0, { frame: floodFrame(2, "198.51.100.2"), ts: late });
    await Deno.writeFile(file, pcapNanoBytes(frames));
    for (const reader of ["ts", "libpcap"]) {
      const out = await ftagent(["replay", "--json", "--reader", reader, file]);
      assertEquals(out.code, 0, `${reader}: ${out.stderr}`);
      assertEquals(linesMatching(out.stderr, BAD_TIME).length, 1, `${reader}: ${out.stderr}`);
      const summary = jsonLines(out.stdout).find((l) => l.type === "summary")!;
      assertEquals([summary.packets, summary.malformed], [402, 2], reader);
      assertEquals(summary.windows, 2, reader);
    }
  });
});

Deno.test("ftagent --pcap over a flood holding a frame timed 2^64 µs resolves, closes its capture, saves the baseline and exits 0", async () => {
  const { dir, config, state } = await agentScratch("fta-badtime-", { ...FLOORS, log_file: "" });
  try {
    const file = `${dir}/flood.pcapng`;
    const odd = [{ frame: floodFrame(7, "198.51.100.2"), ts: HUGE_TS }];
    await Deno.writeFile(file, pcapngBytes(udpFlood(3000, 10, ["198.51.100.2"], odd, 5)));
    const out = await ftagent(["--pcap", file, "--fast", "--config", config]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(linesMatching(out.stderr, BAD_TIME).length, 1, out.stderr);
    assertEquals(linesMatching(out.stderr, /stop: .* failed/), [], out.stderr);
    const open = out.stderr.match(/incident open ([0-9a-f-]{36}): dns_flood/);
    assert(open !== null, out.stderr);
    assertMatch(out.stderr, new RegExp(`incident resolve ${open[1]}`));
    assertMatch(out.stderr, /stopped: 30001 packets, 1 malformed/);
    // The capture was closed whole (tcpdump reads it to the end), the baseline saved.
    const pcap = await run(["tcpdump", "-nn", "-r", `${dir}/pcaps/${open[1]}.pcap`]);
    assertEquals(pcap.code, 0, pcap.stderr);
    assert(pcap.stdout.split("\n").length > 1000, "the capture holds the flood");
    assert((await Deno.stat(`${state}/baseline.json`)).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftagent --pcap at the recorded pace neither waits for a frame 76 years ahead nor for one timed 2^64 µs", async () => {
  const { dir, config } = await agentScratch("fta-badtime-", { ...FLOORS, log_file: "" });
  try {
    const file = `${dir}/jump.pcapng`;
    const in2099 = BigInt(Date.UTC(2099, 0, 1)) * 1000n;
    const odd = [
      { frame: floodFrame(1, "198.51.100.2"), ts: in2099 },
      { frame: floodFrame(2, "198.51.100.2"), ts: HUGE_TS },
    ];
    await Deno.writeFile(file, pcapngBytes(udpFlood(300, 3, ["198.51.100.2"], odd, 1)));
    const started = performance.now();
    const out = await ftagent(["--pcap", file, "--config", config]);
    const seconds = (performance.now() - started) / 1000;
    console.log(`paced run of a 3 s capture with a 76-year jump: ${seconds.toFixed(1)} s`);
    assertEquals(out.code, 0, out.stderr);
    assert(seconds >= 2.5 && seconds < 60, `${seconds} s: paced, without the jump`);
    assertEquals(linesMatching(out.stderr, BAD_TIME).length, 1, out.stderr);
    assertMatch(out.stderr, /stopped: 902 packets, 1 malformed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
