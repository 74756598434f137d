// deno-lint-ignore-file no-explicit-any -- the receivers' JSON payloads are walked freely
import { getLogger } from "@logtape/logtape";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { CORPUS, ftagent, jsonLines } from "../../support/cli.ts";
import { Receiver } from "../../support/receiver.ts";
import { Listeners } from "../../../agent/mod.ts";
import { Alerts, Reporting } from "../../../agent/report/mod.ts";
import { openStateDb } from "../../../agent/state/mod.ts";
import { type Config, parseConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";

const log = getLogger(["ftagent-test"]);
const SENDER = { backoffBaseMs: 20, backoffMaxMs: 100, failureThreshold: 100, coolOffMs: 100 };

/** Real incident events: the detector on a corpus SYN flood (open, updates, resolve). */
async function synFloodEvents(dir: string): Promise<IncidentEvent[]> {
  const config = `${dir}/replay.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ min_pps_threshold: 2000, min_bps_threshold: 0 }),
  );
  const out = await ftagent([
    "replay",
    `${CORPUS}pkt.TCP.synflood.spoofed.pcap`,
    "--json",
    "--config",
    config,
  ]);
  assertEquals(out.code, 0, out.stderr);
  const events = jsonLines(out.stdout).filter((l) => l.type === "incident") as IncidentEvent[];
  assertEquals(events.map((e) => e.event), ["open", "update", "update", "resolve"]);
  return events;
}

/** The agent's alert wiring on a fresh state database in `dir`. */
function agentAlerts(dir: string, alerts: Record<string, unknown>) {
  const config: Config = parseConfig({
    state_dir: dir,
    pcap_dir: `${dir}/pcaps`,
    alerts: { host_name: "edge-1", ...alerts },
  }).config;
  const db = openStateDb(`${dir}/ftagent.db`);
  const reporting = new Reporting({ config, db, log, version: "test", sender: SENDER });
  const listeners = new Listeners();
  const sender = new Alerts({
    config,
    outlet: reporting,
    log,
    interfaceName: "eth0",
    version: "test",
  });
  if (sender.channels.length > 0) {
    listeners.add({ name: "alerts", handle: (event) => sender.handle(event) });
  }
  const channels = sender.channels;
  return {
    reporting,
    listeners,
    channels,
    stop: async () => {
      await listeners.flush(2000);
      await reporting.stop();
      db.close();
    },
  };
}

async function hmacOk(secret: string, timestamp: string, raw: string, sig: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const mac = Uint8Array.from(
    sig.replace(/^sha256=/, "").match(/../g)!.map((h) => parseInt(h, 16)),
  );
  return await crypto.subtle.verify(
    "HMAC",
    key,
    mac,
    new TextEncoder().encode(`${timestamp}.${raw}`),
  );
}

Deno.test("alerts reach Slack, Discord, Teams, PagerDuty and a signed webhook through the outbox, in each service's shape, retried and never twice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-alerts-" });
  const slack = new Receiver([{ status: 503, headers: { "retry-after": "1" } }]);
  const discord = new Receiver([{ status: 429, headers: { "retry-after": "0" } }], { status: 204 });
  const teams = new Receiver();
  const pagerduty = new Receiver([{ status: 500 }], { status: 202, body: '{"status":"success"}' });
  const webhook = new Receiver();
  const receivers = [slack, discord, teams, pagerduty, webhook];
  try {
    const events = await synFloodEvents(dir);
    const id = events[0].id;
    const agent = agentAlerts(dir, {
      slack: { webhook_url: `${slack.url}/services/T/B/X` },
      discord: { webhook_url: `${discord.url}/api/webhooks/1/t` },
      teams: { webhook_url: `${teams.url}/workflows/x` },
      pagerduty: { routing_key: "R0UTINGKEY", events_url: `${pagerduty.url}/v2/enqueue` },
      webhook: {
        url: `${webhook.url}/ftagent`,
        secret: "s3cret",
        events: ["open", "update", "resolve"],
      },
    });
    try {
      assertEquals(agent.channels, [
        "alert:slack",
        "alert:discord",
        "alert:teams",
        "alert:pagerduty",
        "alert:webhook",
      ]);
      for (const event of events) agent.listeners.emit(event);
      agent.listeners.emit(events[0]); // a repeated open is not sent again
      agent.listeners.emit(events[3]);
      await slack.waitFor(3); // 503, then open and resolve
      await discord.waitFor(3);
      await teams.waitFor(2);
      await pagerduty.waitFor(3);
      await webhook.waitFor(4);
      await new Promise((r) => setTimeout(r, 300)); // nothing more may come
      assertEquals(receivers.map((r) => r.received.length), [3, 3, 2, 3, 4]);
      const sent = Object.fromEntries(
        agent.reporting.stats().senders.map((s) => [s.channel, s.sent]),
      );
      assertEquals(sent, {
        "alert:slack": 2,
        "alert:discord": 2,
        "alert:teams": 2,
        "alert:pagerduty": 2,
        "alert:webhook": 4,
      });
    } finally {
      await agent.stop();
    }

    // Slack: the retried open is the same message; then the resolve.
    const [s0, s1, s2] = slack.received;
    assertEquals(s0.raw, s1.raw);
    assertEquals(s1.path, "/services/T/B/X");
    assertMatch(
      String(s1.json.text),
      /^DDoS attack started on edge-1: syn_flood against 10\.10\.10\.10\. \d+% TCP SYN/,
    );
    const blocks = s1.json.blocks as Record<string, any>[];
    assertEquals(blocks.map((b) => b.type), ["header", "section", "section", "context"]);
    assertEquals(blocks[0].text.type, "plain_text");
    assertEquals(
      blocks[1].fields.map((f: { type: string; text: string }) => [f.type, f.text.split("\n")[0]]),
      [["mrkdwn", "*What*"], ["mrkdwn", "*Where*"], ["mrkdwn", "*Peak*"], ["mrkdwn", "*Since*"], [
        "mrkdwn",
        "*Duration*",
      ]],
    );
    assertMatch(blocks[1].fields[2].text, /\*Peak\*\n[\d.]+ kpps, [\d.]+ Mbit\/s/);
    assertMatch(blocks[1].fields[3].text, /2021-04-28 10:30:21 UTC/);
    assertMatch(
      blocks[3].elements[0].text,
      new RegExp(`capture ${dir}/pcaps/${id}\\.pcap; details: ftagent incidents show ${id}`),
    );
    assertMatch(String(s2.json.text), /^DDoS attack ended on edge-1/);

    // Discord: content and one embed with fields, a timestamp and no mentions.
    const d = discord.received[1].json as Record<string, any>;
    assertMatch(d.content, /^DDoS attack started on edge-1/);
    assertEquals(d.embeds.length, 1);
    const embed = d.embeds[0];
    assertEquals(embed.color, 0xd32f2f);
    assertMatch(embed.description, /% TCP SYN/);
    assertEquals(embed.fields.map((f: { name: string }) => f.name), [
      "What",
      "Where",
      "Peak",
      "Since",
      "Duration",
      "Evidence",
    ]);
    assertEquals(embed.timestamp, "2021-04-28T10:30:21.400Z");
    assertEquals(d.allowed_mentions, { parse: [] });
    assertEquals((discord.received[2].json as Record<string, any>).embeds[0].color, 0x388e3c);

    // Teams: a message with one Adaptive Card.
    const t = teams.received[0].json as Record<string, any>;
    assertEquals(t.type, "message");
    assertEquals(t.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
    const card = t.attachments[0].content;
    assertEquals([card.type, card.version], ["AdaptiveCard", "1.4"]);
    assertEquals(card.body[0].type, "TextBlock");
    assertEquals(card.body[1].type, "FactSet");
    assertEquals(card.body[1].facts[0].title, "What");
    assertMatch(teams.received[1].raw, /DDoS attack ended on edge-1/);

    // PagerDuty: trigger then resolve, dedup key = incident id.
    const trigger = pagerduty.received[1].json as Record<string, any>;
    assertEquals(pagerduty.received[0].raw, pagerduty.received[1].raw);
    assertEquals([trigger.routing_key, trigger.event_action, trigger.dedup_key], [
      "R0UTINGKEY",
      "trigger",
      id,
    ]);
    assertMatch(trigger.payload.summary, /^DDoS attack started on edge-1: syn_flood/);
    assert(trigger.payload.summary.length <= 1024);
    assertEquals(trigger.payload.source, "10.10.10.10 on edge-1 (eth0)");
    assertEquals(trigger.payload.severity, "critical");
    assertEquals(pagerduty.received[2].json, {
      routing_key: "R0UTINGKEY",
      event_action: "resolve",
      dedup_key: id,
    });

    // Generic webhook: signed, one delivery key per event, every event in order.
    for (const r of webhook.received) {
      const ts = r.headers.get("x-ftagent-timestamp")!;
      assert(Math.abs(Number(ts) - Date.now() / 1000) < 300, "fresh timestamp");
      assert(await hmacOk("s3cret", ts, r.raw, r.headers.get("x-ftagent-signature")!));
      assert(!(await hmacOk("s3cret", ts, r.raw + " ", r.headers.get("x-ftagent-signature")!)));
    }
    assertEquals(webhook.received.map((r) => r.json.event), [
      "open",
      "update",
      "update",
      "resolve",
    ]);
    assertEquals(webhook.received[0].headers.get("x-ftagent-delivery"), `${id}:open`);
    assertEquals(webhook.received[3].headers.get("x-ftagent-delivery"), `${id}:resolve`);
    const body = webhook.received[3].json as Record<string, any>;
    assertEquals([body.type, body.incident_id, body.incident.attack_family], [
      "ftagent.alert",
      id,
      "syn_flood",
    ]);
    assertEquals(body.show_command, `ftagent incidents show ${id}`);
  } finally {
    for (const r of receivers) await r.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an alert queued while the receiver is down and the agent restarts arrives once, after the restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-alerts-" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  let receiver: Receiver | null = null;
  try {
    const events = await synFloodEvents(dir);
    const alerts = { webhook: { url: `http://127.0.0.1:${port}/hook` } };
    const first = agentAlerts(dir, alerts);
    first.listeners.emit(events[0]);
    first.listeners.emit(events[3]);
    await first.listeners.flush(2000);
    await new Promise((r) => setTimeout(r, 200)); // a few refused attempts
    assert(first.reporting.stats().senders[0].failed > 0);
    await first.stop();

    receiver = new Receiver([], { status: 200 }, port);
    const second = agentAlerts(dir, alerts);
    try {
      second.listeners.emit(events[0]); // the detector of a restarted agent never repeats; if it did
      await receiver.waitFor(2);
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(receiver.received.map((r) => r.json.event), ["open", "resolve"]);
      assertEquals(second.reporting.outbox.stats().depth, 0);
    } finally {
      await second.stop();
    }
  } finally {
    await receiver?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the agent on a capture file alerts Slack and a webhook on open and resolve before it exits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-alerts-" });
  const slack = new Receiver();
  const webhook = new Receiver();
  try {
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        state_dir: `${dir}/state`,
        log_file: `${dir}/ftagent.log`,
        pcap_dir: `${dir}/pcaps`,
        metrics_port: 0,
        min_pps_threshold: 2000,
        min_bps_threshold: 0,
        alerts: {
          slack: { webhook_url: `${slack.url}/s` },
          webhook: { url: `${webhook.url}/w`, secret: "k" },
        },
      }),
    );
    const out = await ftagent([
      "--pcap",
      `${CORPUS}pkt.TCP.synflood.spoofed.pcap`,
      "--fast",
      "--config",
      config,
    ]);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stderr, /alerts to slack, webhook/);
    const id = /incident open ([0-9a-f-]{36})/.exec(out.stderr)![1];
    assertEquals(slack.received.length, 2);
    assertMatch(
      String(slack.received[0].json.text),
      /^DDoS attack started on \S+: syn_flood against 10\.10\.10\.10/,
    );
    assertMatch(String(slack.received[1].json.text), /^DDoS attack ended on /);
    assertEquals(webhook.received.map((r) => r.headers.get("x-ftagent-delivery")), [
      `${id}:open`,
      `${id}:resolve`,
    ]);
    for (const r of webhook.received) {
      assert(
        await hmacOk(
          "k",
          r.headers.get("x-ftagent-timestamp")!,
          r.raw,
          r.headers.get("x-ftagent-signature")!,
        ),
      );
    }
  } finally {
    await slack.close();
    await webhook.close();
    await Deno.remove(dir, { recursive: true });
  }
});
