// L7 detection end to end with real web servers and real load generators: nginx flooded by wrk
// while logrotate rotates its log in both modes (create, then copytruncate), and HAProxy hit
// by ab on its login path while its log is copytruncated. The agent's own L7 wiring
// (agent/l7/l7_runtime.ts: tailer, parsers, detector, wall-clock tick) follows the logs. Asserts: no
// incident for normal traffic, an incident within 5 s of the flood's onset with the right
// subtype, and every line the server wrote parsed exactly once across the rotations.
import { getLogger } from "@logtape/logtape";
import { assert, assertEquals } from "../../support/assert.ts";
import { defaultConfig } from "../../../core/config/mod.ts";
import type { IncidentEvent } from "../../../core/detect/mod.ts";
import { L7Runtime } from "../../../agent/l7/mod.ts";
import { startHaproxy, startNginx, type WebServer } from "../../support/web_servers.ts";

interface Seen {
  event: IncidentEvent;
  wallMs: number;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text.slice(0, 500)}`);
  return text;
}

/** Runs logrotate once on `log` in `mode`, with `postrotate` commands. */
async function logrotate(
  s: WebServer,
  mode: "create" | "copytruncate",
  postrotate = "",
): Promise<void> {
  const conf = `${s.dir}/logrotate-${mode}.conf`;
  await Deno.writeTextFile(
    conf,
    `${s.log} {
  rotate 5
  ${mode}
  missingok
  nocompress
${postrotate === "" ? "" : `  postrotate\n    ${postrotate}\n  endscript\n`}}
`,
  );
  await sh("logrotate", ["-f", "-s", `${s.dir}/logrotate.state`, conf]);
}

/** Complete lines (newlines) in the log and its rotated copies. */
async function linesOnDisk(s: WebServer): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(s.dir)) {
    if (
      e.name === "access.log" || e.name.startsWith("access.log.") ||
      e.name.startsWith("haproxy.log")
    ) {
      const bytes = await Deno.readFile(`${s.dir}/${e.name}`);
      for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
    }
  }
  return n;
}

/** Normal browsing: sequential requests from a few clients, ~`rps` per second, until `until`. */
async function browse(port: number, until: number, rps: number, clients = 6): Promise<number> {
  const paths = ["/", "/about", "/blog/1", "/blog/2", "/static/app.js", "/shop?page=2", "/contact"];
  const agents = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
  ];
  let i = 0;
  while (Date.now() < until) {
    const res = await fetch(`http://127.0.0.1:${port}${paths[i % paths.length]}`, {
      headers: { "X-Forwarded-For": `198.18.7.${(i % clients) + 1}`, "User-Agent": agents[i % 3] },
    });
    await res.body?.cancel();
    i++;
    await new Promise((r) => setTimeout(r, 1000 / rps));
  }
  return i;
}

async function runL7(s: WebServer) {
  const seen: Seen[] = [];
  const config = { ...defaultConfig(), l7_enabled: true, l7_log_paths: [s.log], state_dir: s.dir };
  const l7 = await L7Runtime.start({
    config,
    log: getLogger(["ftagent-test"]),
    emit: (event) => seen.push({ event, wallMs: Date.now() }),
  });
  assert(l7 !== null);
  return { l7, seen };
}

/**
 * Lines parsed once `n` were and the tailer has seen `truncations` copytruncates (up to 5 s).
 * Both: lines read just before logrotate's truncate are parsed but no longer on disk, so the
 * count can reach `n` before the tailer's next poll notices the truncation.
 */
async function waitParsed(l7: L7Runtime, n: number, truncations: number) {
  const until = Date.now() + 5_000;
  for (;;) {
    const st = l7.stats();
    const got = Object.values(st.parsers).reduce((a, p) => a + p.lines, 0);
    const seen = st.files.reduce((a, f) => a + f.truncations, 0);
    if ((got >= n && seen >= truncations) || Date.now() > until) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("nginx flooded by wrk through two log rotations: volumetric_flood within 5 s, no line missed", async () => {
  const s = await startNginx();
  let l7: Awaited<ReturnType<typeof runL7>>["l7"] | null = null;
  try {
    const run = await runL7(s);
    l7 = run.l7;
    const { seen } = run;
    // Normal traffic first: nothing may open.
    const normalBefore = await browse(s.port, Date.now() + 4000, 25);
    assertEquals(seen.length, 0, JSON.stringify(seen[0]?.event.opened_by));
    const script = `${s.dir}/xff.lua`;
    await Deno.writeTextFile(
      script,
      `math.randomseed(7)
request = function()
  local ip = "198.19." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", "/", { ["X-Forwarded-For"] = ip })
end
`,
    );
    const floodStart = Date.now();
    const wrk = sh("wrk", ["-t1", "-c16", "-d7s", "-s", script, `http://127.0.0.1:${s.port}/`]);
    const rotations = (async () => {
      await new Promise((r) => setTimeout(r, 2500));
      await logrotate(s, "create", `kill -USR1 $(cat ${s.pidFile})`);
      await new Promise((r) => setTimeout(r, 2000));
      await logrotate(s, "copytruncate");
    })();
    const normal = browse(s.port, floodStart + 7000, 10);
    const [wrkOut, , normalDuring] = await Promise.all([wrk, rotations, normal]);
    const completed = Number(/(\d+) requests in/.exec(wrkOut)?.[1] ?? NaN);
    assert(completed > 2000, wrkOut);
    const onDisk = await linesOnDisk(s);
    const parsed = await waitParsed(l7, onDisk, 1);
    await l7.stop();
    l7 = null;
    const open = seen.find((x) => x.event.event === "open");
    assert(open !== undefined, "no incident opened");
    assertEquals(open.event.attack_family, "http_flood");
    assertEquals(open.event.attack_subtype, "volumetric_flood");
    assert(open.wallMs - floodStart <= 5000, `opened ${open.wallMs - floodStart} ms after onset`);
    assertEquals(seen.filter((x) => x.event.event === "open").length, 1);
    assertEquals(seen[seen.length - 1].event.event, "resolve");
    // Every line nginx wrote (current file and both rotated ones) was read: the count can only
    // exceed what is on disk by lines read before logrotate's copytruncate cut them away, and
    // never exceeds the requests sent (completed + those in flight on the 16 connections).
    const sent = completed + normalDuring + normalBefore;
    assert(
      parsed >= onDisk && parsed <= sent + 16,
      `${parsed} parsed, ${onDisk} on disk, ${sent} sent`,
    );
    const st = run.l7.stats();
    const p = Object.values(st.parsers)[0];
    assertEquals(p.parsed, p.lines);
    assertEquals(st.files[0].rotations, 1);
    assertEquals(st.files[0].truncations, 1);
  } finally {
    await l7?.stop();
    await s.stop();
  }
});

Deno.test("HAProxy hit by ab on /login while its log is copytruncated: credential_stuffing", async () => {
  const s = await startHaproxy();
  let l7: Awaited<ReturnType<typeof runL7>>["l7"] | null = null;
  try {
    const run = await runL7(s);
    l7 = run.l7;
    const { seen } = run;
    const normal0 = await browse(s.port, Date.now() + 3000, 25);
    assertEquals(seen.length, 0);
    // For 4 s whatever the machine's speed: a burst of a fixed count can fit in one second, and
    // one suspicious second does not open an incident (l7_confirm_seconds is 2).
    const attackStart = Date.now();
    const ab = sh("ab", [
      "-t",
      "4",
      "-n",
      "1000000",
      "-c",
      "8",
      "-H",
      "X-Forwarded-For: 198.19.3.3",
      `http://127.0.0.1:${s.port}/login`,
    ]);
    const rotation = (async () => {
      await new Promise((r) => setTimeout(r, 1500));
      await logrotate(s, "copytruncate");
    })();
    const normal = browse(s.port, attackStart + 4000, 20);
    const [abOut, , normal1] = await Promise.all([ab, rotation, normal]);
    const requests = Number(/Complete requests:\s+(\d+)/.exec(abOut)?.[1] ?? NaN);
    assert(requests > 2000, abOut);
    // Keep normal clients going until the whole attack is read.
    const onDisk = await linesOnDisk(s);
    const parsed = await waitParsed(l7, onDisk, 1);
    await l7.stop();
    l7 = null;
    const open = seen.find((x) => x.event.event === "open");
    assert(open !== undefined, "no incident opened");
    assertEquals(open.event.attack_subtype, "credential_stuffing");
    assert(open.wallMs - attackStart <= 5000, `opened ${open.wallMs - attackStart} ms after onset`);
    // HAProxy logs each request ab counts once. Every line on disk was read
    // (the line after the hole HAProxy leaves when truncated under it, as it does not append,
    // included); lines read before logrotate's copytruncate cut them away count too, so
    // on-disk <= parsed <= sent. logrotate(8) warns that copytruncate loses the lines written
    // between its copy and its truncate: on this loaded machine up to a few hundred.
    const sent = requests + normal0 + normal1;
    assert(
      parsed >= onDisk && parsed <= sent,
      `${parsed} parsed, ${onDisk} on disk, ${sent} sent ${JSON.stringify(run.l7.stats())}`,
    );
    assert(sent - onDisk <= sent / 10, `${onDisk} lines for ${sent} requests`);
    assertEquals(run.l7.stats().files[0].truncations, 1);
  } finally {
    await l7?.stop();
    await s.stop();
  }
});
