// `ftagent incidents report` and the listener's `/incidents/<id>/report`: the real agent on a
// real capture, the page rendered in a real headless Chromium (Debian `chromium`).
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CORPUS, ftagent, spawnFtagent } from "../support/cli.ts";
import { renderPage } from "../support/chromium_page.ts";
import { eth, EtherType, ipv4, udp } from "../support/frames.ts";
import { Receiver } from "../support/receiver.ts";
import { agentScratch } from "../support/scratch.ts";
import { writeSplice } from "../support/splice.ts";
import { waitFor } from "../support/stream.ts";

const DOCS = new URL("../../docs/", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the running agent serves an incident's report at /incidents/<id>/report and its alert links there; `ftagent incidents report` writes the page Chromium renders with the rate curve, family, target and PCAP hash", async () => {
  const port = freePort();
  const webhook = new Receiver();
  const { dir, config } = await agentScratch("fta-report-", {
    metrics_port: port,
    alerts: {
      host_name: "edge-1",
      report_base_url: `http://127.0.0.1:${port}/`,
      webhook: { url: `${webhook.url}/hook` },
    },
  });
  // At the recorded pace the SYN flood capture lasts about 24 s: the agent is mid-attack.
  const child = spawnFtagent([
    "--pcap",
    `${CORPUS}pkt.TCP.synflood.spoofed.pcap`,
    "--config",
    config,
  ]);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let id = "";
  try {
    stderr = await waitFor(reader, /incident open [0-9a-f-]{36}/);
    id = /incident open ([0-9a-f-]{36})/.exec(stderr)?.[1] ?? "";
    assert(id !== "", stderr);
    await webhook.waitFor(1);
    const alert = webhook.received[0].json as Record<string, unknown>;
    assertEquals(alert.report_url, `http://127.0.0.1:${port}/incidents/${id}/report`);
    assertEquals(alert.report_command, `ftagent incidents report ${id} --output ${id}.html`);
    // The alert's link, followed while the incident is open (its row may still be queued).
    let live = await fetch(String(alert.report_url));
    for (let i = 0; i < 50 && live.status === 404; i++) {
      await live.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
      live = await fetch(String(alert.report_url));
    }
    const page = await live.text();
    assertEquals(live.status, 200, page);
    assertEquals(live.headers.get("content-type"), "text/html; charset=utf-8");
    assertMatch(live.headers.get("content-security-policy") ?? "", /^default-src 'none';/);
    assertMatch(page, new RegExp(`Incident <code>${id}</code>, <span class="state-open">open`));
    const missing = await fetch(`http://127.0.0.1:${port}/incidents/ffffffff-0000/report`);
    assertEquals([missing.status, await missing.text()], [404, "no incident ffffffff-0000\n"]);
    stderr = await waitFor(reader, /\bstopped: /, stderr, 90_000);
    assertEquals((await child.status).code, 0, stderr.slice(-2000));
  } finally {
    await reader.cancel().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await webhook.close();
  }
  try {
    const file = `${dir}/report.html`;
    const made = await ftagent([
      "incidents",
      "report",
      id.slice(0, 8),
      "--output",
      file,
      "--config",
      config,
    ]);
    assertEquals(made.code, 0, made.stderr);
    assertEquals(made.stdout, `wrote the report of incident ${id} to ${file}\n`);
    const html = await Deno.readTextFile(file);
    const pcap = `${dir}/pcaps/${id}.pcap`;
    const hash = await sha256(pcap);
    assert(html.includes(hash), "the page names the capture's SHA-256");
    assert(!/<script|<link|<img|src=|href=|@import|url\(/i.test(html), "self-contained, no script");
    const stdout = await ftagent(["incidents", "report", id, "--config", config]);
    assertEquals(stdout.code, 0, stdout.stderr);
    assertMatch(stdout.stdout, /^<!DOCTYPE html>\n/);
    assert(stdout.stdout.includes(hash));

    const shot = `${dir}/report.png`;
    const { dom } = await renderPage(file, { screenshot: shot });
    assertMatch(dom, /<h1>DDoS incident report: syn_flood against 10\.10\.10\.10 on edge-1<\/h1>/);
    assertMatch(dom, /<span class="state-resolved">resolved<\/span>/);
    const points = Number(/<polyline class="series" data-points="(\d+)"/.exec(dom)?.[1]);
    assert(points >= 3, `rate curve with ${points} points`);
    assertMatch(dom, /data-level="threshold" data-value="\d+"/);
    assertMatch(dom, /<p class="evidence" id="evidence">\d+% TCP SYN/);
    assertMatch(dom, /<th>Spoofing verdict<\/th><td>spoofed: /);
    assertMatch(dom, /<rect class="bar" data-value="\d+"/); // protocol, sizes, TTL bars
    assertMatch(dom, /<table id="top-sources">.*<td class="mono">\d+\.\d+\.\d+\.\d+<\/td>/s);
    assertMatch(dom, new RegExp(`<th>File</th><td>${id}\\.pcap</td>`));
    assertMatch(dom, new RegExp(`<th>SHA-256</th><td class="mono">${hash}</td>`));
    assertMatch(dom, /<table id="mitigation">.*<td>dry_run<\/td>/s);
    if (Deno.env.get("FTAGENT_DOCS_SCREENSHOTS") === "1") {
      await Deno.mkdir(DOCS, { recursive: true });
      await Deno.copyFile(shot, `${DOCS}report.png`);
    }

    const none = await ftagent(["incidents", "report", "ffffffff", "--config", config]);
    assertEquals([none.code, none.stderr.trim()], [1, "ftagent: error: no incident ffffffff"]);
    const noId = await ftagent(["incidents", "report", "--config", config]);
    assertEquals(noId.code, 2, noId.stderr);
    const badDir = await ftagent([
      "incidents",
      "report",
      id,
      "--output",
      `${dir}/no/such/dir/r.html`,
      "--config",
      config,
    ]);
    assertEquals(badDir.code, 1);
    assertEquals(
      badDir.stderr.trim(),
      `ftagent: error: cannot write ${dir}/no/such/dir/r.html: ${dir}/no/such/dir does not exist`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A DNS query for `name` (A, IN). */
function dnsQuery(name: string, id: number): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  return new Uint8Array([
    id >> 8,
    id & 0xff,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    ...labels,
    0,
    0,
    1,
    0,
    1,
  ]);
}

Deno.test("a DNS name carrying <script> from the wire shows in the report as text, never as markup, in Chromium's DOM", async () => {
  const { dir, config } = await agentScratch("fta-report-xss-");
  try {
    const evil = "<script>alert(1)</script>.evil.example";
    const frames = Array.from({ length: 64 }, (_, i) =>
      eth(
        EtherType.IPV4,
        ipv4(17, udp(10000 + i, 53, dnsQuery(i % 2 === 0 ? evil : `q${i}.evil.example`, i)), {
          src: `198.18.1.${i + 1}`,
          dst: "198.18.0.53",
        }),
      ));
    const capture = `${dir}/dns.pcap`;
    await writeSplice(capture, [{ frames, fromS: 0, toS: 8, pps: 8000 }]);
    const run = await ftagent(["--pcap", capture, "--fast", "--config", config]);
    assertEquals(run.code, 0, run.stderr);
    const id = /incident open ([0-9a-f-]{36})/.exec(run.stderr)?.[1];
    assert(id !== undefined, run.stderr);
    const file = `${dir}/report.html`;
    const made = await ftagent(["incidents", "report", id, "--output", file, "--config", config]);
    assertEquals(made.code, 0, made.stderr);
    const html = await Deno.readTextFile(file);
    assert(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;.evil.example"), html);
    assert(!html.includes("<script"), "no script element");
    const { dom } = await renderPage(file);
    // The serialized DOM escapes text again: the name is a text node, and no element is a script.
    assert(dom.includes("&lt;script&gt;alert(1)&lt;/script&gt;.evil.example"), dom);
    assert(!/<script/i.test(dom), "Chromium's DOM holds no script element");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
