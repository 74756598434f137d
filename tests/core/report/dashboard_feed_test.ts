import type { IncidentEvent } from "../../../core/detect/mod.ts";
import { DashboardFeed, emptySeries, mitigationText } from "../../../core/report/mod.ts";
import { assertEquals } from "../../support/assert.ts";

function event(kind: "open" | "update" | "resolve", id: string): IncidentEvent {
  return {
    type: "incident",
    event: kind,
    id,
    attack_family: "syn_flood",
    target: "198.18.0.1",
    peak_pps: 2700.4,
    evidence: { summary: `evidence of ${id}` },
  };
}

Deno.test("DashboardFeed keeps the last 20 opens and resolves (not updates), newest first", () => {
  const feed = new DashboardFeed();
  for (let i = 0; i < 30; i++) {
    feed.event(event("open", `id-${i}-0000`), 1000 + i);
    feed.event(event("update", `id-${i}-0000`), 2000 + i);
  }
  feed.event(event("resolve", "id-29-0000"), 5000);
  const events = feed.data(inputs([])).events;
  assertEquals(events.length, 20);
  assertEquals(events[0], {
    atMs: 5000,
    text: "resolve syn_flood on 198.18.0.1 peak 2700 pps id-29-00",
  });
  assertEquals(events[1].text, "open syn_flood on 198.18.0.1 peak 2700 pps id-29-00");
});

Deno.test("DashboardFeed gives an open incident its evidence sentence and mitigation states, and forgets them at resolve", () => {
  const feed = new DashboardFeed();
  feed.event(event("open", "abc"), 1);
  const open = [{
    id: "abc",
    family: "syn_flood",
    subtype: "syn_flood",
    target: "198.18.0.1",
    startedAt: "",
    peakPps: 1,
    peakBps: 1,
  }];
  const data = feed.data(
    inputs(open, (id) => id === "abc" ? ["applied", "dry_run", "applied"] : []),
  );
  assertEquals([data.open[0].evidence, data.open[0].mitigation], [
    "evidence of abc",
    "applied 2, dry run 1",
  ]);
  feed.event(event("resolve", "abc"), 2);
  assertEquals(feed.data(inputs(open)).open[0].evidence, "");
});

Deno.test("mitigationText() says none for no action and counts the states otherwise", () => {
  assertEquals(mitigationText([]), "none");
  assertEquals(mitigationText(["proposed"]), "proposed 1");
});

function inputs(
  open: Parameters<DashboardFeed["data"]>[0]["snapshot"]["incidents"]["open"],
  mitigation: (id: string) => string[] = () => [],
): Parameters<DashboardFeed["data"]>[0] {
  const snapshot = {
    version: "0.1.0",
    nowMs: 0,
    capture: { source: "eth0" },
    thresholds: {},
    baseline: { ready: false, levels: {} },
    incidents: { open, totalByFamily: {} },
  } as unknown as Parameters<DashboardFeed["data"]>[0]["snapshot"];
  return {
    snapshot,
    problems: [],
    history: emptySeries(),
    targets: [],
    past: [],
    mitigation,
    mitigationMode: "off",
  };
}
