// The agent's own alerts: a listener that formats each incident event for every configured
// service (`alerts` in the config) and queues it in the outbox (channel "alert:<kind>", key
// "<incident id>:<event>"; updates add their time), and one sender per service.
import type { Logger } from "@logtape/logtape";
import type { AlertsConfig, Config } from "../core/config/mod.ts";
import {
  type AlertFacts,
  alertFacts,
  discordMessage,
  pagerDutyEvent,
  slackMessage,
  teamsMessage,
  webhookBody,
} from "../core/report/mod.ts";
import type { IncidentEvent } from "../core/detect/mod.ts";
import { ALERT_KINDS, alertDeliver, type AlertKind, type Deliver } from "../agent/report/mod.ts";
import type { Listeners } from "../agent/listeners.ts";
import type { Outbox } from "../agent/state/mod.ts";

/** What alerts need from the reporting layer. */
export interface AlertOutlet {
  readonly outbox: Outbox;
  addChannel(channel: string, deliver: Deliver): void;
}

/** Starts a sender per configured service and queues alerts from `listeners`; returns the channels. */
export function startAlerts(opts: {
  config: Config;
  listeners: Listeners;
  reporting: AlertOutlet;
  log: Logger;
  /** The capture interface (or file), named in messages. */
  interfaceName: string;
  version: string;
}): string[] {
  const alerts = opts.config.alerts;
  const kinds = ALERT_KINDS.filter((kind) => alerts[kind] !== undefined);
  if (kinds.length === 0) return [];
  const host = alerts.host_name !== "" ? alerts.host_name : Deno.hostname();
  const pcapDir = opts.config.pcap_enabled ? opts.config.pcap_dir : null;
  for (const kind of kinds) {
    opts.reporting.addChannel(
      `alert:${kind}`,
      alertDeliver(kind, alerts, { userAgent: `ftagent/${opts.version}` }),
    );
  }
  opts.listeners.add({
    name: "alerts",
    handle: (event) => {
      const facts = alertFacts(event, {
        host,
        interface: opts.interfaceName,
        pcapPath: pcapDir === null ? null : `${pcapDir}/${event.id}.pcap`,
      });
      for (const kind of kinds) {
        if (!alerts[kind]!.events.includes(event.event)) continue;
        const key = event.event === "update"
          ? `${event.id}:update:${event.detected_at}`
          : `${event.id}:${event.event}`;
        const detected = Date.parse(String(event.detected_at));
        opts.reporting.outbox.enqueue({
          channel: `alert:${kind}`,
          kind: "alert",
          key,
          eventUs: (Number.isFinite(detected) ? detected : Date.now()) * 1000,
          body: alertMessage(kind, alerts, facts, event),
        });
      }
    },
  });
  opts.log.info("alerts to {kinds}", { kinds: kinds.join(", ") });
  return kinds.map((kind) => `alert:${kind}`);
}

function alertMessage(
  kind: AlertKind,
  alerts: AlertsConfig,
  facts: AlertFacts,
  event: IncidentEvent,
): Record<string, unknown> {
  switch (kind) {
    case "slack":
      return slackMessage(facts);
    case "discord":
      return discordMessage(facts);
    case "teams":
      return teamsMessage(facts);
    case "pagerduty":
      return pagerDutyEvent(facts, alerts.pagerduty!.severity);
    case "webhook":
      return webhookBody(facts, event);
  }
}
