import { assert, assertEquals } from "../support/assert.ts";
import { CLI, jsonLines } from "../support/cli.ts";
import { createNetnsPair, hasCommand, netnsAvailable } from "../support/netns.ts";

const netnsReason = await netnsAvailable();
const noHping = !(await hasCommand("hping3"));
if (netnsReason) console.warn(`capture_test: ${netnsReason}; ignored`);

Deno.test({
  name:
    "ftagent capture prints live windows and an incident for a bounded flood, and saves its baseline",
  ignore: netnsReason !== null || noHping,
  async fn() {
    const pair = await createNetnsPair();
    const stateDir = await Deno.makeTempDir({ prefix: "fta-state-" });
    let agent: Deno.ChildProcess | null = null;
    let stderr: ReadableStreamDefaultReader<string> | null = null;
    try {
      // Floors under the 5000-pps test flood; state (the baseline) in a scratch directory.
      const config = `${stateDir}/config.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          state_dir: stateDir,
          min_pps_threshold: 1000,
          min_udp_pps_threshold: 1000,
        }),
      );
      agent = pair.spawn(pair.b, [
        Deno.execPath(),
        "run",
        "--allow-all",
        CLI,
        "capture",
        "--interface",
        pair.ifB,
        "--filter",
        `udp dst port 5353 and dst host ${pair.addrB}`,
        "--duration",
        "4",
        "--config",
        config,
        "--json",
      ]);
      agent.stdin.close();
      stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let log = "";
      while (!log.includes("capturing on")) {
        const { value, done } = await stderr.read();
        if (done) throw new Error(`capture did not start: ${log}`);
        log += value;
      }
      // Bounded: 3000 packets, at most 10 s, only to the test namespace's 198.18.x.2.
      const count = 3000;
      const flood = await pair.exec(pair.a, [
        "timeout",
        "10",
        "hping3",
        "-q",
        "--udp",
        "-s",
        "40000",
        "-p",
        "5353",
        "-d",
        "120",
        "-c",
        String(count),
        "-i",
        "u200",
        pair.addrB,
      ]);
      assert(/3000 packets transmitted/.test(flood.stdout + flood.stderr), flood.stderr);
      const [stdout, status] = await Promise.all([
        new Response(agent.stdout).text(),
        agent.status,
      ]);
      await stderr.cancel();
      stderr = null;
      agent = null;
      assertEquals(status.code, 0);
      const lines = jsonLines(stdout);
      const windows = lines.filter((l) => l.type === "window");
      const summary = lines.find((l) => l.type === "summary")!;
      assertEquals(summary.packets, count);
      assertEquals(summary.dropped, 0);
      assertEquals(summary.interface, pair.ifB);
      assert((summary.max_loop_lag_ms as number) < 500, `loop lag ${summary.max_loop_lag_ms} ms`);
      // Idle seconds still produce windows: about one per second of the 4 s run.
      assert(windows.length >= 3, `${windows.length} windows`);
      assertEquals(windows.reduce((n, w) => n + (w.packets as number), 0), count);
      // The incident: opened on the flood's target within 1 s of its first packet (packet time).
      const incidents = lines.filter((l) => l.type === "incident");
      const open = incidents.find((l) => l.event === "open");
      assert(open, `no incident: ${JSON.stringify(summary)}`);
      assertEquals(open.target, pair.addrB);
      assertEquals(open.attack_family, "udp_flood");
      const onset = windows.find((w) => (w.packets as number) > 0)!.t as number;
      const opened = Date.parse(String(open.detected_at).slice(0, 23) + "Z") / 1000;
      assert(opened - onset <= 2, `opened ${opened - onset} s after the flood's first second`);
      assert(incidents.some((l) => l.event === "resolve" && l.id === open.id), "resolved at exit");
      const saved = JSON.parse(await Deno.readTextFile(`${stateDir}/baseline.json`));
      assert(typeof saved.savedAt === "number" && saved.baseline.version === 1, "baseline saved");
      const udp = windows.reduce(
        (n, w) => n + (w.protocols as { udp: { packets: number } }).udp.packets,
        0,
      );
      assertEquals(udp, count);
      const busiest = windows.reduce((
        a,
        b,
      ) => ((a.packets as number) > (b.packets as number) ? a : b));
      assertEquals((busiest.top_dst_ports as { port: number }[])[0].port, 5353);
      assertEquals((busiest.top_src_ips as { ip: string }[])[0].ip, pair.addrA);
      assertEquals(busiest.pkt_len_hist, {
        "0-64": 0,
        "65-128": 0,
        "129-256": busiest.packets,
        "257-512": 0,
        "513-1024": 0,
        "1025-1500": 0,
        "1500+": 0,
      });
    } finally {
      if (agent) {
        try {
          agent.kill("SIGKILL");
        } catch { /* already gone */ }
        await agent.status;
        await agent.stdout.cancel().catch(() => {});
        await stderr?.cancel().catch(() => {});
      }
      await pair.destroy();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
