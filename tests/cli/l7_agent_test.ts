// The whole agent (`ftagent --config ... --pcap ...`) with `l7_enabled`: a log written while it
// runs, normal lines then a flood with current timestamps; the agent logs the L7 incident and
// keeps it in its local store like any incident. The file names one log, the control plane's
// config another: L7 moves to the server's.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { PcapBuilder } from "../../core/packet/mod.ts";
import { arp, eth, EtherType } from "../support/frames.ts";
import { LogGenerator } from "../support/access_logs.ts";
import { CLI, ftagent, jsonLines } from "../support/cli.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { specEndpoints } from "../support/flowtriq_spec.ts";

Deno.test("the agent follows an access log and reports an L7 flood to its log, store and API", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ftl7-agent-" });
  const api = new FlowtriqServer();
  api.up();
  try {
    const log = `${dir}/access.log`;
    const fileLog = `${dir}/old.log`;
    await Deno.writeTextFile(log, "");
    await Deno.writeTextFile(fileLog, "");
    api.config = { l7: { enabled: true, action: "auto_detect", log_path: log } };
    // A quiet capture lasting 14 s at its recorded pace keeps the agent running.
    const t0 = Date.now() * 1000;
    const frame = eth(EtherType.ARP, arp());
    await Deno.writeFile(
      `${dir}/quiet.pcap`,
      new PcapBuilder(1).add(frame, t0).add(frame, t0 + 14e6).bytes(),
    );
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        l7_enabled: true,
        l7_log_paths: [fileLog],
        // The server's log_path must lie in a web server's log folder; here the test folder.
        l7_remote_log_dirs: [dir],
        log_file: "",
        state_dir: `${dir}/state`,
        pcap_enabled: false,
        metrics_port: 0,
        api_key: api.apiKey,
        node_uuid: api.nodeUuid,
        api_base: api.base,
        heartbeat_interval: 2,
      }),
    );
    await Deno.mkdir(`${dir}/state`);
    const agent = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", CLI, "--config", config, "--pcap", `${dir}/quiet.pcap`],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const g = new LogGenerator(21);
    const f = await Deno.open(log, { append: true });
    const enc = new TextEncoder();
    try {
      await new Promise((r) => setTimeout(r, 1500)); // the tailer starts at the end
      for (let i = 0; i < 36; i++) {
        const sec = Math.floor(Date.now() / 1000);
        const lines = g.second(sec, "normal", 8);
        if (i >= 12) lines.push(...g.second(sec, "cache_bypass", 120));
        await f.write(enc.encode(lines.join("\n") + "\n"));
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      f.close();
    }
    const out = await agent.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr.slice(-2000));
    assertMatch(stderr, /L7 detection on .*old\.log/);
    assertMatch(stderr, /L7 detection stops: l7_log_paths changed, restarting/);
    assertMatch(stderr, /L7 detection on .*access\.log/);
    // L7 lines give request rates, not the packet rates (always 0) of L3/L4 lines.
    assertMatch(
      stderr,
      /incident open [0-9a-f-]+: http_flood\/cache_bypass on \S+, [1-9][\d.]* rps \(peak [1-9][\d.]*, baseline [\d.]+\), confidence/,
    );
    assert(!/http_flood.* pps /.test(stderr), stderr.slice(-2000));
    assertMatch(stderr, /incident resolve [0-9a-f-]+: http_flood\/cache_bypass/);
    const list = await ftagent(["incidents", "--config", config, "--json"]);
    assertEquals(list.code, 0, list.stderr);
    const stored = jsonLines(list.stdout);
    assertEquals(stored.length, 1);
    assert(JSON.stringify(stored[0]).includes("http_flood"), list.stdout);
    // The control plane heard of the web server, the L7 metrics and the incident.
    const detect = api.accepted(/^\/agent\/l7\/detect$/);
    assertEquals(
      detect.map((r) => (r.body as Record<string, unknown>).active_log_path),
      [fileLog, log],
    );
    const metrics = api.accepted(/^\/agent\/l7\/metrics$/);
    assert(metrics.length >= 1, JSON.stringify(api.requests.map((r) => r.path)));
    assert(((metrics[0].body as Record<string, number>).total_requests ?? 0) > 0);
    // Both bodies have exactly the keys of the spec's rows.
    const spec = specEndpoints();
    for (
      const [path, rec] of [["/agent/l7/detect", detect[0]], [
        "/agent/l7/metrics",
        metrics[0],
      ]] as const
    ) {
      const keys = spec.find((e) => e.path === path)!.l7;
      assertEquals(
        Object.keys(rec.body as object).sort(),
        [...keys.required, ...keys.optional].sort(),
      );
    }
    const created = api.accepted(/^\/agent\/incidents$/);
    assertEquals(created.length, 1);
    const body = created[0].body as Record<string, unknown>;
    assertEquals([body.attack_family, body.attack_subtype, body.peak_pps], [
      "http_flood",
      "cache_bypass",
      0,
    ]);
    assert((body.rps as number) > 100, JSON.stringify(body));
    assertEquals(api.accepted(/^\/agent\/incidents\/[^/]+\/resolve$/).length, 1);
    // Heartbeats say what L7 does (the first one leaves before L7 starts).
    const beats = api.accepted(/^\/agent\/heartbeat$/).map((r) =>
      r.body as Record<string, unknown>
    );
    assert(beats.some((b) => b.l7_enabled === true && b.l7_status === `tailing ${log}`));
  } finally {
    await api.down();
    await Deno.remove(dir, { recursive: true });
  }
});
