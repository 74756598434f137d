import { defaultConfig, type DetectionConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  download,
  feed,
  fragments,
  synFlood,
  T0,
  udpReflection,
  web,
} from "../../support/traffic.ts";

/** Floors low enough for small synthetic floods; the baseline is not ready (cold start). */
function config(overrides: Partial<DetectionConfig> = {}): DetectionConfig {
  return {
    ...defaultConfig(),
    min_pps_threshold: 1000,
    min_bps_threshold: 50e6,
    min_syn_pps_threshold: 500,
    min_udp_pps_threshold: 1000,
    min_icmp_pps_threshold: 500,
    min_fragment_pps_threshold: 500,
    ...overrides,
  };
}

function detector(cfg: DetectionConfig = config()) {
  const events: IncidentEvent[] = [];
  const d = new Detector(cfg, { onEvent: (e) => events.push(e) });
  const at = (e: IncidentEvent, key = "detected_at") => seconds(e[key] as string);
  return { d, events, at };
}

/** ISO-8601 time back to seconds after T0 (microsecond precision). */
function seconds(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})\+00:00$/.exec(iso);
  assert(m, `not an ISO time with microseconds: ${iso}`);
  return Date.parse(m[1] + "Z") / 1000 + Number(m[2]) / 1e6 - T0;
}

const VICTIM = "198.18.0.10";

Deno.test("Detector opens a SYN flood at 3x its threshold within 1 s of onset and resolves it once", () => {
  const { d, events, at } = detector();
  feed(d, [
    { fromS: 0, toS: 40, pps: 200, shape: web(VICTIM) },
    { fromS: 10, toS: 20, pps: 1500, shape: synFlood(VICTIM) },
  ]);
  d.finish();
  const opens = events.filter((e) => e.event === "open");
  assertEquals(opens.length, 1, JSON.stringify(events.map((e) => [e.event, e.opened_by])));
  const open = opens[0];
  assert(at(open) >= 10 && at(open) <= 11, `opened at ${at(open)} s, onset at 10 s`);
  assertMatch(open.opened_by as string, /^fast: syn_pps/);
  assertEquals(open.target, VICTIM);
  assertEquals(open.inner_ip, VICTIM);
  assertEquals(open.attack_family, "syn_flood");
  assertEquals(open.attack_subtype, "syn_flood");
  const resolve = events.find((e) => e.event === "resolve")!;
  assertEquals(resolve.id, open.id);
  const ended = at(resolve, "ended_at");
  assert(ended >= 19.9 && ended <= 21, `ended at ${ended} s, the flood stopped at 20 s`);
  assert(at(resolve) >= ended + 10, "resolve waits for the hold-down");
  assertEquals(resolve.attack_subtype, "syn_flood");
  assert((resolve.peak_pps as number) >= 1500);
  assertEquals(events.at(-1)!.event, "resolve");
});

Deno.test("Detector confirms a flood just over its threshold after the confirmation time", () => {
  const { d, events, at } = detector();
  feed(d, [
    { fromS: 0, toS: 30, pps: 100, shape: web(VICTIM) },
    { fromS: 5, toS: 20, pps: 650, shape: synFlood(VICTIM) },
  ]);
  d.finish();
  const open = events.find((e) => e.event === "open")!;
  const t = at(open) - 5;
  assert(t >= 3 && t <= 4.5, `opened ${t} s after onset (confirmation 3 s)`);
  assertMatch(
    open.opened_by as string,
    /^confirmed: syn_pps over threshold \(1\.[23]x\) for 3\.0 s/,
  );
  assertEquals(events.filter((e) => e.event === "open").length, 1);
});

Deno.test("Detector lets a download of a few seconds far over the threshold pass", () => {
  const { d, events } = detector();
  feed(d, [
    { fromS: 0, toS: 30, pps: 200, shape: web(VICTIM) },
    { fromS: 10, toS: 18, pps: 10000, shape: download(VICTIM) }, // 121 Mbit/s, 10x the pps floor
  ]);
  d.finish();
  assertEquals(events, []);
});

Deno.test("Detector opens a sustained bulk transfer only after the long confirmation and says why", () => {
  const { d, events, at } = detector();
  feed(d, [
    { fromS: 0, toS: 50, pps: 200, shape: web(VICTIM) },
    { fromS: 10, toS: 40, pps: 10000, shape: download(VICTIM) },
  ]);
  d.finish();
  const opens = events.filter((e) => e.event === "open");
  assertEquals(opens.length, 1);
  const t = at(opens[0]) - 10;
  assert(t >= 15 && t <= 16.5, `opened ${t} s after onset (bulk confirmation 15 s)`);
  assertMatch(
    opens[0].opened_by as string,
    /shaped like legitimate flows \(bulk transfer: .*1 sources/,
  );
});

Deno.test("Detector ends an incident opened by bps by bps, without flapping", () => {
  // 700 pps of 1400-byte NTP responses: 7.8 Mbit/s over a 5 Mbit/s floor, pps under its 1000.
  const { d, events, at } = detector(config({ min_bps_threshold: 5e6 }));
  feed(d, [
    { fromS: 0, toS: 60, pps: 100, shape: web(VICTIM) },
    { fromS: 5, toS: 35, pps: 700, shape: udpReflection(VICTIM, 123, 1400) },
  ]);
  d.finish();
  assertEquals(events.filter((e) => e.event === "open").length, 1);
  const open = events.find((e) => e.event === "open")!;
  assertEquals((open.trigger as { metric: string }).metric, "bps");
  assertEquals(open.attack_subtype, "ntp_amplification");
  const resolve = events.find((e) => e.event === "resolve")!;
  const ended = at(resolve, "ended_at");
  assert(ended >= 34.9 && ended <= 36, `ended at ${ended} s; the flood stopped at 35 s`);
  assert(events.filter((e) => e.event === "update").length >= 4, "updates every 5 s while open");
});

Deno.test("Detector names the one address flooded on a busy node whose total looks normal", () => {
  // 40 addresses at 50 pps each for 6 minutes: the baseline and each address's level are learned.
  const cfg = config({
    baseline_window_minutes: 5,
    min_pps_threshold: 2500,
    min_syn_pps_threshold: 2500,
  });
  const { d, events } = detector(cfg);
  const busy = Array.from({ length: 40 }, (_, k) => ({
    fromS: 0,
    toS: 420,
    pps: 50,
    shape: web(`198.18.1.${k + 1}`),
  }));
  // 3000 pps to one address: the interface total (5000) stays under its learned 3 x 2000.
  feed(d, [...busy, { fromS: 380, toS: 400, pps: 3000, shape: synFlood("198.18.1.7") }]);
  d.finish();
  const opens = events.filter((e) => e.event === "open");
  assertEquals(opens.map((e) => e.target), ["198.18.1.7"]);
});

Deno.test("Detector keeps incidents of two targets independent", () => {
  const { d, events } = detector();
  feed(d, [
    { fromS: 0, toS: 60, pps: 100, shape: web(VICTIM) },
    { fromS: 5, toS: 25, pps: 2000, shape: synFlood("198.18.0.20") },
    { fromS: 15, toS: 40, pps: 3000, shape: fragments("198.18.0.30") },
  ]);
  d.finish();
  const opens = events.filter((e) => e.event === "open");
  assertEquals(opens.map((e) => e.target), ["198.18.0.20", "198.18.0.30"]);
  assertEquals(opens[1].attack_family, "fragment_flood");
  const resolves = events.filter((e) => e.event === "resolve");
  assertEquals(resolves.map((e) => e.id).sort(), opens.map((e) => e.id).sort());
  assert(opens[0].id !== opens[1].id);
});

Deno.test("Detector gives the same incidents for the same traffic", () => {
  const run = () => {
    const { d, events } = detector();
    feed(d, [
      { fromS: 0, toS: 30, pps: 100, shape: web(VICTIM) },
      { fromS: 5, toS: 15, pps: 4000, shape: udpReflection(VICTIM, 161, 300) },
    ]);
    d.finish();
    return events;
  };
  const a = run();
  assert(a.length >= 2);
  assertEquals(run(), a);
});

Deno.test("Detector carries on when a listener throws", () => {
  let calls = 0;
  const d = new Detector(config(), {
    onEvent: () => {
      calls++;
      throw new Error("listener bug");
    },
  });
  feed(d, [{ fromS: 0, toS: 30, pps: 2000, shape: synFlood(VICTIM) }]);
  d.finish();
  assert(calls >= 3, `${calls} events: open, updates and resolve expected`);
  assertEquals(d.listenerErrors, calls);
  assert(d.status().every((s) => s.state !== "active"), "nothing left active");
});

Deno.test("Detector waits for the cooldown before a new incident on the same target", () => {
  const { d, events, at } = detector(config({ attack_holddown: 5, attack_cooldown: 30 }));
  feed(d, [
    { fromS: 0, toS: 120, pps: 100, shape: web(VICTIM) },
    { fromS: 10, toS: 20, pps: 2000, shape: synFlood(VICTIM) },
    { fromS: 30, toS: 40, pps: 2000, shape: synFlood(VICTIM) }, // inside the cooldown (25..55 s)
    { fromS: 70, toS: 80, pps: 2000, shape: synFlood(VICTIM) }, // after it
  ]);
  d.finish();
  const opens = events.filter((e) => e.event === "open");
  assertEquals(opens.length, 2);
  assert(at(opens[1]) >= 70 && at(opens[1]) < 71, `second incident at ${at(opens[1])} s`);
});

Deno.test("Detector never learns attack seconds into its baseline", () => {
  const cfg = config({ baseline_window_minutes: 2 });
  const { d, events } = detector(cfg);
  feed(d, [
    { fromS: 0, toS: 500, pps: 300, shape: web(VICTIM) },
    { fromS: 200, toS: 320, pps: 5000, shape: synFlood(VICTIM) },
  ]);
  d.finish();
  assertEquals(events.filter((e) => e.event === "open").length, 1);
  assert(d.baseline.ready);
  const p99 = d.baseline.p99(0);
  assert(p99 >= 290 && p99 <= 310, `baseline p99 ${p99} pps: attack seconds leaked in`);
});
