// The incident report's sections built from the stored event (read defensively: an event from
// an older or newer agent shows what it has): the evidence, the distributions and the sources.
// Every string is escaped (svg_chart's escapeHtml): names and agents come from traffic.
import { barChart, type ChartBar, escapeHtml as esc } from "./svg_chart.ts";

type Event = Record<string, unknown>;

/** Order of the packet length buckets. */
const LENGTH_BUCKETS = ["0-64", "65-128", "129-256", "257-512", "513-1024", "1025-1500", "1500+"];

/** "Why this family": the classifier's sentence, its rule and the numbers it read. */
export function evidenceSection(e: Event, family: string): string {
  const ev = obj(e.evidence);
  if (ev === null) {
    return `<h2>Why ${esc(family)}</h2><p class="empty">No classification evidence was stored.</p>`;
  }
  const rows: [string, string][] = [];
  if (typeof ev.rule === "string") rows.push(["Deciding rule", ev.rule]);
  const add = (label: string, v: unknown, unit = "") => {
    if (typeof v === "number") rows.push([label, `${count(v)}${unit}`]);
  };
  add("Packets classified", ev.packets);
  add("Mean packet size", ev.mean_packet_bytes, " bytes");
  add("Packets per second", ev.pps);
  add("Bits per second", ev.bps);
  add("Distinct sources", ev.sources);
  if (typeof ev.src_ip_entropy === "number") {
    rows.push(["Source entropy", `${ev.src_ip_entropy} bits`]);
  }
  for (const key of ["top_src_port", "top_dst_port"]) {
    const p = obj(ev[key]);
    if (p !== null) {
      rows.push([
        key === "top_src_port" ? "Top source port" : "Top destination port",
        `${p.port} (${p.pct}% of packets)`,
      ]);
    }
  }
  if (typeof ev.ttl_top_pct === "number") {
    rows.push(["Packets on the top TTL values", `${ev.ttl_top_pct}%`]);
  }
  if (typeof ev.spoofing_reason === "string") rows.push(["Spoofing", ev.spoofing_reason]);
  if (typeof ev.botnet_reason === "string") rows.push(["Botnet", ev.botnet_reason]);
  const parts = Array.isArray(ev.parts) ? ev.parts : [];
  const summary = typeof ev.summary === "string" ? ev.summary : "";
  return `<h2>Why ${esc(family)}</h2>` +
    (summary === "" ? "" : `<p class="evidence" id="evidence">${esc(summary)}</p>`) +
    table(rows) +
    (parts.length > 1
      ? `<h3>Parts</h3><pre class="mono">${esc(JSON.stringify(parts, null, 1))}</pre>`
      : "");
}

/** Protocol and vector mix, TCP flags, packet sizes and TTLs. */
export function distributionSections(e: Event): string {
  const pct = (v: number) => `${Math.round(v * 10) / 10}%`;
  const protocols = entries(e.protocol_breakdown).filter(([, v]) => v > 0);
  const shares = entries(obj(e.evidence)?.shares).filter(([k, v]) =>
    !k.startsWith("bytes_") && v > 0
  );
  const flags = entries(e.tcp_flag_breakdown).filter(([, v]) => v > 0);
  const lengths = obj(e.pkt_length_histogram) ?? {};
  const sizes = LENGTH_BUCKETS.filter((k) => num(lengths[k]) > 0)
    .map((k): ChartBar => ({ label: `${k} bytes`, value: num(lengths[k]) }));
  const ttls = entries(e.ttl_distribution).sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([k, v]): ChartBar => ({ label: `TTL ${k}`, value: v }));
  return `<h2>Traffic mix</h2><div class="cols"><div><h3>Protocols (% of packets)</h3>` +
    barChart(bars(protocols), pct, "Protocols") +
    `</div><div><h3>Attack vectors (% of packets classified)</h3>` +
    barChart(bars(shares), pct, "Vectors") + `</div></div>` +
    (flags.length > 0
      ? `<h3>TCP flags (packets)</h3>${barChart(bars(flags), count, "TCP flags")}`
      : "") +
    `<div class="cols"><div><h3 id="packet-sizes">Packet sizes</h3>` +
    barChart(sizes, count, "Packet sizes") +
    `</div><div><h3 id="ttls">TTL / hop limit (top 12)</h3>${barChart(ttls, count, "TTLs")}` +
    `</div></div>`;
}

/** Source count and spoofing verdict, top sources, ports (or paths), DNS names, user agents. */
export function sourceSections(e: Event): string {
  const verdict = e.spoofing_detected === true
    ? "spoofed: the source addresses are most likely forged"
    : "not spoofed: the sources look real";
  const rows: [string, string][] = [
    ["Distinct sources", count(e.source_ip_count)],
    ["Spoofing verdict", verdict],
    ["Botnet", e.botnet_detected === true ? "yes" : "no"],
  ];
  if (typeof e.src_ip_entropy === "number") rows.push(["Source entropy", `${e.src_ip_entropy}`]);
  const spread = obj(e.spread);
  if (spread !== null) {
    rows.push([
      "Spread",
      `${spread.destinations} destinations in ${spread.prefix} (carpet bombing)`,
    ]);
  }
  const out = [`<h2>Sources</h2><div id="sources">${table(rows)}</div>`, topSources(e)];
  const ports = e.top_dst_ports;
  if (Array.isArray(ports)) {
    const list = ports.slice(0, 10).map((p): ChartBar => ({
      label: `port ${obj(p)?.port}`,
      value: num(obj(p)?.count),
    }));
    out.push(`<h3>Top destination ports</h3>${barChart(list, count, "Ports")}`);
  } else if (obj(ports) !== null) {
    out.push(`<h3>Top paths</h3>${barChart(bars(entries(ports)), count, "Paths")}`);
  }
  const dns = obj(e.dns_query_stats);
  const names = Array.isArray(dns?.top) ? dns.top as unknown[] : [];
  if (names.length > 0) {
    const list = names.slice(0, 10).map((n): ChartBar => ({
      label: String(Array.isArray(n) ? n[0] : n),
      value: num(Array.isArray(n) ? n[1] : 0),
    }));
    out.push(
      `<h3 id="dns-names">DNS names queried (${count(dns?.total)} queries, ` +
        `${count(dns?.unique)} distinct)</h3>${barChart(list, count, "DNS names")}`,
    );
  }
  const agents = entries(e.l7_top_user_agents);
  if (agents.length > 0) {
    out.push(
      `<h3 id="user-agents">User agents</h3>${barChart(bars(agents), count, "User agents")}`,
    );
  }
  const codes = entries(e.l7_status_codes);
  if (codes.length > 0) {
    out.push(`<h3>HTTP status codes</h3>${barChart(bars(codes), count, "Status codes")}`);
  }
  return out.join("");
}

function topSources(e: Event): string {
  const list = Array.isArray(e.top_src_ips) ? e.top_src_ips.slice(0, 15) : [];
  if (list.length === 0) return `<p class="empty">No per-source statistics were kept.</p>`;
  const rows = list.map((s) => {
    const o = obj(s) ?? {};
    return `<tr><td class="mono">${esc(String(o.ip ?? "?"))}</td>` +
      `<td class="num">${count(o.count)}</td>` +
      `<td class="num">${typeof o.pct === "number" ? `${o.pct}%` : ""}</td>` +
      `<td class="num">${typeof o.confidence === "number" ? `${o.confidence}%` : ""}</td></tr>`;
  });
  return `<h3>Top sources</h3><table id="top-sources"><thead><tr><th>Address</th>` +
    `<th class="num">Packets</th><th class="num">Share</th><th class="num">Attack confidence` +
    `</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function bars(list: [string, number][]): ChartBar[] {
  return list.sort((a, b) => b[1] - a[1]).slice(0, 12).map(([label, value]) => ({
    label,
    value,
  }));
}

/** The numeric entries of an object (others dropped). */
function entries(v: unknown): [string, number][] {
  const o = obj(v);
  if (o === null) return [];
  return Object.entries(o).filter((kv): kv is [string, number] =>
    typeof kv[1] === "number" && Number.isFinite(kv[1])
  );
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : null;
}

/** A two-column table; the values of `mono` rows in a fixed-width font. */
export function table(rows: readonly [string, string][], mono = new Set<string>()): string {
  return `<table>${
    rows.map(([k, v]) =>
      `<tr><th>${esc(k)}</th><td${mono.has(k) ? ' class="mono"' : ""}>${esc(v)}</td></tr>`
    ).join("")
  }</table>`;
}

/** `2026-11-22T05:00:01.123456+00:00` -> `2026-11-22 05:00:01 UTC` (as is when unreadable). */
export function utc(time: string): string {
  const t = Date.parse(time);
  return Number.isFinite(t)
    ? `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC`
    : time;
}

/** `v` as a finite number (0 otherwise). */
export function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** An integer with thousands separators. */
export function count(n: unknown): string {
  return Math.round(num(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
