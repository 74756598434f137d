import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CORPUS, ftagent, spawnFtagent } from "../support/cli.ts";
import { promtool } from "../support/promtool.ts";
import { waitFor } from "../support/stream.ts";
import { agentScratch } from "../support/scratch.ts";

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("a running agent serves /metrics that promtool accepts, /health 200, and ftagent status; status fails in one line once it stopped", async () => {
  const port = freePort();
  const { dir, config } = await agentScratch("fta-obs-", { metrics_port: port });
  // At the recorded pace the SYN flood capture lasts about 25 s: the agent is mid-attack.
  const child = spawnFtagent([
    "--pcap",
    `${CORPUS}pkt.TCP.synflood.spoofed.pcap`,
    "--config",
    config,
  ]);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  try {
    stderr = await waitFor(reader, /incident open [0-9a-f-]{36}/);
    assertMatch(stderr, new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
    const base = `http://127.0.0.1:${port}`;

    // The incident opens within the first second; the first closed window comes just after.
    let text = "";
    for (let i = 0; i < 100 && !/^ftagent_packets_per_second [1-9]/m.test(text); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(`${base}/metrics`)).text();
    }
    assertEquals(await promtool(["check", "metrics"], text), { code: 0, output: "" });
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    assert(value("ftagent_capture_packets_total") > 0, text);
    assertEquals(value("ftagent_capture_running"), 1);
    assertEquals(value("ftagent_healthy"), 1);
    assertEquals(value("ftagent_incidents_open"), 1);
    assertMatch(text, /^ftagent_incidents_total\{family="syn_flood"\} 1$/m);
    assertMatch(text, /^ftagent_threshold\{rate="syn_pps"\} \d+/m);
    assertMatch(text, /^ftagent_protocol_packets_per_second\{protocol="tcp"\} [1-9]/m);
    assert(value("process_resident_memory_bytes") > 1e6, text);
    assertEquals(value("ftagent_outbox_depth"), 0);
    assertEquals(value("ftagent_api_errors_total"), 0);

    const health = await fetch(`${base}/health`);
    assertEquals([health.status, await health.text()], [200, "ok\n"]);

    const status = await ftagent(["status", "--config", config]);
    assertEquals(status.code, 0, status.stderr);
    assertMatch(
      status.stdout,
      /^ftagent \S+ on .*pkt\.TCP\.synflood\.spoofed\.pcap: healthy, up \d+s$/m,
    );
    assertMatch(status.stdout, /^traffic +\S+ k?pps, \S+ [kM]?bit\/s \(tcp /m);
    assertMatch(status.stdout, /^thresholds +pps \S+ k?pps, bps /m);
    assertMatch(status.stdout, /^incidents +1 open, 1 since start$/m);
    assertMatch(status.stdout, /^ {2}syn_flood\/syn_flood on 10\.10\.10\.10 since 2021-04-28 /m);
    assertMatch(status.stdout, /^outbox +0 waiting, dropped none, API errors 0$/m);
    const json = JSON.parse((await ftagent(["status", "--json", "--config", config])).stdout);
    assertEquals(json.incidents.open.length, 1);
    assert(json.capture.packets > 0);
  } finally {
    child.kill("SIGTERM");
    stderr = await waitFor(reader, /\bstopped: /, stderr);
    await reader.cancel();
    await child.status;
  }
  try {
    assertMatch(stderr, /\bstopped: \d+ packets/);
    const after = await ftagent(["status", "--config", config]);
    assertEquals(after.code, 1);
    assertEquals(
      after.stderr.trim(),
      `ftagent: error: no agent answering on http://127.0.0.1:${port}/status.json (connection refused): is ftagent running?`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the agent keeps running and says so in one line when its metrics port is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { dir, config } = await agentScratch("fta-obs-", {
    metrics_port: (taken.addr as Deno.NetAddr).port,
  });
  try {
    const out = await ftagent([
      "--pcap",
      `${CORPUS}pkt.TCP.synflood.spoofed.pcap`,
      "--fast",
      "--config",
      config,
    ]);
    assertEquals(out.code, 0, out.stderr);
    const lines = out.stderr.split("\n").filter((l) => /metrics endpoint/.test(l));
    assertEquals(lines.length, 1, out.stderr);
    assertMatch(
      lines[0],
      /metrics endpoint off: cannot listen on 127\.0\.0\.1:\d+: the port is in use/,
    );
    assertMatch(out.stderr, /incident resolve [0-9a-f-]{36}: syn_flood/);
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the config refuses metrics_port 9100 (node_exporter's)", async () => {
  const { dir, config } = await agentScratch("fta-obs-", { metrics_port: 9100 });
  try {
    const out = await ftagent(["status", "--config", config]);
    assertEquals(out.code, 1);
    assertMatch(
      out.stderr,
      /config key "metrics_port": 9100 is invalid: 9100 belongs to node_exporter/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
