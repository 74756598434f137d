// One reporting benchmark measurement in a fresh process:
// `deno run -A bench/_reporting_measure.ts fast|paced API_BASE FILE` runs the capture through
// decode, windows, detection, the listeners and the reporting layer (outbox, sender, config
// fetch, heartbeats and metrics every 50 ms so the outbox fills when the API is down) and prints
// the seconds of the pass (fast) or, for each incident, when it opened in packet time and how
// late behind the recorded pace (paced), with the outbox depth at the end.
import { cpuUsage } from "node:process";
import { getLogger } from "@logtape/logtape";
import { defaultConfig } from "../core/config/mod.ts";
import { Detector } from "../core/detect/mod.ts";
import { Pipeline } from "../core/traffic/mod.ts";
import { FileSource } from "../agent/capture/mod.ts";
import { Listeners } from "../agent/mod.ts";
import { openStateDb } from "../agent/state/mod.ts";
import { Reporting } from "../agent/report/mod.ts";

const [mode, apiBase, path] = Deno.args;
const dir = await Deno.makeTempDir({ prefix: "fta-rbench-" });
const config = {
  ...defaultConfig(),
  api_key: "test-key",
  node_uuid: "00000000-0000-4000-8000-000000000001",
  api_base: apiBase,
  state_dir: dir,
  min_pps_threshold: 2000,
  min_bps_threshold: 0,
  min_syn_pps_threshold: 1000,
  attack_holddown: 1,
  attack_cooldown: 1,
  heartbeat_interval: 0.05,
  metrics_interval: 0.05,
  api_timeout_seconds: 2,
};
const db = openStateDb(`${dir}/ftagent.db`);
const listeners = new Listeners();
let firstWallMs = -1;
let firstTsUs = -1;
/** Each open: its packet time after the first packet, and how late (wall time) it was seen. */
const opens: { atMs: number; lagMs: number }[] = [];
const detector = new Detector(config, {
  onEvent: (event) => {
    if (mode === "paced" && event.event === "open" && firstWallMs >= 0) {
      const atUs = Date.parse(String(event.detected_at)) * 1000;
      const atMs = (atUs - firstTsUs) / 1000;
      opens.push({ atMs, lagMs: performance.now() - (firstWallMs + atMs) });
    }
    listeners.emit(event);
  },
});
const reporting = new Reporting({
  config,
  db,
  log: getLogger(["bench"]),
  version: "bench",
  detector,
});
listeners.add({ name: "report", handle: (e) => reporting.incident(e) });
const pipeline = new Pipeline((w) => reporting.window(w), { detector });
let packets = 0;
const sink = {
  packet(b: Uint8Array, o: number, c: number, w: number, t: number, l: number) {
    if (firstWallMs < 0) {
      firstWallMs = performance.now();
      firstTsUs = t;
    }
    packets++;
    pipeline.packet(b, o, c, w, t, l);
  },
};
// Let the reporting layer start (first config fetch and heartbeat) as the agent would.
await new Promise((r) => setTimeout(r, 300));
const source = new FileSource(path);
const t = performance.now();
const cpu0 = cpuUsage();
await source.run(sink, { paced: mode === "paced" });
const cpu = cpuUsage(cpu0);
const seconds = (performance.now() - t) / 1000;
source.close();
pipeline.flush();
await listeners.flush(3000);
const stats = reporting.stats();
await reporting.stop();
db.close();
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({
  packets,
  seconds,
  // CPU time of the whole process (every thread) during the pass: robust on a shared machine.
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  opens,
  depth: stats.outbox.depth,
  // Every control-plane lane (incident events have a sender of their own).
  sent: stats.senders.reduce((n, s) => n + s.sent, 0),
  failed: stats.senders.reduce((n, s) => n + s.failed, 0),
}));
