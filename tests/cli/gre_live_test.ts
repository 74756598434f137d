// GRE-encapsulated floods crossing a veth between two namespaces this test creates, captured
// live by the real agent in the receiving one: with gre_mode "enabled" the incident names the
// address behind the tunnel and the carried protocol; with "disabled", the tunnel endpoint and
// GRE. (This machine's kernel has no GRE driver, so tcpreplay sends the tunnel packets.)
import { assert, assertMatch } from "../support/assert.ts";
import { killAgent, spawnFtagent } from "../support/cli.ts";
import { bytes, eth, EtherType, gre, ipv4, udp } from "../support/frames.ts";
import { createNetnsPair, hasCommand, type NetnsPair } from "../support/netns.ts";
import { LinkType, PcapBuilder } from "../../core/packet/mod.ts";
import { waitFor } from "../support/stream.ts";
import { agentScratch } from "../support/scratch.ts";

/** Frames of UDP to 198.18.60.5 inside GRE from the pair's `a` side to `b`, to `mac`. */
function tunnelFrames(pair: NetnsPair, mac: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const inner = ipv4(17, udp(6000 + i, 27015, bytes(300)), {
      src: `198.19.50.${i + 1}`,
      dst: "198.18.60.5",
    });
    const frame = eth(
      EtherType.IPV4,
      ipv4(47, gre(EtherType.IPV4, inner, { k: true }), { src: pair.addrA, dst: pair.addrB }),
    );
    frame.set(mac, 0);
    out.push(frame);
  }
  return out;
}

/** Runs the agent on the pair's `b` veth with `greMode` while `a` replays the tunnel frames. */
async function incidentLine(pair: NetnsPair, dir: string, greMode: string): Promise<string> {
  const scratch = await agentScratch(`fta-grelive-${greMode}-`, {
    gre_mode: greMode,
    attack_holddown: 1,
    attack_cooldown: 1,
    log_file: "",
    pcap_enabled: false,
  });
  const config = scratch.config;
  const agent = spawnFtagent(["--interface", pair.ifB, "--config", config], [
    "ip",
    "netns",
    "exec",
    pair.b,
  ]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  try {
    log = await waitFor(stderr, /capturing on/, log, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    // About 6 s at 6000 packets/s.
    const replay = await pair.exec(pair.a, [
      "tcpreplay",
      "-q",
      "--pps=6000",
      "--loop=9000",
      "-i",
      pair.ifA,
      `${dir}/tunnel.pcap`,
    ]);
    assert(replay.code === 0, replay.stderr);
    log = await waitFor(stderr, /incident open [^\n]*\n/, log, 20_000);
    const m = /incident open [^\n]*/.exec(log);
    if (m === null) throw new Error(`no incident in the agent's log:\n${log}`);
    return m[0];
  } finally {
    await killAgent(agent, stderr);
    await Deno.remove(scratch.dir, { recursive: true });
  }
}

Deno.test("the agent capturing live strips GRE with gre_mode enabled and not with disabled", async () => {
  assert(await hasCommand("tcpreplay"), "tcpreplay is needed (apt-get install tcpreplay)");
  const pair = await createNetnsPair({ prefix: "ftg" });
  const dir = await Deno.makeTempDir({ prefix: "fta-grelive-" });
  try {
    const mac = (await pair.run(pair.b, ["cat", `/sys/class/net/${pair.ifB}/address`])).trim()
      .split(":").map((h) => parseInt(h, 16));
    const builder = new PcapBuilder(LinkType.EN10MB);
    tunnelFrames(pair, mac).forEach((f, i) => builder.add(f, 1_767_225_600e6 + i * 100, f.length));
    await Deno.writeFile(`${dir}/tunnel.pcap`, builder.bytes());
    const stripped = await incidentLine(pair, dir, "enabled");
    console.log(stripped);
    assertMatch(stripped, /udp_flood\/\S+ on 198\.18\.60\.5,/);
    const tunnel = await incidentLine(pair, dir, "disabled");
    console.log(tunnel);
    assertMatch(tunnel, new RegExp(`/gre_flood on ${pair.addrB.replaceAll(".", "\\.")},`));
  } finally {
    await pair.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
