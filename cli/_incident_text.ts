// `ftagent incidents show`: one stored incident in full, as text. Every event field is read
// defensively: a stored event from an older or newer agent prints what it has.
import type { StoredIncidentDetail } from "../agent/state/mod.ts";
import { formatBps, formatDuration, formatPps } from "../core/report/mod.ts";

/** The text of one incident: what, where, when, how big, the evidence and the capture. */
export function incidentDetail(incident: StoredIncidentDetail, pcapExists: boolean): string {
  const e: Record<string, unknown> = incident.event ?? {};
  const lines = [`incident ${incident.id} (${incident.state}, last event: ${incident.lastEvent})`];
  const add = (label: string, value: unknown) => {
    if (value === undefined || value === null || value === "") return;
    lines.push(`  ${(label + ":").padEnd(16)}${value}`);
  };
  add("attack", `${incident.family} / ${incident.subtype}`);
  add("confidence", e.confidence);
  add("target", incident.target);
  add("started", incident.startedAt);
  add("ended", incident.endedAt);
  add("duration", formatDuration(incident.duration));
  add("peak", `${formatPps(incident.peakPps)}, ${formatBps(incident.peakBps)}`);
  if (typeof e.baseline_pps === "number") {
    add("baseline", `${formatPps(e.baseline_pps)}, ${formatBps(Number(e.baseline_bps ?? 0))}`);
  }
  add("opened by", e.opened_by);
  add("packets", e.total_packets);
  add("sources", e.source_ip_count);
  add("spoofing", e.spoofing_detected);
  add("botnet", e.botnet_detected);
  add("protocols", shares(e.protocol_breakdown, "%"));
  add("top sources", talkers(e.top_src_ips, "ip"));
  add("top dst ports", talkers(e.top_dst_ports, "port"));
  add("tcp flags", shares(e.tcp_flag_breakdown, ""));
  const evidence = e.evidence;
  if (evidence !== null && typeof evidence === "object") {
    lines.push("  evidence:");
    for (const [key, value] of Object.entries(evidence)) {
      lines.push(
        `    ${(key + ":").padEnd(19)} ${
          typeof value === "string" ? value : JSON.stringify(value)
        }`,
      );
    }
  }
  if (incident.pcapPath !== null) {
    add("capture", `${incident.pcapPath}${pcapExists ? "" : " (not on disk)"}`);
  } else {
    add("capture", "none (PCAP off)");
  }
  if (incident.error !== null) add("note", incident.error);
  return lines.join("\n");
}

function shares(value: unknown, unit: string): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const parts = Object.entries(value).map(([k, v]) => `${k} ${v}${unit}`);
  return parts.length > 0 ? parts.join(", ") : undefined;
}

function talkers(value: unknown, key: string): string | undefined {
  if (Array.isArray(value)) {
    const parts = value.slice(0, 5).map((t) => `${t?.[key]} (${t?.count})`);
    return parts.length > 0 ? parts.join(", ") : undefined;
  }
  return shares(value, ""); // L7: {path: count}
}
