import { TcpFlag } from "../../core/packet/mod.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { CORPUS, corpusFiles, ftagent, jsonLines } from "../support/cli.ts";
import { eth, EtherType, ipv4, tcp } from "../support/frames.ts";
import { framesOf, webFrames, writeSplice } from "../support/splice.ts";
import { T0 } from "../support/traffic.ts";

interface Label {
  family: string[];
  subtype: string[];
}
const LABELS: Record<string, Label> = JSON.parse(
  await Deno.readTextFile(`${CORPUS}LABELS.json`),
).captures;

/** Floors for 8000-pps test floods (bps off); everything else default. */
const CONFIG = {
  min_pps_threshold: 2000,
  min_bps_threshold: 0,
  min_syn_pps_threshold: 1000,
  min_udp_pps_threshold: 2000,
  min_icmp_pps_threshold: 1000,
  min_fragment_pps_threshold: 1000,
};

type Line = Record<string, unknown>;

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-splice-" });
  try {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(CONFIG));
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function replayIncidents(path: string, config: string): Promise<Line[]> {
  const out = await ftagent(["replay", path, "--json", "--config", config]);
  assertEquals(out.code, 0, out.stderr);
  return jsonLines(out.stdout).filter((l) => l.type === "incident");
}

function secondsAfterT0(iso: unknown): number {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})\+00:00$/.exec(String(iso))!;
  return Date.parse(m[1] + "Z") / 1000 + Number(m[2]) / 1e6 - T0;
}

for (const path of corpusFiles()) {
  const name = path.split("/").pop()!;
  Deno.test(`replay detects ${name} spliced into web traffic within 1 s, names it and resolves it`, async () => {
    await withTemp(async (dir) => {
      const attack = await framesOf(path);
      const file = `${dir}/splice.pcap`;
      // The corpus victims are 10.10.10.10 / 10.10.10.1; the web traffic goes to the first.
      await writeSplice(file, [
        { frames: webFrames("10.10.10.10"), fromS: 0, toS: 40, pps: 200 },
        { frames: attack, fromS: 10, toS: 20, pps: 8000 },
      ]);
      const incidents = await replayIncidents(file, `${dir}/config.json`);
      const opens = incidents.filter((e) => e.event === "open");
      assertEquals(opens.length, 1, JSON.stringify(opens.map((o) => [o.target, o.opened_by])));
      const open = opens[0];
      const latency = secondsAfterT0(open.detected_at) - 10;
      assert(latency >= 0 && latency <= 1, `opened ${latency} s after onset`);
      assert(
        ["10.10.10.10", "10.10.10.1"].includes(open.inner_ip as string),
        `target ${open.target}`,
      );
      const resolve = incidents.find((e) => e.event === "resolve" && e.id === open.id);
      assert(resolve, "the incident resolves after the attack");
      const ended = secondsAfterT0(resolve.ended_at);
      assert(ended >= 19.8 && ended <= 21, `ended at ${ended} s; the attack stopped at 20 s`);
      const label = LABELS[name];
      assert(
        label.family.includes(resolve.attack_family as string),
        `family ${resolve.attack_family}`,
      );
      assert(
        label.subtype.includes(resolve.attack_subtype as string),
        `subtype ${resolve.attack_subtype}`,
      );
    });
  });
}

Deno.test("replay raises nothing for web traffic with a download far over the thresholds", async () => {
  await withTemp(async (dir) => {
    // A 6-second download from one server at 10,000 full-size segments/s (121 Mbit/s, 5x the pps floor).
    const segments = Array.from(
      { length: 64 },
      (_, i) =>
        eth(
          EtherType.IPV4,
          ipv4(6, tcp(443, 51000, TcpFlag.ACK, new Uint8Array(1460), { seq: i * 1460 }), {
            src: "198.19.200.1",
            dst: "10.10.10.10",
          }),
        ),
    );
    const file = `${dir}/benign.pcap`;
    await writeSplice(file, [
      { frames: webFrames("10.10.10.10"), fromS: 0, toS: 40, pps: 300 },
      { frames: segments, fromS: 12, toS: 18, pps: 10000 },
    ]);
    assertEquals(await replayIncidents(file, `${dir}/config.json`), []);
  });
});
