/**
 * Alert messages from incident events, in the JSON each service expects: Slack (`text` and
 * blocks), Discord (`content` and an embed), Microsoft Teams (an Adaptive Card message),
 * PagerDuty Events API v2 and a generic JSON webhook. Every message says what (family and
 * subtype), where (host, interface, target), how big (peak rates), since when, and where the
 * evidence is (the classification sentence, the capture file, `ftagent incidents show <id>`) and
 * where its report is: a link under `alerts.report_base_url`, or the command that writes it.
 *
 * @module
 */

import { formatBps, formatDuration, formatPps } from "./human_units.ts";
import type { IncidentEvent, IncidentEventKind } from "../detect/mod.ts";

/** Where an alert comes from. */
export interface AlertContext {
  /** Host name shown in messages. */
  host: string;
  /** Capture interface (or file) the agent watches. */
  interface: string;
  /** The incident's capture file, or null (PCAP off). */
  pcapPath: string | null;
  /** Public URL the reports are served under ("" or absent: none, name the command). */
  reportBaseUrl?: string;
}

/** The facts every format is built from. */
export interface AlertFacts {
  /** Which incident event: open, update or resolve. */
  event: IncidentEventKind;
  /** The incident's id. */
  id: string;
  /** One line: the event, the attack and the target. */
  title: string;
  /** Label and value pairs, in order: what, where, peak, since, (duration). */
  facts: { name: string; value: string }[];
  /** The classifier's sentence ("" when none). */
  evidence: string;
  /** The incident's capture file, or null (PCAP off). */
  pcapPath: string | null;
  /** The command that prints the incident in full. */
  showCommand: string;
  /** The incident report's URL (`<report_base_url>/incidents/<id>/report`), or null. */
  reportUrl: string | null;
  /** The command that writes the incident report. */
  reportCommand: string;
  /** ISO-8601 time of the event. */
  time: string;
}

/** The facts of an incident event. */
export function alertFacts(event: IncidentEvent, ctx: AlertContext): AlertFacts {
  const family = str(event.attack_family, "unknown");
  const subtype = str(event.attack_subtype, "unknown");
  const what = subtype === family ? family : `${family} / ${subtype}`;
  const target = str(event.target, "interface");
  const outbound = event.direction === "outbound";
  const where = target === "interface"
    ? `all of ${ctx.interface}`
    : outbound
    ? "others, sent by this host"
    : target;
  const verb = event.event === "open" ? "started" : event.event === "resolve" ? "ended" : "ongoing";
  const duration = num(event.duration_seconds ?? event.duration);
  const facts = [
    { name: "What", value: `${what} (confidence ${num(event.confidence)}%)` },
    { name: "Where", value: `${where} on ${ctx.host} (${ctx.interface})` },
    {
      name: "Peak",
      value: `${formatPps(num(event.peak_pps))}, ${formatBps(num(event.peak_bps))}` +
        (typeof event.baseline_pps === "number"
          ? ` (baseline ${formatPps(event.baseline_pps)})`
          : ""),
    },
    { name: "Since", value: utc(str(event.started_at, "?")) },
  ];
  if (event.event === "resolve") {
    facts.push({
      name: "Ended",
      value: `${utc(str(event.ended_at, "?"))}, lasted ${formatDuration(duration)}`,
    });
  } else {
    facts.push({ name: "Duration", value: `${formatDuration(duration)} so far` });
  }
  const summary = (event.evidence as { summary?: unknown } | null | undefined)?.summary;
  return {
    event: event.event,
    id: event.id,
    title: outbound
      ? `Outbound flood ${verb} from ${ctx.host} (compromised?): ${what} against others`
      : `DDoS attack ${verb} on ${ctx.host}: ${what} against ${where}`,
    facts,
    evidence: typeof summary === "string" ? summary : "",
    pcapPath: ctx.pcapPath,
    showCommand: `ftagent incidents show ${event.id}`,
    reportUrl: ctx.reportBaseUrl
      ? `${ctx.reportBaseUrl.replace(/\/+$/, "")}/incidents/${encodeURIComponent(event.id)}/report`
      : null,
    reportCommand: `ftagent incidents report ${event.id} --output ${event.id}.html`,
    time: iso(str(event.detected_at, "")) ?? iso(str(event.started_at, "")) ?? "",
  };
}

/** Slack incoming webhook: `text` (notifications, fallback) and Block Kit blocks. */
export function slackMessage(f: AlertFacts): Record<string, unknown> {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: cut(f.title, 150) } },
    {
      type: "section",
      fields: f.facts.map((x) => ({
        type: "mrkdwn",
        text: cut(`*${x.name}*\n${esc(x.value)}`, 2000),
      })),
    },
  ];
  if (f.evidence !== "") {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: cut(`*Evidence*\n${esc(f.evidence)}`, 3000) },
    });
  }
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: cut(esc(evidenceLine(f)), 3000) }],
  });
  if (f.reportUrl !== null && f.reportUrl.length <= 3000) {
    blocks.push({
      type: "actions",
      elements: [{
        type: "button",
        text: { type: "plain_text", text: "Incident report" },
        url: f.reportUrl,
      }],
    });
  }
  return { text: cut(`${f.title}. ${f.evidence}`.trim(), 3000), blocks };
}

/** Discord webhook: `content` and one embed (mentions off). */
export function discordMessage(f: AlertFacts): Record<string, unknown> {
  const color = f.event === "open" ? 0xd32f2f : f.event === "update" ? 0xf57c00 : 0x388e3c;
  return {
    content: cut(f.title, 2000),
    embeds: [{
      title: cut(f.title, 256),
      ...(f.reportUrl === null ? {} : { url: f.reportUrl }),
      description: cut(f.evidence || "(no classification evidence)", 4096),
      color,
      fields: [
        ...f.facts.map((x) => ({ name: x.name, value: cut(x.value, 1024), inline: true })),
        { name: "Evidence", value: cut(evidenceLine(f), 1024), inline: false },
      ],
      ...(f.time === "" ? {} : { timestamp: f.time }),
      footer: { text: `ftagent incident ${f.id}` },
    }],
    allowed_mentions: { parse: [] },
  };
}

/** Microsoft Teams (Workflows or incoming webhook): a message with one Adaptive Card. */
export function teamsMessage(f: AlertFacts): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    {
      type: "TextBlock",
      size: "Large",
      weight: "Bolder",
      wrap: true,
      color: f.event === "resolve" ? "Good" : "Attention",
      text: f.title,
    },
    { type: "FactSet", facts: f.facts.map((x) => ({ title: x.name, value: x.value })) },
  ];
  if (f.evidence !== "") body.push({ type: "TextBlock", wrap: true, text: f.evidence });
  body.push({ type: "TextBlock", wrap: true, isSubtle: true, text: evidenceLine(f) });
  return {
    type: "message",
    attachments: [{
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
      content: {
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        type: "AdaptiveCard",
        version: "1.4",
        body,
        ...(f.reportUrl === null
          ? {}
          : { actions: [{ type: "Action.OpenUrl", title: "Incident report", url: f.reportUrl }] }),
      },
    }],
  };
}

/**
 * PagerDuty Events API v2 event without its `routing_key` (added at delivery, so the key stays
 * out of the outbox): trigger on open and update, resolve on resolve, dedup key = incident id.
 */
export function pagerDutyEvent(f: AlertFacts, severity: string): Record<string, unknown> {
  if (f.event === "resolve") return { event_action: "resolve", dedup_key: f.id };
  const fact = (name: string) => f.facts.find((x) => x.name === name)?.value ?? "";
  return {
    event_action: "trigger",
    dedup_key: f.id,
    payload: {
      summary: cut(`${f.title}. ${f.evidence}`.trim(), 1024),
      source: fact("Where"),
      severity,
      ...(f.time === "" ? {} : { timestamp: f.time }),
      component: fact("Where").split(" on ")[0],
      class: fact("What").replace(/ \(confidence.*$/, ""),
      custom_details: {
        ...Object.fromEntries(f.facts.map((x) => [x.name.toLowerCase(), x.value])),
        evidence: f.evidence,
        pcap: f.pcapPath,
        details: f.showCommand,
        report: f.reportUrl ?? f.reportCommand,
      },
    },
    ...(f.reportUrl === null ? {} : { links: [{ href: f.reportUrl, text: "Incident report" }] }),
    client: "ftagent",
  };
}

/** The generic JSON webhook: the message and the whole incident event. */
export function webhookBody(f: AlertFacts, event: IncidentEvent): Record<string, unknown> {
  return {
    type: "ftagent.alert",
    version: 1,
    event: f.event,
    incident_id: f.id,
    title: f.title,
    facts: f.facts,
    evidence: f.evidence,
    pcap_path: f.pcapPath,
    show_command: f.showCommand,
    report_url: f.reportUrl,
    report_command: f.reportCommand,
    incident: event,
  };
}

function evidenceLine(f: AlertFacts): string {
  const capture = f.pcapPath === null ? "no capture (PCAP off)" : `capture ${f.pcapPath}`;
  const report = f.reportUrl ?? f.reportCommand;
  return `Incident ${f.id}: ${capture}; details: ${f.showCommand}; report: ${report}`;
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + "…";
}

function str(v: unknown, fallback: string): string {
  return typeof v === "string" && v !== "" ? v : fallback;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** `2026-11-22T05:00:01.123456+00:00` -> `2026-11-22 05:00:01 UTC` (as is when unreadable). */
function utc(time: string): string {
  const t = iso(time);
  return t === null ? time : `${t.slice(0, 19).replace("T", " ")} UTC`;
}

function iso(time: string): string | null {
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
