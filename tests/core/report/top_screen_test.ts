import {
  type DashboardData,
  emptySeries,
  mergeSeries,
  RateHistory,
  sparkline,
  topScreen,
} from "../../../core/report/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";

function data(open: number, targets: number, events: number): DashboardData {
  const history = new RateHistory();
  for (let t = 0; t < 120; t++) history.add(t, t < 100 ? 200 : 2700, 1e6, [[2500, 1e6]]);
  const thresholds = { pps: 2000, bps: null, syn_pps: 1000 };
  return {
    version: "0.1.0",
    source: "eth0",
    nowMs: Date.UTC(2026, 0, 1, 12, 0, 0),
    problems: [],
    thresholds,
    baseline: { ready: true, levels: { pps: 200 } },
    history: mergeSeries(emptySeries(), history.series()),
    targets: Array.from({ length: targets }, (_, i) => ({
      target: `198.18.0.${i}`,
      state: i === 0 ? "active" : "idle",
      pps: 2700,
      bps: 1.7e6,
      thresholds,
      incident: null,
      held: null,
    })),
    open: Array.from({ length: open }, (_, i) => ({
      id: `0000000${i}-aaaa-bbbb-cccc-dddddddddddd`,
      family: "syn_flood",
      subtype: "syn_flood",
      target: `198.18.0.${i}`,
      startedAt: "2026-01-01T11:59:00.000000+00:00",
      peakPps: 2700,
      peakBps: 1.7e6,
      evidence: "98.8% TCP SYN, to port 25565 (92.6%), 15889 sources, mean 64 B",
      mitigation: "dry run 2",
    })),
    past: [],
    events: Array.from({ length: events }, (_, i) => ({ atMs: 0, text: `open event ${i}` })),
    mitigationMode: "dry_run",
  };
}

Deno.test("topScreen() fits 80x24 with many targets, incidents and events, and says how many are left out", () => {
  const lines = topScreen(data(5, 40, 20), { width: 80, height: 24, color: false });
  assertEquals(lines.length, 24);
  for (const line of lines) assert([...line].length <= 80, `too wide: ${line}`);
  const text = lines.join("\n");
  assertMatch(text, /^Open incidents \(5\)$/m);
  assertMatch(text, /^Targets \(40\)$/m);
  assertMatch(text, /^ {2}\.\.\. \d+ more$/m);
  assertMatch(text, /^Last events$/m);
  assertEquals(lines.at(-1), "q quit");
});

Deno.test("topScreen() shows the rates with a sparkline, the open incident with its evidence, and the targets", () => {
  const text = topScreen(data(1, 2, 1), { width: 80, height: 24, color: false }).join("\n");
  assertMatch(text, /^ftagent 0\.1\.0 {2}healthy {2}12:00:00 UTC {2}on eth0$/m);
  assertMatch(text, /^pps {3}2\.70 kpps {3}▁{26}█{20} thr 2\.00 kpps$/m);
  assertMatch(
    text,
    /^ {2}syn_flood\/syn_flood on 198\.18\.0\.0 {2}peak 2\.70 kpps 1\.70 Mbit\/s {2}since 11:59:00$/m,
  );
  assertMatch(text, /^ {4}mitigation dry run 2: 98\.8% TCP SYN, to port 25565/m);
  assertMatch(text, /^ {2}198\.18\.0\.0 +active +2\.70 kpps/m);
});

Deno.test("topScreen() writes no escape code without colour (NO_COLOR) and colours the attacked target with it", () => {
  const plain = topScreen(data(1, 2, 1), { width: 80, height: 24, color: false }).join("\n");
  assert(!plain.includes("\x1b"), "no escape code");
  const color = topScreen(data(1, 2, 1), { width: 80, height: 24, color: true }).join("\n");
  assert(color.includes("\x1b[31;1mactive"), "the active target in bold red");
});

Deno.test("sparkline() scales to the maximum (or the threshold above it) and keeps the last `width` values", () => {
  assertEquals(sparkline([0, 1, 2, 4], 4), "▁▂▄█");
  assertEquals(sparkline([0, 1, 2, 4], 2), "▄█");
  assertEquals(sparkline([1, 1], 2, 8), "▁▁");
  assertEquals(sparkline([], 5), "");
});
