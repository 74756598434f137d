import { PcapRecorder, type PcapRecorderStats } from "../../../agent/evidence/mod.ts";
import { FileSource } from "../../../agent/capture/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import { PacketRing } from "../../../core/packet/mod.ts";
import { xorshift32 } from "../../support/random.ts";
import { Pipeline } from "../../../core/traffic/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { CORPUS, run } from "../../support/cli.ts";
import { framesOf, walkCapture, webFrames, writeSplice } from "../../support/splice.ts";
import { T0 } from "../../support/traffic.ts";

/** Floors for 8000-pps test floods (as in replay_detection_test.ts); disk floor off. */
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
/** A spoofed SYN flood to 10.10.10.10 port 25565. */
const ATTACK = `${CORPUS}pkt.TCP.synflood.spoofed.pcap`;

interface Result {
  events: IncidentEvent[];
  stats: PcapRecorderStats;
  pcaps: string;
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-pcap-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Web traffic for 40 s with the SYN flood from 10 s to 20 s, through detection and recorder. */
async function record(dir: string, keys: Record<string, unknown> = {}): Promise<Result> {
  const file = `${dir}/splice.pcap`;
  await writeSplice(file, [
    { frames: webFrames("10.10.10.10"), fromS: 0, toS: 40, pps: 200 },
    { frames: await framesOf(ATTACK), fromS: ONSET_S, toS: ONSET_S + 10, pps: 8000 },
  ]);
  const pcaps = `${dir}/pcaps`;
  const { config } = parseConfig({ ...CONFIG, pcap_dir: pcaps, ...keys });
  const recorder = new PcapRecorder(config);
  const events: IncidentEvent[] = [];
  const detector = new Detector(config, {
    onEvent: (event) => {
      events.push(event);
      recorder.incident(event);
    },
  });
  const pipeline = new Pipeline(() => {}, { detector });
  const source = new FileSource(file);
  try {
    await source.run({
      packet(buf, offset, capLen, wireLen, tsUs, linktype) {
        pipeline.packet(buf, offset, capLen, wireLen, tsUs, linktype);
        recorder.packet(buf, offset, capLen, wireLen, tsUs, linktype, pipeline.meta);
      },
    });
    pipeline.flush();
  } finally {
    source.close();
    await recorder.close();
  }
  return { events, stats: recorder.stats(), pcaps };
}

function opens(events: IncidentEvent[]): IncidentEvent[] {
  return events.filter((e) => e.event === "open");
}

/** Packet times of a capture, in seconds after T0. */
async function timesOf(path: string): Promise<number[]> {
  const times: number[] = [];
  walkCapture(await Deno.readFile(path), (_b, _o, _c, _w, tsUs) => times.push(tsUs / 1e6 - T0));
  return times;
}

async function tcpdumpCount(path: string, filter: string[] = []): Promise<number> {
  const out = await run(["tcpdump", "-nn", "-r", path, ...filter]);
  assertEquals(out.code, 0, out.stderr);
  return out.stdout.split("\n").filter((l) => l.trim() !== "").length;
}

async function pcapNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".pcap")) names.push(e.name);
  return names.sort();
}

Deno.test("the packet ring keeps the newest frames in order and finds them by time", () => {
  const ring = new PacketRing({ bytes: 4096, slots: 64, snaplen: 100 });
  const src = new Uint8Array(2000).map((_, i) => i * 13);
  for (let k = 0; k < 500; k++) ring.push(src, (k * 37) % 1500, 60 + (k % 90), 1500, k * 1000, 1);
  const seen: number[] = [];
  ring.since(0, (buf, offset, capLen, wireLen, tsUs, linktype) => {
    const k = tsUs / 1000;
    assertEquals(capLen, Math.min(100, 60 + (k % 90)));
    assertEquals([wireLen, linktype], [1500, 1]);
    const from = (k * 37) % 1500;
    for (let i = 0; i < capLen; i++) assertEquals(buf[offset + i], src[from + i]);
    seen.push(k);
  });
  assert(seen.length > 20 && seen.length <= 64, `${seen.length} frames held`);
  assertEquals(seen, Array.from({ length: seen.length }, (_, i) => 500 - seen.length + i));
  assertEquals(ring.since(495_000, () => {}), 5);
});

Deno.test("PacketRing.batch() keeps the newest frames intact, like copying them one by one", () => {
  // Batches of small frames (copied in one block) and of large ones (copied frame by frame),
  // each overwriting the one source buffer, through rings that wrap many times: each ring holds
  // the newest frames, in order, with the bytes they had when pushed.
  const held = (ring: PacketRing) => {
    const out: string[] = [];
    ring.since(0, (buf, offset, capLen, wireLen, tsUs, linktype) => {
      out.push(`${tsUs}/${wireLen}/${linktype}:${buf.subarray(offset, offset + capLen).join(",")}`);
    });
    return out;
  };
  const blocks = new PacketRing({ bytes: 8192, slots: 128, snaplen: 100 });
  const single = new PacketRing({ bytes: 8192, slots: 128, snaplen: 100 });
  const pushed: string[] = [];
  const src = new Uint8Array(16 * 1300);
  const next = xorshift32(7);
  for (let b = 0; b < 300; b++) {
    const big = b % 5 === 4;
    const n = 1 + (next() % 12);
    let pos = 3 + (next() % 4);
    const start = pos;
    const list: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const len = big ? 200 + (next() % 1000) : 40 + (next() % 70);
      for (let j = 0; j < len; j++) src[pos + 16 + j] = next() & 0xff;
      list.push([pos + 16, len]);
      pos += 16 + len;
    }
    blocks.batch(src, start, pos, n);
    for (const [offset, len] of list) {
      const t = pushed.length + 1;
      pushed.push(
        `${t}/${len + 4}/1:${src.subarray(offset, offset + Math.min(len, 100)).join(",")}`,
      );
      blocks.push(src, offset, len, len + 4, t, 1);
      single.push(src, offset, len, len + 4, t, 1);
    }
    for (const ring of [blocks, single]) {
      const frames = held(ring);
      assert(frames.length >= Math.min(pushed.length, 30), `${frames.length} frames held`);
      assertEquals(frames, pushed.slice(pushed.length - frames.length), `after batch ${b}`);
    }
  }
});

Deno.test("an incident gets one capture named by its id that starts before the onset and holds the attack", async () => {
  await withTemp(async (dir) => {
    const { events, stats, pcaps } = await record(dir);
    const open = opens(events);
    assertEquals(open.length, 1);
    assertEquals(await pcapNames(pcaps), [`${open[0].id}.pcap`]);
    const path = `${pcaps}/${open[0].id}.pcap`;
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(pcaps)).mode! & 0o777, 0o700);
    const tshark = await run(["tshark", "-r", path]);
    assertEquals(tshark.code, 0, tshark.stderr);
    const times = await timesOf(path);
    assertEquals(tshark.stdout.trim().split("\n").length, times.length);
    assertEquals(await tcpdumpCount(path), times.length);
    assertEquals(stats.recent[0].packets, times.length);
    const pre = times.filter((t) => t < ONSET_S);
    assert(pre.length > 100, `${pre.length} frames before the onset`);
    assert(pre.every((t) => t >= ONSET_S - 5 - 1), `earliest frame at ${Math.min(...pre)} s`);
    assert(times.some((t) => t > ONSET_S + 1), "frames after the open");
    const syn = await tcpdumpCount(path, ["tcp[tcpflags] & tcp-syn != 0 and dst port 25565"]);
    assert(syn > 1000, `${syn} attack SYNs`);
    assertEquals(stats.stoppedReason, null);
    assertEquals([stats.droppedFrames, stats.errors], [0, 0], stats.lastError ?? "");
  });
});

Deno.test("a capture stops at pcap_max_packets and says so", async () => {
  await withTemp(async (dir) => {
    const { events, stats, pcaps } = await record(dir, { pcap_max_packets: 500 });
    const id = opens(events)[0].id;
    const path = `${pcaps}/${id}.pcap`;
    assertEquals(await tcpdumpCount(path), 500);
    assertEquals(stats.recent[0].endedBy, "pcap_max_packets");
    assertEquals(stats.limited, 1);
    assert((await timesOf(path)).some((t) => t < ONSET_S), "still starts before the onset");
  });
});

Deno.test("the disk cap deletes the oldest capture to make room", async () => {
  await withTemp(async (dir) => {
    const pcaps = `${dir}/pcaps`;
    await Deno.mkdir(pcaps);
    const old = ["a-oldest", "b-older", "c-old"];
    for (const [i, name] of old.entries()) {
      await Deno.writeFile(`${pcaps}/${name}.pcap`, new Uint8Array(300 * 1024));
      await run(["touch", "-d", `${3 - i} hours ago`, `${pcaps}/${name}.pcap`]);
    }
    const { events, stats } = await record(dir, { pcap_max_total_mb: 1, pcap_max_packets: 2000 });
    const id = opens(events)[0].id;
    const names = await pcapNames(pcaps);
    assert(!names.includes("a-oldest.pcap"), names.join(" "));
    assert(names.includes("c-old.pcap") && names.includes(`${id}.pcap`), names.join(" "));
    assert(stats.deletedForSpace >= 1);
    let total = 0;
    for (const n of names) total += (await Deno.stat(`${pcaps}/${n}`)).size;
    assert(total <= 1024 * 1024, `${total} bytes of captures`);
    assertEquals(stats.stoppedReason, null);
  });
});

Deno.test("too little free space stops PCAP writing with a reason while detection goes on", async () => {
  await withTemp(async (dir) => {
    const { events, stats, pcaps } = await record(dir, { pcap_min_free_mb: 1e12 });
    assertEquals(opens(events).length, 1);
    assert(events.some((e) => e.event === "resolve"), "the incident still resolves");
    assertEquals(await pcapNames(pcaps), []);
    assertMatch(stats.stoppedReason ?? "", /below pcap_min_free_mb/);
    assertEquals(stats.skipped, 1);
  });
});

Deno.test("prune deletes captures older than pcap_retention_days and keeps the rest", async () => {
  await withTemp(async (dir) => {
    const pcaps = `${dir}/pcaps`;
    await Deno.mkdir(pcaps);
    for (const name of ["old.pcap", "new.pcap", "notes.txt"]) {
      await Deno.writeTextFile(`${pcaps}/${name}`, "x");
    }
    for (const name of ["old.pcap", "notes.txt"]) {
      assertEquals((await run(["touch", "-d", "10 days ago", `${pcaps}/${name}`])).code, 0);
    }
    const { config } = parseConfig({ pcap_dir: pcaps, pcap_retention_days: 7 });
    const recorder = new PcapRecorder(config, { ring: { bytes: 1 << 16, slots: 128 } });
    assertEquals(await recorder.prune(), 1);
    await recorder.close();
    assertEquals(await pcapNames(pcaps), ["new.pcap"]);
    assert((await Deno.stat(`${pcaps}/notes.txt`)).isFile);
  });
});
