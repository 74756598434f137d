// The agent under its real, hardened systemd unit: a Debian machine booted with systemd-nspawn
// (made with mmdebstrap), the agent bundled and installed in it as install.sh does, the unit
// written by `ftagent --install-service`, a SYN flood from a namespace inside the machine.
// It takes two to three minutes and needs root, systemd-nspawn (systemd-container), mmdebstrap
// and Debian's apt mirror: run it with `deno task test:systemd` (FTAGENT_SYSTEMD_TEST=1).
// FTAGENT_SYSTEMD_DIR chooses where the machine's root file system goes (default /var/tmp).
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CLI, ftagent, run } from "../support/cli.ts";
import { Machine, makeRootfs, missingHostTools } from "../support/nspawn.ts";

const WANTED = Deno.env.get("FTAGENT_SYSTEMD_TEST") === "1";
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;
/** The machine's side of the link (the agent captures here) and the flooding namespace's. */
const HOST_ADDR = "198.18.0.1";
const PEER_ADDR = "198.18.0.2";

/** Installs the agent into `rootfs` like install.sh from a checkout; returns ftagent's uid. */
async function installAgent(rootfs: string): Promise<number> {
  const lib = `${rootfs}/usr/local/lib/ftagent`;
  await Deno.mkdir(lib, { recursive: true });
  await Deno.copyFile(Deno.execPath(), `${lib}/deno`);
  await Deno.chmod(`${lib}/deno`, 0o755);
  const bundle = await run([
    Deno.execPath(),
    "bundle",
    "--quiet",
    "--config",
    DENO_JSON,
    "--platform",
    "deno",
    "-o",
    `${lib}/ftagent.js`,
    CLI,
  ]);
  assertEquals(bundle.code, 0, bundle.stderr);
  await Deno.writeTextFile(
    `${rootfs}/usr/local/bin/ftagent`,
    "#!/bin/sh\nexec /usr/local/lib/ftagent/deno run --allow-all --quiet --no-prompt " +
      '/usr/local/lib/ftagent/ftagent.js "$@"\n',
    { mode: 0o755 },
  );
  await Deno.chmod(`${rootfs}/usr/local/bin/ftagent`, 0o755);
  const unit = await ftagent(["--install-service"], ["env", `FTAGENT_ROOT=${rootfs}`]);
  assertEquals(unit.code, 0, unit.stderr);
  const user = await run([
    "chroot",
    rootfs,
    "useradd",
    "--system",
    "--user-group",
    "--no-create-home",
    "--home-dir",
    "/var/lib/ftagent",
    "--shell",
    "/usr/sbin/nologin",
    "ftagent",
  ]);
  assertEquals(user.code, 0, user.stderr);
  // A system call outside the unit's filter kills the agent here (SIGSYS) instead of failing
  // with EPERM, so none can go unnoticed.
  await Deno.mkdir(`${rootfs}/etc/systemd/system/ftagent.service.d`, { recursive: true });
  await Deno.writeTextFile(
    `${rootfs}/etc/systemd/system/ftagent.service.d/test.conf`,
    "[Service]\nSystemCallErrorNumber=kill\nRestart=no\n",
  );
  await Deno.mkdir(`${rootfs}/etc/ftagent`, { recursive: true, mode: 0o700 });
  const passwd = await Deno.readTextFile(`${rootfs}/etc/passwd`);
  const line = passwd.split("\n").find((l) => l.startsWith("ftagent:"));
  assert(line !== undefined, "no ftagent user in the machine");
  return Number(line.split(":")[2]);
}

/** Writes the agent's config (SYN flood mitigation on `backend`) as ftagent's, mode 0600. */
async function writeConfig(rootfs: string, uid: number, backend: string): Promise<void> {
  const path = `${rootfs}/etc/ftagent/config.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      interface: "fta0",
      log_file: "/var/log/ftagent/ftagent.log",
      pcap_enabled: true,
      metrics_port: 9847,
      dynamic_threshold: false,
      pps_threshold: 2000,
      udp_pps_threshold: 2000,
      syn_pps_threshold: 2000,
      confirm_seconds: 1,
      attack_holddown: 2,
      attack_cooldown: 10,
      mitigation: { mode: "auto", backend, syn_rate_limit_pps: 100 },
    }),
    { mode: 0o600 },
  );
  await Deno.chmod(path, 0o600);
  await Deno.chown(path, uid, uid);
  await Deno.chown(`${rootfs}/etc/ftagent`, uid, uid);
}

/** The id of the unit's current run (systemd's InvocationID). */
async function invocation(machine: Machine): Promise<string> {
  const id = await machine.must(["systemctl", "show", "-p", "InvocationID", "--value", "ftagent"]);
  return id.trim();
}

/** What the agent wrote to the journal in run `id` of the unit. */
async function journal(machine: Machine, id: string): Promise<string> {
  return await machine.must([
    "journalctl",
    "--no-pager",
    "-o",
    "cat",
    `_SYSTEMD_INVOCATION_ID=${id}`,
  ]);
}

/** Waits until `pattern` is in the journal of run `id`; returns the match. */
async function waitJournal(
  machine: Machine,
  id: string,
  pattern: RegExp,
  ms = 20_000,
): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  let text = "";
  while (Date.now() < end) {
    text = await journal(machine, id);
    const m = pattern.exec(text);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 500));
  }
  const state = await machine.exec(["systemctl", "status", "--no-pager", "ftagent"]);
  throw new Error(`no ${pattern} in the journal within ${ms} ms:\n${text}\n${state.stdout}`);
}

async function syncookies(machine: Machine): Promise<string> {
  return (await machine.must(["cat", "/proc/sys/net/ipv4/tcp_syncookies"])).trim();
}

/** The link the agent watches: fta0 here, fta1 in namespace `peer` (both inside the machine). */
async function makeLink(machine: Machine): Promise<void> {
  const steps = [
    ["ip", "netns", "add", "peer"],
    ["ip", "link", "add", "fta0", "type", "veth", "peer", "name", "fta1"],
    ["ip", "link", "set", "fta1", "netns", "peer"],
    ["ip", "addr", "add", `${HOST_ADDR}/24`, "dev", "fta0"],
    ["ip", "link", "set", "fta0", "up"],
    ["ip", "-n", "peer", "addr", "add", `${PEER_ADDR}/24`, "dev", "fta1"],
    ["ip", "-n", "peer", "link", "set", "fta1", "up"],
    ["ip", "-n", "peer", "link", "set", "lo", "up"],
  ];
  for (const step of steps) await machine.must(step);
}

/** One run of the unit: flood, mitigation on `backend`, resolve, stop; checks what it wrote. */
async function floodAndResolve(
  machine: Machine,
  rootfs: string,
  uid: number,
  backend: "nftables" | "iptables",
): Promise<void> {
  await writeConfig(rootfs, uid, backend);
  await machine.must(["sh", "-c", "echo 0 >/proc/sys/net/ipv4/tcp_syncookies"]);
  await machine.must(["systemctl", "restart", "ftagent"]);
  const runId = await invocation(machine);
  await waitJournal(machine, runId, new RegExp(`mitigation: ${backend} ready`));
  await waitJournal(machine, runId, /capturing on fta0/);

  // The process runs as ftagent with the two capabilities, no new privileges, seccomp on.
  const pid = (await machine.must(["systemctl", "show", "-p", "MainPID", "--value", "ftagent"]))
    .trim();
  const status = await machine.must(["cat", `/proc/${pid}/status`]);
  assertMatch(status, new RegExp(`^Uid:\\s+${uid}\\s`, "m"));
  assertMatch(status, /^CapEff:\s+0000000000003000$/m);
  assertMatch(status, /^NoNewPrivs:\s+1$/m);
  assertMatch(status, /^Seccomp:\s+2$/m);

  const flood = machine.exec([
    "ip",
    "netns",
    "exec",
    "peer",
    "timeout",
    "12",
    "hping3",
    "-q",
    "-S",
    "--rand-source",
    "-p",
    "80",
    "-c",
    "24000",
    "-i",
    "u300",
    HOST_ADDR,
  ]);
  try {
    const id = (await waitJournal(machine, runId, /incident open ([0-9a-f-]{36}): syn_flood/))[1];
    await waitJournal(machine, runId, new RegExp(`mitigation ${id}: applied turn on SYN cookies`));
    await waitJournal(
      machine,
      runId,
      new RegExp(`mitigation ${id}: applied limit TCP SYN to 100 pps`),
    );
    assertEquals(await syncookies(machine), "1", "the agent wrote /proc/sys under the unit");
    const rules = backend === "nftables"
      ? await machine.must(["nft", "list", "table", "inet", "ftagent"])
      : await machine.must(["iptables-save"]);
    assertMatch(
      rules,
      backend === "nftables" ? /limit rate over 100\/second/ : /hashlimit-above 100\/sec/,
    );
    await flood;

    await waitJournal(machine, runId, new RegExp(`incident resolve ${id}`), 30_000);
    await waitJournal(machine, runId, new RegExp(`mitigation ${id}: undone turn on SYN cookies`));
    assertEquals(await syncookies(machine), "0", "SYN cookies back to the value before");

    // Its state: the incident's capture, the database and the log file, ftagent's and private.
    const pcap = await Deno.stat(`${rootfs}/var/lib/ftagent/pcaps/${id}.pcap`);
    assert(pcap.size > 24, `the capture is empty (${pcap.size} bytes)`);
    assertEquals(pcap.uid, uid);
    assertEquals(pcap.mode! & 0o077, 0, "the capture is readable by others");
    assertEquals((await Deno.stat(`${rootfs}/var/lib/ftagent/ftagent.db`)).uid, uid);
    assertMatch(await Deno.readTextFile(`${rootfs}/var/log/ftagent/ftagent.log`), new RegExp(id));

    await machine.must(["systemctl", "reload", "ftagent"]);
    await waitJournal(machine, runId, /config reloaded/);
    await machine.must(["systemctl", "stop", "ftagent"]);
    const result = await machine.must([
      "systemctl",
      "show",
      "-p",
      "Result,ExecMainStatus",
      "ftagent",
    ]);
    assertMatch(result, /Result=success/);
    assertMatch(result, /ExecMainStatus=0/);
    // Never killed by the system call filter (SIGSYS) in this run or a restart.
    const all = await machine.must(["journalctl", "--no-pager", "-o", "cat", "-u", "ftagent"]);
    assert(!/status=31\/SYS/.test(all), `a system call outside the filter:\n${all}`);
    const text = await journal(machine, runId);
    assertMatch(text, /stopped: \d+ packets/);
    console.log(
      `${backend}: ${text.match(/stopped: \d+ packets, \d+ malformed, kernel drops \d+/)?.[0]}`,
    );
  } finally {
    await flood;
    await machine.exec(["systemctl", "stop", "ftagent"]);
  }
}

Deno.test({
  name:
    "under its hardened systemd unit the agent captures, mitigates with nft and iptables, and writes its state",
  ignore: !WANTED,
  fn: async () => {
    assertEquals(Deno.uid(), 0, "this test needs root");
    const missing = await missingHostTools();
    assertEquals(missing, [], `install ${missing.join(", ")} (apt: systemd-container mmdebstrap)`);
    const base = Deno.env.get("FTAGENT_SYSTEMD_DIR") ?? "/var/tmp";
    const dir = await Deno.makeTempDir({ dir: base, prefix: "fta-nspawn-" });
    const rootfs = `${dir}/rootfs`;
    let machine: Machine | null = null;
    try {
      const t0 = Date.now();
      await makeRootfs(rootfs);
      const uid = await installAgent(rootfs);
      const t1 = Date.now();
      machine = await Machine.boot(rootfs, "ftagent-test");
      console.log(`rootfs and agent ${(t1 - t0) / 1000} s, boot ${(Date.now() - t1) / 1000} s`);
      await makeLink(machine);

      // The live unit, as systemd itself rates it.
      const security = await machine.must(["systemd-analyze", "security", "--no-pager", "ftagent"]);
      const level = Number(
        security.match(/Overall exposure level for ftagent\.service: ([\d.]+)/)?.[1],
      );
      console.log(`systemd-analyze security ftagent (live): ${level}`);
      assert(level <= 3.9, `exposure ${level}`);

      await floodAndResolve(machine, rootfs, uid, "nftables");
      await floodAndResolve(machine, rootfs, uid, "iptables");
    } finally {
      await machine?.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
