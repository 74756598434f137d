import { assert, assertEquals } from "../../support/assert.ts";
import {
  openStateDb,
  Outbox,
  type OutboxEntry,
  type OutboxKind,
} from "../../../agent/state/mod.ts";

function entry(
  channel: string,
  kind: OutboxKind,
  key: string,
  body: unknown = { key },
): OutboxEntry {
  return { channel, kind, key, eventUs: 1_700_000_000_000_000 + key.length, body };
}

async function withDb(fn: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fta-outbox-" });
  try {
    await fn(`${dir}/ftagent.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Outbox.enqueue() ignores a repeated key, also after delivery and across reopening", async () => {
  await withDb((path) => {
    let db = openStateDb(path);
    let box = new Outbox(db);
    assertEquals(box.enqueue(entry("flowtriq", "incident", "a")), true);
    assertEquals(box.enqueue(entry("flowtriq", "incident", "a")), false);
    assertEquals(box.enqueue(entry("alert:slack", "alert", "a")), true); // another channel
    const item = box.next("flowtriq")!;
    assertEquals(item.key, "a");
    assertEquals(item.body, { key: "a" });
    box.done(item.seq);
    assertEquals(box.enqueue(entry("flowtriq", "incident", "a")), false);
    db.close();
    db = openStateDb(path);
    box = new Outbox(db);
    assertEquals(box.enqueue(entry("flowtriq", "incident", "a")), false);
    assertEquals(box.has("flowtriq", "a"), true);
    assertEquals(box.stats().depth, 1);
    db.close();
  });
});

Deno.test("Outbox keeps one ordered lane per channel, with event time and attempts, across restarts", async () => {
  await withDb((path) => {
    let db = openStateDb(path);
    let box = new Outbox(db);
    for (const k of ["1", "2", "3"]) box.enqueue(entry("flowtriq", "incident", k));
    box.enqueue(entry("alert:webhook", "alert", "x"));
    box.failed(box.next("flowtriq")!.seq, "HTTP 503");
    db.close();
    db = openStateDb(path);
    box = new Outbox(db);
    const first = box.next("flowtriq")!;
    assertEquals([first.key, first.attempts, first.eventUs], ["1", 1, 1_700_000_000_000_001]);
    box.done(first.seq);
    assertEquals(box.next("flowtriq")!.key, "2");
    assertEquals(box.next("alert:webhook")!.key, "x");
    assertEquals(box.depth("flowtriq"), 2);
    assertEquals(box.next("alert:teams"), null);
    db.close();
  });
});

Deno.test("Outbox drops the oldest metrics first, then heartbeats, incident events last, and counts them", async () => {
  await withDb((path) => {
    let db = openStateDb(path);
    let box = new Outbox(db, { maxItems: 4 });
    box.enqueue(entry("flowtriq", "incident", "i1"));
    box.enqueue(entry("flowtriq", "metrics", "m1"));
    box.enqueue(entry("flowtriq", "heartbeat", "h1"));
    box.enqueue(entry("flowtriq", "metrics", "m2"));
    box.enqueue(entry("flowtriq", "incident", "i2")); // drops m1
    box.enqueue(entry("flowtriq", "incident", "i3")); // drops m2
    box.enqueue(entry("flowtriq", "ack", "a1")); // drops h1
    assertEquals(box.enqueue(entry("flowtriq", "metrics", "m3")), false); // nothing below it
    assertEquals(box.enqueue(entry("flowtriq", "incident", "i4")), true); // drops a1
    const keys: string[] = [];
    for (let it = box.next("flowtriq"); it !== null; it = box.next("flowtriq")) {
      keys.push(it.key);
      box.done(it.seq);
    }
    assertEquals(keys, ["i1", "i2", "i3", "i4"]);
    db.close();
    db = openStateDb(path);
    box = new Outbox(db, { maxItems: 4 });
    assertEquals(box.stats(), {
      depth: 0,
      dropped: { metrics: 3, heartbeat: 1, pcap: 0, alert: 0, ack: 1, incident: 0 },
    });
    db.close();
  });
});

Deno.test("Outbox.dead() keeps a refused entry with its reason and frees the lane", async () => {
  await withDb((path) => {
    const db = openStateDb(path);
    const box = new Outbox(db);
    box.enqueue(entry("flowtriq", "incident", "bad"));
    box.enqueue(entry("flowtriq", "incident", "good"));
    box.dead(box.next("flowtriq")!.seq, "HTTP 422 invalid", 5);
    assertEquals(box.next("flowtriq")!.key, "good");
    const dead = box.deadLetters();
    assertEquals(dead.length, 1);
    assertEquals([dead[0].key, dead[0].reason, dead[0].attempts, dead[0].deadUs], [
      "bad",
      "HTTP 422 invalid",
      1,
      5,
    ]);
    assertEquals(box.enqueue(entry("flowtriq", "incident", "bad")), false);
    assertEquals(box.stats().depth, 1);
    db.close();
  });
});

Deno.test("Outbox.enqueue() with supersede replaces a waiting heartbeat and wakes subscribers", async () => {
  await withDb((path) => {
    const db = openStateDb(path);
    const box = new Outbox(db);
    const woken: string[] = [];
    const off = box.onEnqueue((ch) => woken.push(ch));
    box.enqueue(entry("flowtriq", "heartbeat", "h1"), { supersede: true });
    box.enqueue(entry("flowtriq", "metrics", "m1"));
    box.enqueue(entry("flowtriq", "heartbeat", "h2"), { supersede: true });
    off();
    box.enqueue(entry("flowtriq", "metrics", "m2"));
    assertEquals(woken, ["flowtriq", "flowtriq", "flowtriq"]);
    const keys: string[] = [];
    for (let it = box.next("flowtriq"); it !== null; it = box.next("flowtriq")) {
      keys.push(it.key);
      box.done(it.seq);
    }
    assertEquals(keys, ["m1", "h2", "m2"]);
    assert(box.stats().dropped.heartbeat === 0, "a superseded heartbeat is not a drop");
    db.close();
  });
});
