import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { defaultConfig } from "../../../core/config/mod.ts";
import { Detector, type IncidentEvent } from "../../../core/detect/mod.ts";
import { judgePushedLogPath, Reporting } from "../../../agent/report/mod.ts";
import { openStateDb } from "../../../agent/state/mod.ts";
import { L7Part } from "../../../agent/l7/mod.ts";
import { FlowtriqServer } from "../../support/flowtriq_server.ts";

Deno.test("judgePushedLogPath() follows a pushed log only inside a web server's log folder, symlinks and .. resolved", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "fta-logpath-" }));
  const logs = `${dir}/var/log/nginx`;
  try {
    await Deno.mkdir(`${logs}/sites`, { recursive: true });
    await Deno.writeTextFile(`${logs}/access.log`, "");
    await Deno.writeTextFile(`${dir}/secret`, "root:x:0:0");
    await Deno.symlink("/etc/shadow", `${logs}/evil.log`);
    await Deno.symlink("/etc", `${logs}/etc`);
    await Deno.symlink(`${logs}/access.log`, `${logs}/sites/current.log`);
    await Deno.symlink("../../../secret", `${logs}/up.log`);
    const fifo = new Deno.Command("mkfifo", { args: [`${logs}/fifo.log`] });
    assert((await fifo.output()).success, "mkfifo failed");
    const dirs = [logs];
    const judge = (p: string) => judgePushedLogPath(p, dirs);

    assertEquals(await judge(`${logs}/access.log`), { ok: true, path: `${logs}/access.log` });
    // A log not created yet is judged by its folder; the tailer waits for it.
    assertEquals(await judge(`${logs}/new/later.log`), { ok: true, path: `${logs}/new/later.log` });
    // A symlink inside the folder to another log inside it: followed, as the resolved path.
    assertEquals(await judge(`${logs}/sites/current.log`), {
      ok: true,
      path: `${logs}/access.log`,
    });
    for (
      const [path, why] of [
        ["/etc/shadow", /^outside the web servers' log folders; set it in the local config/],
        [`${logs}/evil.log`, /^outside .*\(resolves to \/etc\/shadow\)/],
        [`${logs}/etc/shadow`, /^outside .*\(resolves to \/etc\/shadow\)/],
        [`${logs}/up.log`, new RegExp(`^outside .*\\(resolves to ${dir}/secret\\)`)],
        [`${logs}/../../../secret`, /^outside/],
        [`${logs}`, /^outside/],
        [`${logs}2/access.log`, /^outside/],
        [`${logs}/fifo.log`, /^not a regular file/],
        ["relative/access.log", /^not an absolute path/],
      ] as [string, RegExp][]
    ) {
      const v = await judge(path);
      assert(!v.ok, `${path} was accepted`);
      assertMatch(v.error, why);
      assert(!v.error.includes("\n"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function openEvent(id: string): IncidentEvent {
  const now = new Date().toISOString();
  return {
    type: "incident",
    event: "open",
    id,
    detected_at: now,
    started_at: now,
    target: "interface",
    attack_family: "udp_flood",
    attack_subtype: "generic",
    peak_pps: 90000,
    peak_bps: 5e8,
  };
}

Deno.test("Reporting keeps the previous threshold and log when the server pushes pps_threshold 1e308 and /etc/shadow, and says each once", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "fta-pushed-" }));
  const logs = `${dir}/var/log/nginx`;
  await Deno.mkdir(logs, { recursive: true });
  const accessLog = `${logs}/access.log`;
  await Deno.writeTextFile(accessLog, "");
  await Deno.symlink("/etc/shadow", `${logs}/shadow.log`);
  const server = new FlowtriqServer();
  server.up();
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => records.push(r) },
    loggers: [
      { category: ["ftpushed"], sinks: ["mem"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
    reset: true,
  });
  const log = getLogger(["ftpushed"]);
  server.config = { pps_threshold: 3000, l7: { enabled: true, log_path: accessLog } };
  const config = {
    ...defaultConfig(),
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    state_dir: dir,
    heartbeat_interval: 60,
    metrics_interval: 60,
  };
  const db = openStateDb(`${dir}/ftagent.db`);
  const detector = new Detector(config, { onEvent: () => {} });
  const reporting = new Reporting({
    config,
    db,
    log,
    version: "test",
    detector,
    // The temporary folder stands for /var/log/nginx.
    remote: { logDirs: [logs] },
  });
  const l7 = await L7Part.start({ config, log, emit: () => {}, outbox: reporting.outbox });
  const ppsThreshold = () =>
    detector.status().find((t) => t.target === "interface")!.thresholds.pps;
  const fetches = () => server.accepted(/^\/agent\/config$/).length;
  try {
    reporting.attachL7(l7);
    assert(await server.waitFor(() => ppsThreshold() === 3000 && l7.runtime !== null));
    const runtime = l7.runtime!;
    assertEquals(runtime.paths, [accessLog]);

    // Hostile values; each attack start fetches the config again.
    for (
      const [n, l7Path] of [[1, "/etc/shadow"], [2, `${logs}/shadow.log`], [3, "/etc/shadow"]] as [
        number,
        string,
      ][]
    ) {
      server.config = {
        pps_threshold: 1e308,
        attack_holddown: 86400,
        l7: { enabled: true, log_path: l7Path, sensitivity: "high" },
      };
      const before = fetches();
      reporting.incident(openEvent(`hostile-${n}`));
      assert(await server.waitFor(() => fetches() > before));
      await new Promise((r) => setTimeout(r, 200));
      // Detection stays on at the previous threshold, L7 keeps its log (not restarted).
      assertEquals(ppsThreshold(), 3000);
      assert(l7.runtime === runtime, "L7 was restarted");
      assertEquals(runtime.paths, [accessLog]);
    }
    const said = records.filter((r) => r.level === "warning").map((r) => r.message.join(""));
    const about = (key: string) => said.filter((m) => m.includes(`"${key}" ignored`));
    assertEquals(about("pps_threshold").length, 1, said.join("|"));
    assertMatch(about("pps_threshold")[0], /1e\+308 is invalid .*the previous value stays/);
    assertEquals(about("attack_holddown").length, 1, said.join("|"));
    // /etc/shadow said once; the symlink to it is another value, said once too; then
    // /etc/shadow again after the symlink is said again (the refused value changed).
    const paths = about("l7.log_path");
    assertEquals(paths.length, 3, paths.join("|"));
    assertMatch(paths[0], /"\/etc\/shadow" is outside the web servers' log folders/);
    assertMatch(paths[1], /shadow\.log" is outside .*\(resolves to \/etc\/shadow\)/);
    for (const m of said) assert(!m.includes("\n"), m);
  } finally {
    await l7.stop();
    await reporting.stop();
    db.close();
    await server.down();
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
});
