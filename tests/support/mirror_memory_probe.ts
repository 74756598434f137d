/**
 * Spawned by mirror_memory_test.ts. `generate PATH DESTINATIONS` writes a capture: 60 s of
 * UDP at 2,500 pps spread round robin over DESTINATIONS distinct addresses of 198.18.0.0/15,
 * and from 30 s to 40 s a 5,000 pps flood on 198.19.200.200. `replay PATH TRACKED` reads it
 * through the pipeline and a detector in mirror mode (`mirror_tracked_destinations` TRACKED)
 * and prints one JSON line: incidents opened, destinations tracked at the end, peak RSS.
 *
 * @module
 */

import { parseConfig } from "../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../core/detect/mod.ts";
import {
  CaptureParser,
  LinkType,
  PCAP_RECORD_HEADER_BYTES,
  pcapFileHeader,
  writePcapRecordHeader,
} from "../../core/packet/mod.ts";
import { Pipeline } from "../../core/traffic/mod.ts";
import { bytes, eth, EtherType, ipv4, udp } from "./frames.ts";

const MB = 1024 * 1024;
const T = 1_767_225_600;
const SECONDS = 60;
const PPS = 2_500;
const FLOOD_PPS = 5_000;
const FLOOD = [198, 19, 200, 200];

/** Peak RSS the kernel saw (VmHWM), in bytes. */
function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) * 1024 : 0;
}

async function generate(path: string, destinations: number): Promise<number> {
  const frame = eth(
    EtherType.IPV4,
    ipv4(17, udp(40000, 9000, bytes(18)), { src: "198.18.255.1", dst: "198.18.0.0" }),
  );
  const dstAt = 14 + 16;
  const record = PCAP_RECORD_HEADER_BYTES + frame.length;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let count = 0;
  try {
    await file.write(pcapFileHeader(LinkType.EN10MB, 262144));
    const chunk = new Uint8Array(record * PPS);
    const view = new DataView(chunk.buffer);
    let n = 0;
    for (let s = 0; s < SECONDS; s++) {
      const flood = s >= 30 && s < 40;
      const perSecond = PPS + (flood ? FLOOD_PPS : 0);
      const out = flood ? new Uint8Array(record * perSecond) : chunk;
      const outView = flood ? new DataView(out.buffer) : view;
      for (let i = 0; i < perSecond; i++) {
        const pos = i * record;
        const tsUs = (T + s) * 1e6 + Math.floor((i * 1e6) / perSecond);
        writePcapRecordHeader(outView, pos, tsUs, frame.length, frame.length);
        out.set(frame, pos + PCAP_RECORD_HEADER_BYTES);
        const at = pos + PCAP_RECORD_HEADER_BYTES + dstAt;
        if (flood && i % 3 !== 0) out.set(FLOOD, at); // 5,000 of the 7,500 pps
        else {
          const d = n++ % destinations; // 198.18.0.0 + d
          out[at] = 198;
          out[at + 1] = 18 + (d >> 16);
          out[at + 2] = (d >> 8) & 255;
          out[at + 3] = d & 255;
        }
      }
      await file.write(out);
      count += perSecond;
    }
  } finally {
    file.close();
  }
  return count;
}

function replay(path: string, tracked: number): void {
  const startRss = Deno.memoryUsage().rss;
  const { config } = parseConfig({
    mirror_mode: true,
    mirror_interface: "span0",
    mirror_subnets: ["198.18.0.0/15"],
    mirror_tracked_destinations: tracked,
    dynamic_threshold: false,
    pps_threshold: 3000,
    udp_pps_threshold: 3000,
  });
  const opens: string[] = [];
  const detector = new Detector(config, {
    onEvent: (e: IncidentEvent) => {
      if (e.event === "open") opens.push(`${e.target} ${e.attack_family}`);
    },
  });
  const pipeline = new Pipeline(() => {}, { detector });
  pipeline.local.set(config.mirror_subnets);
  // Read in 4 MiB pieces, as the file source does: the capture is never whole in memory.
  const file = Deno.openSync(path);
  const buf = new Uint8Array(4 * MB);
  const parser = new CaptureParser();
  let have = 0;
  const t = performance.now();
  try {
    for (;;) {
      const n = file.readSync(buf.subarray(have));
      if (n === null) break;
      have += n;
      const used = parser.parse(buf, 0, have, pipeline);
      buf.copyWithin(0, used, have);
      have -= used;
    }
  } finally {
    file.close();
  }
  pipeline.flush();
  const seconds = (performance.now() - t) / 1000;
  const tracked_now = detector.status().length;
  console.log(JSON.stringify({
    packets: pipeline.packets,
    opens,
    status_targets: tracked_now,
    seconds: +seconds.toFixed(2),
    start_rss_mb: +(startRss / MB).toFixed(1),
    end_rss_mb: +(Deno.memoryUsage().rss / MB).toFixed(1),
    vm_hwm_mb: +(vmHwm() / MB).toFixed(1),
  }));
}

if (Deno.args[0] === "generate") {
  console.log(await generate(Deno.args[1], Number(Deno.args[2])));
} else replay(Deno.args[1], Number(Deno.args[2]));
