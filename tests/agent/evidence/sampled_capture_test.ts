import { FileSource } from "../../../agent/capture/mod.ts";
import { PcapRecorder, RecordingSink } from "../../../agent/evidence/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import { Pipeline } from "../../../core/traffic/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { CORPUS } from "../../support/cli.ts";
import { framesOf, walkCapture, webFrames, writeSplice } from "../../support/splice.ts";
import { T0 } from "../../support/traffic.ts";

/** Floors for 8000-pps test floods (as in pcap_recorder_test.ts); disk floor off. */
const CONFIG = {
  min_pps_threshold: 2000,
  min_bps_threshold: 0,
  min_syn_pps_threshold: 1000,
  min_udp_pps_threshold: 2000,
  min_icmp_pps_threshold: 1000,
  min_fragment_pps_threshold: 1000,
  pcap_min_free_mb: 0,
};
const ONSET_S = 10;
const RATE = 4;

/**
 * Web traffic for 30 s with a SYN flood from 10 s to 20 s, through detection and the recorder's
 * tee; with `rate` > 1, from 2 s before the onset on only 1 in `rate` frames reaches them (as
 * kernel sampling would pass them), told to the tee.
 */
async function record(dir: string, rate: number) {
  const file = `${dir}/splice.pcap`;
  await writeSplice(file, [
    { frames: webFrames("10.10.10.10"), fromS: 0, toS: 30, pps: 200 },
    {
      frames: await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`),
      fromS: ONSET_S,
      toS: ONSET_S + 10,
      pps: 8000,
    },
  ]);
  const pcaps = `${dir}/pcaps-${rate}`;
  const { config } = parseConfig({ ...CONFIG, pcap_dir: pcaps });
  const recorder = new PcapRecorder(config);
  const events: IncidentEvent[] = [];
  const detector = new Detector(config, {
    onEvent: (event) => {
      events.push(event);
      recorder.incident(event);
    },
  });
  const pipeline = new Pipeline(() => {}, { detector });
  const tee = new RecordingSink(pipeline, recorder);
  const source = new FileSource(file);
  const fromUs = (T0 + ONSET_S - 2) * 1e6;
  let i = 0;
  try {
    await source.run({
      packet(buf, offset, capLen, wireLen, tsUs, linktype) {
        if (rate > 1 && tsUs >= fromUs) {
          if (i === 0) tee.sampling(rate);
          if (i++ % rate !== 0) return;
        }
        tee.packet(buf, offset, capLen, wireLen, tsUs, linktype);
      },
    });
    pipeline.flush();
  } finally {
    source.close();
    await recorder.close();
  }
  return { events, stats: recorder.stats(), pcaps, packets: pipeline.packets };
}

Deno.test("a sampled flood opens the same incident and its capture says the sampling rate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-sampled-" });
  try {
    const full = await record(dir, 1);
    const sampled = await record(dir, RATE);
    const open = (r: typeof full) => r.events.filter((e) => e.event === "open");
    assertEquals(open(full).length, 1);
    assertEquals(open(sampled).length, 1);
    const [a, b] = [open(full)[0], open(sampled)[0]];
    assertEquals([b.attack_family, b.target], [a.attack_family, a.target]);
    const err = Math.abs(sampled.packets - full.packets) / full.packets;
    assert(err < 0.01, `packets ${full.packets} / ${sampled.packets}`);
    assertEquals(full.stats.recent[0].sampleRate, 1);
    assertEquals(sampled.stats.recent[0].sampleRate, RATE);
    // The file holds the sampled frames as they came (about 1 in RATE of the flood's).
    let frames = 0;
    walkCapture(await Deno.readFile(sampled.stats.recent[0].path), () => frames++);
    assertEquals(frames, sampled.stats.recent[0].packets);
    assert(frames > 100, `${frames} frames`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
