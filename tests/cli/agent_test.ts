import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CORPUS, ftagent, killAgent, run, spawnFtagent } from "../support/cli.ts";
import { createNetnsPair, hasCommand, netnsAvailable } from "../support/netns.ts";
import { framesOf, webFrames, writeSplice } from "../support/splice.ts";
import { waitFor } from "../support/stream.ts";
import { agentScratch } from "../support/scratch.ts";

const netnsReason = await netnsAvailable();
const noHping = !(await hasCommand("hping3"));

/** Web traffic with a real SYN flood (corpus) from `onset` for `length` seconds. */
async function synFloodCapture(path: string, seconds: number, onset: number, length: number) {
  await writeSplice(path, [
    { frames: webFrames("10.10.10.10"), fromS: 0, toS: seconds, pps: 200 },
    {
      frames: await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`),
      fromS: onset,
      toS: onset + length,
      pps: 8000,
    },
  ]);
}

/** Packets of `path` matching a tcpdump filter (tcpdump must read the file cleanly). */
async function count(path: string, filter: string): Promise<number> {
  const out = await run(["tcpdump", "-nn", "-r", path, filter]);
  assertEquals(out.code, 0, out.stderr);
  return out.stdout.split("\n").filter((l) => l.trim() !== "").length;
}

Deno.test("ftagent --pcap FILE --fast detects, logs to its file, resolves, saves the baseline and exits", async () => {
  const { dir, config } = await agentScratch("fta-agent-");
  try {
    await synFloodCapture(`${dir}/attack.pcap`, 40, 10, 10);
    const out = await ftagent(["--pcap", `${dir}/attack.pcap`, "--fast", "--config", config]);
    assertEquals(out.code, 0, out.stderr);
    const line = new RegExp(
      "incident open ([0-9a-f-]{36}): syn_flood/syn_flood on 10\\.10\\.10\\.10, " +
        "peak [1-9][\\d.]* pps [1-9][\\d.]* bps, confidence",
    );
    const open = line.exec(out.stderr);
    assert(open, out.stderr);
    assertMatch(out.stderr, new RegExp(`incident resolve ${open[1]}: syn_flood/syn_flood`));
    assertMatch(out.stderr, /standalone mode/);
    const log = await Deno.readTextFile(`${dir}/ftagent.log`);
    assertMatch(log, new RegExp(`incident open ${open[1]}`));
    assertMatch(log, /stopped: \d+ packets/);
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/state/baseline.json`));
    assertEquals(saved.baseline.version, 1);
    // Its evidence: a capture named by the incident, starting with web traffic before the onset.
    const pcap = `${dir}/pcaps/${open[1]}.pcap`;
    assert((await count(pcap, "tcp dst port 25565")) > 1000, "attack packets in the capture");
    assert((await count(pcap, "tcp dst port 443")) > 0, "traffic from before the onset");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftagent --pcap FILE replays at the recorded pace", async () => {
  const { dir, config } = await agentScratch("fta-agent-");
  try {
    await writeSplice(`${dir}/web.pcap`, [
      { frames: webFrames("10.10.10.10"), fromS: 0, toS: 3, pps: 100 },
    ]);
    const started = performance.now();
    const out = await ftagent(["--pcap", `${dir}/web.pcap`, "--config", config]);
    const seconds = (performance.now() - started) / 1000;
    assertEquals(out.code, 0, out.stderr);
    assert(seconds >= 2.9, `3 s of traffic replayed in ${seconds.toFixed(2)} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftagent refuses a bad config on SIGHUP, keeps running, and stops cleanly on SIGTERM", async () => {
  const { dir, config } = await agentScratch("fta-agent-");
  await synFloodCapture(`${dir}/attack.pcap`, 60, 1, 50);
  const agent = spawnFtagent(["--pcap", `${dir}/attack.pcap`, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = await waitFor(stderr, /incident open|error/);
    assertMatch(seen, /incident open/);
    await Deno.writeTextFile(config, '{"min_pps_threshold": "lots"}');
    agent.kill("SIGHUP");
    seen = await waitFor(stderr, /config reload refused/, seen);
    assertMatch(seen, /config reload refused, keeping the running config: .*min_pps_threshold/);
    const t = performance.now();
    agent.kill("SIGTERM");
    seen = await waitFor(stderr, /stopped:/, seen);
    const status = await agent.status;
    assertEquals(status.code, 0, seen);
    assert(performance.now() - t < 5000, "exits within 5 s of SIGTERM");
    assertMatch(seen, /incident resolve/);
  } finally {
    await killAgent(agent, stderr);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "the agent opens an incident within 2 s of a live flood between namespaces and stops on SIGTERM",
  ignore: netnsReason !== null || noHping,
  async fn() {
    const pair = await createNetnsPair();
    const { dir, config } = await agentScratch("fta-agent-");
    const agent = spawnFtagent(["--interface", pair.ifB, "--config", config], [
      "ip",
      "netns",
      "exec",
      pair.b,
    ]);
    const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let seen = await waitFor(stderr, /capturing on|error/);
      assertMatch(seen, /capturing on/);
      // Normal traffic first (100 pps for 2 s), then a bounded SYN flood (6000 packets, <= 10 s).
      await pair.exec(pair.a, [
        "timeout",
        "5",
        "hping3",
        "-q",
        "-S",
        "-p",
        "443",
        "-c",
        "200",
        "-i",
        "u10000",
        pair.addrB,
      ]);
      const floodStart = performance.now();
      const flood = pair.exec(pair.a, [
        "timeout",
        "10",
        "hping3",
        "-q",
        "-S",
        "-p",
        "80",
        "-c",
        "6000",
        "-i",
        "u200",
        pair.addrB,
      ]);
      seen = await waitFor(stderr, /incident open/, seen);
      const latency = (performance.now() - floodStart) / 1000;
      await flood;
      assertMatch(
        seen,
        new RegExp(
          `incident open [0-9a-f-]{36}: syn_flood/syn_flood on ${
            pair.addrB.replaceAll(".", "\\.")
          }`,
        ),
      );
      assert(latency <= 2, `incident opened ${latency.toFixed(2)} s after the flood started`);
      agent.kill("SIGTERM");
      seen = await waitFor(stderr, /stopped:/, seen);
      assertEquals((await agent.status).code, 0, seen);
      assertMatch(seen, /incident resolve/);
      const id = /incident open ([0-9a-f-]{36})/.exec(seen)![1];
      const pcap = `${dir}/pcaps/${id}.pcap`;
      assert((await count(pcap, "tcp dst port 80")) > 100, "flood packets in the capture");
      assert((await count(pcap, "tcp dst port 443")) > 0, "normal traffic from before the onset");
    } finally {
      await killAgent(agent, stderr);
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
