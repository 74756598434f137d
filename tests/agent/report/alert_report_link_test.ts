// deno-lint-ignore-file no-explicit-any -- the receivers' JSON payloads are walked freely
// Alerts say where the incident report is: a link under alerts.report_base_url, or the command.
import { getLogger } from "@logtape/logtape";
import { assert, assertEquals } from "../../support/assert.ts";
import { CORPUS, ftagent, jsonLines } from "../../support/cli.ts";
import { Receiver } from "../../support/receiver.ts";
import { Listeners } from "../../../agent/mod.ts";
import { Alerts, Reporting } from "../../../agent/report/mod.ts";
import { openStateDb } from "../../../agent/state/mod.ts";
import { parseConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";

const log = getLogger(["ftagent-test"]);
const SENDER = { backoffBaseMs: 20, backoffMaxMs: 100, failureThreshold: 100, coolOffMs: 100 };

/** The open event of a corpus SYN flood, as the detector makes it. */
async function openEvent(dir: string): Promise<IncidentEvent> {
  await Deno.writeTextFile(`${dir}/replay.json`, JSON.stringify({ min_pps_threshold: 2000 }));
  const out = await ftagent([
    "replay",
    `${CORPUS}pkt.TCP.synflood.spoofed.pcap`,
    "--json",
    "--config",
    `${dir}/replay.json`,
  ]);
  assertEquals(out.code, 0, out.stderr);
  return jsonLines(out.stdout).find((l) => l.event === "open") as IncidentEvent;
}

/** Sends `event` through the agent's alerts to five stand-in services; returns their bodies. */
async function deliver(dir: string, event: IncidentEvent, reportBaseUrl?: string) {
  const receivers = [0, 1, 2, 3, 4].map(() => new Receiver());
  const [slack, discord, teams, pagerduty, webhook] = receivers;
  const { config } = parseConfig({
    state_dir: dir,
    pcap_dir: `${dir}/pcaps`,
    alerts: {
      host_name: "edge-1",
      ...(reportBaseUrl === undefined ? {} : { report_base_url: reportBaseUrl }),
      slack: { webhook_url: `${slack.url}/s` },
      discord: { webhook_url: `${discord.url}/d` },
      teams: { webhook_url: `${teams.url}/t` },
      pagerduty: { routing_key: "KEY", events_url: `${pagerduty.url}/v2/enqueue` },
      webhook: { url: `${webhook.url}/w` },
    },
  });
  const db = openStateDb(`${dir}/ftagent-${reportBaseUrl === undefined ? 0 : 1}.db`);
  const reporting = new Reporting({ config, db, log, version: "test", sender: SENDER });
  const listeners = new Listeners();
  const alerts = new Alerts({
    config,
    outlet: reporting,
    log,
    interfaceName: "eth0",
    version: "t",
  });
  listeners.add({ name: "alerts", handle: (e) => alerts.handle(e) });
  try {
    listeners.emit(event);
    for (const r of receivers) await r.waitFor(1);
    return receivers.map((r) => r.received[0].json as any);
  } finally {
    await listeners.flush(2000);
    await reporting.stop();
    db.close();
    for (const r of receivers) await r.close();
  }
}

Deno.test("alerts link the incident report under alerts.report_base_url in Slack, Discord, Teams, PagerDuty and the webhook", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-alert-link-" });
  try {
    const event = await openEvent(dir);
    const url = `https://ops.example.net/ftagent/incidents/${event.id}/report`;
    const [slack, discord, teams, pagerduty, webhook] = await deliver(
      dir,
      event,
      "https://ops.example.net/ftagent/",
    );
    const button = slack.blocks.find((b: any) => b.type === "actions").elements[0];
    assertEquals([button.text.text, button.url], ["Incident report", url]);
    assertEquals(discord.embeds[0].url, url);
    const card = teams.attachments[0].content;
    assertEquals(card.actions, [{ type: "Action.OpenUrl", title: "Incident report", url }]);
    assertEquals(pagerduty.links, [{ href: url, text: "Incident report" }]);
    assertEquals(pagerduty.payload.custom_details.report, url);
    assertEquals(webhook.report_url, url);
    assert(JSON.stringify(slack).includes(`report: ${url}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("alerts name `ftagent incidents report <id>` when no report_base_url is configured", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fta-alert-link-" });
  try {
    const event = await openEvent(dir);
    const command = `ftagent incidents report ${event.id} --output ${event.id}.html`;
    const [slack, discord, teams, pagerduty, webhook] = await deliver(dir, event);
    assertEquals(slack.blocks.some((b: any) => b.type === "actions"), false);
    assert(JSON.stringify(slack.blocks).includes(`report: ${command}`));
    assertEquals(discord.embeds[0].url, undefined);
    assert(discord.embeds[0].fields.at(-1).value.endsWith(`report: ${command}`));
    assertEquals(teams.attachments[0].content.actions, undefined);
    assert(JSON.stringify(teams).includes(`report: ${command}`));
    assertEquals(pagerduty.links, undefined);
    assertEquals(pagerduty.payload.custom_details.report, command);
    assertEquals([webhook.report_url, webhook.report_command], [null, command]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the config refuses a report_base_url that is not an http(s) URL in one line", () => {
  let message = "";
  try {
    parseConfig({ alerts: { report_base_url: "ftp://ops.example.net" } });
  } catch (err) {
    message = (err as Error).message;
  }
  assertEquals(
    message,
    'config key "alerts.report_base_url": "ftp://ops.example.net" is invalid: an http(s) URL',
  );
  const { config } = parseConfig({ alerts: { report_base_url: "https://ops.example.net//" } });
  assertEquals(config.alerts.report_base_url, "https://ops.example.net");
});
