import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { incidentReportHtml, type ReportIncident } from "../../../core/report/mod.ts";

const BASE: ReportIncident = {
  id: "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
  family: "http_flood",
  subtype: "l7_flood",
  target: "interface",
  startedAt: "2026-12-01T10:00:00.000000+00:00",
  endedAt: "2026-12-01T10:02:00.000000+00:00",
  peakPps: 0,
  peakBps: 0,
  duration: 120,
  state: "resolved",
  event: null,
};

function report(incident: ReportIncident): string {
  return incidentReportHtml({
    incident,
    actions: [],
    capture: null,
    host: "edge-1",
    version: "test",
    generatedMs: Date.UTC(2026, 11, 1, 11),
  });
}

Deno.test("incidentReportHtml() escapes user agents, paths and DNS names from traffic, so no attacker markup reaches the page", () => {
  const html = report({
    ...BASE,
    target: `10.0.0.1"><img src=x onerror=alert(0)>`,
    event: {
      peak_rps: 900,
      baseline_rps: 20,
      trigger: { metric: "rps", rate: 900, threshold: 100 },
      velocity_curve: [{ t: 1764583200, rps: 50 }, { t: 1764583201, rps: 900 }],
      top_dst_ports: { "/search?q=<svg onload=alert(1)>": 500 },
      l7_top_user_agents: { "<script>alert(2)</script>": 800, "Mozilla/5.0 'quoted'": 3 },
      dns_query_stats: { total: 10, unique: 1, top: [["<script>alert(3)</script>.example", 10]] },
      evidence: { summary: "requests from <b>50</b> clients & more", rule: "rate > x" },
    },
  });
  for (const needle of ["<script", "<img", "<svg onload", "<b>"]) {
    assert(!html.includes(needle), `${needle} must be escaped`);
  }
  assert(html.includes("&lt;script&gt;alert(2)&lt;/script&gt;"));
  assert(html.includes("&lt;script&gt;alert(3)&lt;/script&gt;.example"));
  assert(html.includes("/search?q=&lt;svg onload=alert(1)&gt;"));
  assert(html.includes("10.0.0.1&quot;&gt;&lt;img src=x onerror=alert(0)&gt;"));
  assert(html.includes("requests from &lt;b&gt;50&lt;/b&gt; clients &amp; more"));
  assert(html.includes("Mozilla/5.0 &#39;quoted&#39;"));
  // No script may run and nothing is fetched: the only URL is the SVG namespace.
  assertMatch(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  const urls = [...html.matchAll(/https?:\/\/[^"' <]+/g)].map((m) => m[0]);
  assertEquals(new Set(urls), new Set(["http://www.w3.org/2000/svg"]));
});

Deno.test("incidentReportHtml() draws the rate curve with its baseline and threshold lines", () => {
  const html = report({
    ...BASE,
    family: "udp_flood",
    subtype: "udp_flood",
    peakPps: 9000,
    peakBps: 7.2e7,
    event: {
      baseline_pps: 300,
      baseline_bps: 2e6,
      thresholds: { pps: 2000 },
      velocity_curve: [0, 1, 2, 3].map((i) => ({ t: 1764583200 + i, pps: 1000 + i * 2500 })),
      protocol_breakdown: { udp: 99.5, tcp: 0.5, icmp: 0, other: 0 },
      pkt_length_histogram: { "0-64": 10, "513-1024": 5000 },
      ttl_distribution: { "57": 4000, "120": 10 },
      top_src_ips: [{ ip: "198.18.0.7", count: 4000, pct: 80, confidence: 91 }],
      spoofing_detected: false,
      source_ip_count: 3,
    },
  });
  assertMatch(html, /<polyline class="series" data-points="4" points="[\d. ,]+"\/>/);
  assertMatch(html, /data-level="baseline" data-value="300"/);
  assertMatch(html, /data-level="threshold" data-value="2000"/);
  assertMatch(html, /<rect class="bar" data-value="5000"/);
  assertMatch(html, /TTL 57/);
  assertMatch(html, /not spoofed: the sources look real/);
  assertMatch(html, /None: PCAP evidence was off\./);
  assertMatch(html, /No mitigation action was recorded/);
});

Deno.test("incidentReportHtml() reports an incident whose event could not be read with what the store has", () => {
  const html = report({ ...BASE, family: "syn_flood", subtype: "syn_flood", event: null });
  assertMatch(
    html,
    /<h1>DDoS incident report: syn_flood against the whole interface on edge-1<\/h1>/,
  );
  assertMatch(html, /No classification evidence was stored\./);
  assertMatch(html, />no data<\/text>/);
});
