// One benchmark measurement in a fresh process (so no configuration inherits another's JIT
// state): `deno run -A bench/_measure.ts READER MODE FILE` prints the seconds of one pass.
import { defaultConfig } from "../core/config/mod.ts";
import { Detector } from "../core/detect/mod.ts";
import type { PacketSink } from "../core/packet/mod.ts";
import { PayloadInspector } from "../core/payload/mod.ts";
import { Pipeline } from "../core/traffic/mod.ts";
import { FileSource, LibpcapFileSource } from "../agent/capture/mod.ts";

const [reader, mode, path] = Deno.args;

const UNREACHABLE = {
  min_pps_threshold: 1e12,
  min_bps_threshold: 1e15,
  min_syn_pps_threshold: 1e12,
  min_udp_pps_threshold: 1e12,
  min_icmp_pps_threshold: 1e12,
  min_fragment_pps_threshold: 1e12,
};

class Count implements PacketSink {
  packets = 0;
  packet(): void {
    this.packets++;
  }
}

function sink(): PacketSink & { packets: number } {
  switch (mode) {
    case "read":
      return new Count();
    case "windows":
      return new Pipeline(() => {});
    case "detection":
      // Default config: the capture is a flood, so incidents open and collect evidence.
      // With the payload inspection the agent always runs (built-in signatures, no patterns).
      return new Pipeline(() => {}, {
        detector: new Detector(defaultConfig(), { onEvent: () => {} }),
        inspector: new PayloadInspector(),
      });
    case "detection-idle":
      // Thresholds above the traffic: rates, baselines and machines run, no incident opens.
      return new Pipeline(() => {}, {
        detector: new Detector({ ...defaultConfig(), ...UNREACHABLE }, { onEvent: () => {} }),
        inspector: new PayloadInspector(),
      });
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

const s = sink();
const source = reader === "ts" ? new FileSource(path) : new LibpcapFileSource(path);
const t = performance.now();
await source.run(s);
source.close();
if (s instanceof Pipeline) s.flush();
console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, packets: s.packets }));
