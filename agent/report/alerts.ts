/**
 * The agent's own alerts: each incident event formatted for every configured service
 * (`alerts` in the config) and queued in the outbox (channel `alert:<kind>`, key
 * `<incident id>:<event>`; updates add their time), drained by one sender per service.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { AlertsConfig, Config } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import {
  type AlertFacts,
  alertFacts,
  discordMessage,
  pagerDutyEvent,
  slackMessage,
  teamsMessage,
  webhookBody,
} from "../../core/report/mod.ts";
import type { Outbox } from "../state/mod.ts";
import { ALERT_KINDS, alertDeliver, type AlertKind } from "./alert_delivery.ts";
import type { Deliver } from "./sender.ts";

/** What alerts need from the reporting layer. */
export interface AlertOutlet {
  /** The outbox alerts are queued in. */
  readonly outbox: Outbox;
  /** Starts a sender for a channel. */
  addChannel(channel: string, deliver: Deliver): void;
}

/** What {@linkcode Alerts} needs. */
export interface AlertsOptions {
  /** The config (its `alerts`, `pcap_enabled` and `pcap_dir`). */
  config: Config;
  /** Where the alerts are queued and delivered from. */
  outlet: AlertOutlet;
  /** Says which services alerts go to. */
  log: Logger;
  /** The capture interface (or file), named in messages. */
  interfaceName: string;
  /** The agent's version (User-Agent). */
  version: string;
}

/** Formats and queues alerts for the configured services. */
export class Alerts {
  /** The channels of the configured services (`alert:<kind>`); empty when none is. */
  readonly channels: readonly string[];
  readonly #alerts: AlertsConfig;
  readonly #kinds: readonly AlertKind[];
  readonly #outbox: Outbox;
  readonly #host: string;
  readonly #interface: string;
  readonly #pcapDir: string | null;

  /** Starts a sender per configured service on the outlet. */
  constructor(opts: AlertsOptions) {
    const alerts = opts.config.alerts;
    this.#alerts = alerts;
    this.#kinds = ALERT_KINDS.filter((kind) => alerts[kind] !== undefined);
    this.#outbox = opts.outlet.outbox;
    this.#host = alerts.host_name !== "" ? alerts.host_name : Deno.hostname();
    this.#interface = opts.interfaceName;
    this.#pcapDir = opts.config.pcap_enabled ? opts.config.pcap_dir : null;
    this.channels = this.#kinds.map((kind) => `alert:${kind}`);
    for (const kind of this.#kinds) {
      opts.outlet.addChannel(
        `alert:${kind}`,
        alertDeliver(kind, alerts, { userAgent: `ftagent/${opts.version}` }),
      );
    }
    if (this.#kinds.length > 0) {
      opts.log.info("alerts to {kinds}", { kinds: this.#kinds.join(", ") });
    }
  }

  /** Queues `event` for each service whose `events` include its kind. */
  handle(event: IncidentEvent): void {
    const facts = alertFacts(event, {
      host: this.#host,
      interface: this.#interface,
      pcapPath: this.#pcapDir === null ? null : `${this.#pcapDir}/${event.id}.pcap`,
      reportBaseUrl: this.#alerts.report_base_url,
    });
    for (const kind of this.#kinds) {
      if (!this.#alerts[kind]!.events.includes(event.event)) continue;
      const key = event.event === "update"
        ? `${event.id}:update:${event.detected_at}`
        : `${event.id}:${event.event}`;
      const detected = Date.parse(String(event.detected_at));
      this.#outbox.enqueue({
        channel: `alert:${kind}`,
        kind: "alert",
        key,
        eventUs: (Number.isFinite(detected) ? detected : Date.now()) * 1000,
        body: this.#message(kind, facts, event),
      });
    }
  }

  #message(kind: AlertKind, facts: AlertFacts, event: IncidentEvent): Record<string, unknown> {
    switch (kind) {
      case "slack":
        return slackMessage(facts);
      case "discord":
        return discordMessage(facts);
      case "teams":
        return teamsMessage(facts);
      case "pagerduty":
        return pagerDutyEvent(facts, this.#alerts.pagerduty!.severity);
      case "webhook":
        return webhookBody(facts, event);
    }
  }
}
