import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { IncidentStore, openStateDb } from "../../../agent/state/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";

const DAY_MS = 86_400_000;

function event(
  id: string,
  kind: "open" | "update" | "resolve",
  startedAt: string,
  extra: Record<string, unknown> = {},
): IncidentEvent {
  return {
    type: "incident",
    event: kind,
    id,
    detected_at: startedAt,
    started_at: startedAt,
    target: "198.18.0.10",
    inner_ip: "198.18.0.10",
    attack_family: "udp_flood",
    attack_subtype: "snmp_amplification",
    confidence: 90,
    peak_pps: 1000,
    peak_bps: 8e6,
    duration: 5,
    top_src_ips: [{ ip: "198.18.1.1", count: 10 }],
    evidence: { summary: "94% UDP from port 161", rule: "udp share" },
    ...extra,
  };
}

async function withStore(fn: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-incstore-" });
  try {
    await fn(`${dir}/ftagent.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("IncidentStore.record() keeps one row per incident with the latest event, across reopenings", async () => {
  await withStore((path) => {
    let db = openStateDb(path);
    let store = new IncidentStore(db);
    const id = "11111111-2222-4333-8444-555555555555";
    store.record(event(id, "open", "2026-11-22T05:00:00.000000+00:00"), "/p/x.pcap", 1000);
    store.record(
      event(id, "update", "2026-11-22T05:00:00.000000+00:00", { peak_pps: 5000 }),
      "/p/x.pcap",
      2000,
    );
    assertEquals(store.list(10)[0].state, "open");
    store.record(
      event(id, "resolve", "2026-11-22T05:00:00.000000+00:00", {
        peak_pps: 7000,
        ended_at: "2026-11-22T05:01:00.000000+00:00",
        duration_seconds: 60,
      }),
      "/p/x.pcap",
      3000,
    );
    db.close();
    db = openStateDb(path);
    store = new IncidentStore(db);
    const list = store.list(10);
    assertEquals(list.length, 1);
    assertEquals(list[0].state, "resolved");
    assertEquals(list[0].peakPps, 7000);
    assertEquals(list[0].duration, 60);
    assertEquals(list[0].family, "udp_flood");
    assertEquals(list[0].subtype, "snmp_amplification");
    assertEquals(list[0].endedAt, "2026-11-22T05:01:00.000000+00:00");
    assertEquals(list[0].pcapPath, "/p/x.pcap");
    const found = store.find(id).found;
    assert(found);
    assertEquals(found.event?.event, "resolve");
    assertEquals(found.event?.top_src_ips, [{ ip: "198.18.1.1", count: 10 }]);
    assertEquals((found.event?.evidence as { summary: string }).summary, "94% UDP from port 161");
    db.close();
  });
});

Deno.test("IncidentStore.list() is newest first and honours the limit", async () => {
  await withStore((path) => {
    const db = openStateDb(path);
    const store = new IncidentStore(db);
    store.record(
      event("a0000000-0000-4000-8000-000000000001", "open", "2026-11-20T10:00:00Z"),
      null,
      1,
    );
    store.record(
      event("a0000000-0000-4000-8000-000000000002", "open", "2026-11-22T10:00:00Z"),
      null,
      1,
    );
    store.record(
      event("a0000000-0000-4000-8000-000000000003", "open", "2026-11-21T10:00:00Z"),
      null,
      1,
    );
    assertEquals(store.list(10).map((i) => i.id.slice(-1)), ["2", "3", "1"]);
    assertEquals(store.list(2).map((i) => i.id.slice(-1)), ["2", "3"]);
    db.close();
  });
});

Deno.test("IncidentStore.find() accepts an unambiguous prefix and lists the candidates otherwise", async () => {
  await withStore((path) => {
    const db = openStateDb(path);
    const store = new IncidentStore(db);
    store.record(
      event("abcd0000-0000-4000-8000-000000000001", "open", "2026-11-20T10:00:00Z"),
      null,
      1,
    );
    store.record(
      event("abce0000-0000-4000-8000-000000000002", "open", "2026-11-21T10:00:00Z"),
      null,
      1,
    );
    assertEquals(store.find("abcd").found?.id, "abcd0000-0000-4000-8000-000000000001");
    assertEquals(store.find("ABCE").found?.id, "abce0000-0000-4000-8000-000000000002");
    const ambiguous = store.find("abc");
    assertEquals(ambiguous.found, null);
    assertEquals(ambiguous.found === null && ambiguous.matches.length, 2);
    const none = store.find("ffff");
    assertEquals(none.found === null && none.matches, []);
    // LIKE wildcards in the argument are literal characters
    assertEquals(store.find("%").found, null);
    assertEquals(store.find("_bcd").found, null);
    db.close();
  });
});

Deno.test("IncidentStore.prune() deletes incidents older than the retention, keeping newer ones", async () => {
  await withStore((path) => {
    const db = openStateDb(path);
    const store = new IncidentStore(db);
    const now = Date.parse("2026-11-22T00:00:00Z");
    store.record(
      event("b0000000-0000-4000-8000-000000000001", "resolve", "2026-08-01T00:00:00Z"),
      null,
      now - 100 * DAY_MS,
    );
    store.record(
      event("b0000000-0000-4000-8000-000000000002", "resolve", "2026-11-01T00:00:00Z"),
      null,
      now - 20 * DAY_MS,
    );
    assertEquals(store.prune(90, now), 1);
    assertEquals(store.list(10).map((i) => i.id.slice(-1)), ["2"]);
    assertEquals(store.prune(90, now), 0);
    db.close();
  });
});

Deno.test("IncidentStore.closeInterrupted() marks incidents a stopped agent left open", async () => {
  await withStore((path) => {
    const db = openStateDb(path);
    const store = new IncidentStore(db);
    store.record(
      event("c0000000-0000-4000-8000-000000000001", "open", "2026-11-20T10:00:00Z"),
      null,
      1,
    );
    store.record(
      event("c0000000-0000-4000-8000-000000000002", "resolve", "2026-11-21T10:00:00Z"),
      null,
      1,
    );
    assertEquals(store.closeInterrupted(), 1);
    assertEquals(store.list(10).map((i) => i.state), ["resolved", "interrupted"]);
    db.close();
  });
});

Deno.test("IncidentStore lists and shows bad rows without throwing", async () => {
  await withStore((path) => {
    const db = openStateDb(path);
    const store = new IncidentStore(db);
    store.record(event("d0000000-0000-4000-8000-000000000001", "open", "not a time"), null, 5);
    db.prepare(
      `INSERT INTO incidents (id, family, subtype, target, started_at, started_ms, ended_at,
        peak_pps, peak_bps, duration, state, last_event, pcap_path, updated_ms, event_json)
       VALUES ('d0000000-0000-4000-8000-000000000002', 'x', 'y', 'z', 'garbage', 9e18, NULL,
        'lots', X'00', 'long', 'weird', 'open', NULL, 1, '{not json')`,
    ).run();
    db.prepare(
      `INSERT INTO incidents VALUES ('d0000000-0000-4000-8000-000000000003', 'x', 'y', 'z', '', 0,
        NULL, 1, 1, 1, 'open', 'open', NULL, 1, '[1,2]')`,
    ).run();
    const list = store.list(10);
    assertEquals(list.length, 3);
    const bad = list.find((i) => i.id.endsWith("2"))!;
    assertEquals(bad.peakPps, 0);
    assertEquals(bad.duration, 0);
    assertEquals(bad.state, "interrupted");
    // the unparsable time falls back to the write time
    assertEquals(list.find((i) => i.id.endsWith("1"))!.startedMs, 5);
    const shown = store.find("d0000000-0000-4000-8000-000000000002").found!;
    assertEquals(shown.event, null);
    assertMatch(shown.error!, /not JSON/);
    assertMatch(
      store.find("d0000000-0000-4000-8000-000000000003").found!.error!,
      /not a JSON object/,
    );
    db.close();
  });
});
