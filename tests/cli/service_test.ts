import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent, run } from "../support/cli.ts";
import { SERVICE_PATH, SERVICE_UNIT } from "../../packaging/ftagent_service.ts";
import { reloadPlan } from "../../cli/install_service.ts";

const UNIT_FILE = new URL("../../packaging/ftagent.service", import.meta.url).pathname;

/** `[Service]` settings of a unit as key -> values (a key may repeat). */
function settings(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

/** The major version of systemd-analyze (0 when it is missing). */
async function analyzeVersion(): Promise<number> {
  try {
    const out = await new Deno.Command("systemd-analyze", { args: ["--version"] }).output();
    const m = new TextDecoder().decode(out.stdout).match(/^systemd (\d+)/);
    return out.success && m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function analyzeWorks(): Promise<boolean> {
  try {
    const out = await new Deno.Command("systemd-analyze", { args: ["--version"] }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test("the packaged unit file and the unit --install-service writes are the same bytes", async () => {
  assertEquals(await Deno.readTextFile(UNIT_FILE), SERVICE_UNIT);
});

Deno.test("the unit runs the agent as ftagent with only the capture capabilities, sandboxed", () => {
  const s = settings(SERVICE_UNIT);
  const one = (key: string) => (s.get(key) ?? []).join(" | ");
  assertEquals(one("ExecStart"), "/usr/local/bin/ftagent --config /etc/ftagent/config.json");
  assertEquals(one("User"), "ftagent");
  assertEquals(one("AmbientCapabilities"), "CAP_NET_RAW CAP_NET_ADMIN");
  assertEquals(one("CapabilityBoundingSet"), "CAP_NET_RAW CAP_NET_ADMIN");
  assertEquals(one("StateDirectory"), "ftagent");
  assertEquals(one("LogsDirectory"), "ftagent");
  assertEquals(one("ProtectSystem"), "strict");
  assertEquals(one("ProtectHome"), "yes");
  assertEquals(one("NoNewPrivileges"), "yes");
  assertEquals(one("PrivateTmp"), "yes");
  assertEquals(one("Restart"), "on-failure");
  assertEquals(one("RestartSec"), "5");
  assertEquals(one("KillSignal"), "SIGTERM");
  assertEquals(one("TimeoutStopSec"), "10");
  assertEquals(one("WantedBy"), "multi-user.target");
  // What the agent needs inside the sandbox: capture (AF_PACKET), nft/ipset (AF_NETLINK), the
  // SYN-cookie sysctl, V8's memory protection keys; and its JIT (no MemoryDenyWriteExecute).
  assertEquals(one("RestrictAddressFamilies"), "AF_INET AF_INET6 AF_UNIX AF_NETLINK AF_PACKET");
  assertEquals(one("ReadWritePaths"), "-/proc/sys/net/ipv4/tcp_syncookies");
  assertEquals(one("SystemCallFilter"), "@system-service @pkey | ~@privileged @resources");
  assertEquals(one("ProtectProc"), "invisible");
  assertEquals(one("UMask"), "0077");
  assertEquals(one("MemoryDenyWriteExecute"), "");
});

Deno.test({
  name: "systemd-analyze verify accepts the unit without a warning",
  ignore: !(await analyzeWorks()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fta-unit-" });
    try {
      // verify checks that ExecStart exists: point it at a stand-in in the temp dir.
      await Deno.writeTextFile(`${dir}/ftagent`, "#!/bin/sh\n", { mode: 0o755 });
      await Deno.chmod(`${dir}/ftagent`, 0o755);
      const unit = SERVICE_UNIT.replace("/usr/local/bin/ftagent", `${dir}/ftagent`);
      await Deno.writeTextFile(`${dir}/ftagent.service`, unit);
      const out = await run(["systemd-analyze", "verify", "--man=no", `${dir}/ftagent.service`]);
      assertEquals(out.code, 0, out.stderr);
      assertEquals(out.stderr.trim(), "");
      // And it does complain about a broken unit (the check is real).
      await Deno.writeTextFile(
        `${dir}/broken.service`,
        unit.replace("RestartSec=5", "RestartSec=x"),
      );
      const bad = await run(["systemd-analyze", "verify", "--man=no", `${dir}/broken.service`]);
      assertMatch(bad.stderr, /broken\.service:\d+: Failed to parse/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The sandbox lines that took the unit from 6.4 (MEDIUM) to 1.8 (OK). */
const SANDBOX_KEYS = [
  "PrivateDevices",
  "PrivateMounts",
  "ProtectKernelTunables",
  "ReadWritePaths",
  "ProtectKernelModules",
  "ProtectKernelLogs",
  "ProtectControlGroups",
  "ProtectClock",
  "ProtectHostname",
  "ProtectProc",
  "LockPersonality",
  "RestrictSUIDSGID",
  "RestrictRealtime",
  "RestrictNamespaces",
  "RemoveIPC",
  "UMask",
  "RestrictAddressFamilies",
  "SystemCallArchitectures",
  "SystemCallFilter",
  "SystemCallErrorNumber",
];

/** The overall exposure `systemd-analyze security --offline=true` gives `unit` (0 to 10). */
async function exposure(dir: string, unit: string): Promise<number> {
  await Deno.writeTextFile(`${dir}/ftagent.service`, unit);
  const out = await run([
    "systemd-analyze",
    "security",
    "--offline=true",
    "--no-pager",
    `${dir}/ftagent.service`,
  ]);
  const m = out.stdout.match(/Overall exposure level for ftagent\.service: (\d+\.\d+)/);
  assert(m !== null, `no exposure level in:\n${out.stdout}\n${out.stderr}`);
  return Number(m[1]);
}

Deno.test({
  name:
    "systemd-analyze security rates the unit's exposure 3.9 or lower, and 6 or more without its sandbox lines",
  ignore: (await analyzeVersion()) < 250, // --offline came with systemd 250
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fta-unit-" });
    try {
      await Deno.writeTextFile(`${dir}/ftagent`, "#!/bin/sh\n", { mode: 0o755 });
      await Deno.chmod(`${dir}/ftagent`, 0o755);
      const unit = SERVICE_UNIT.replace("/usr/local/bin/ftagent", `${dir}/ftagent`);
      const hardened = await exposure(dir, unit);
      const bare = await exposure(
        dir,
        unit.split("\n").filter((l) => !SANDBOX_KEYS.includes(l.split("=")[0])).join("\n"),
      );
      console.log(`systemd-analyze security: ${hardened} with the sandbox, ${bare} without`);
      assert(hardened <= 3.9, `exposure ${hardened} is over 3.9`);
      assert(bare >= 6, `without the sandbox lines the unit should rate worse: ${bare}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ftagent --install-service writes the unit into FTAGENT_ROOT (0644), twice, and says what to run", async () => {
  const root = await Deno.makeTempDir({ prefix: "fta-svc-" });
  try {
    for (let i = 0; i < 2; i++) {
      const out = await ftagent(["--install-service"], ["env", `FTAGENT_ROOT=${root}`]);
      assertEquals(out.code, 0, out.stderr);
      assertMatch(out.stdout, new RegExp(`wrote the systemd unit ${root}${SERVICE_PATH}`));
      assertMatch(out.stdout, /did not run "systemctl daemon-reload": FTAGENT_ROOT is set/);
      assertMatch(out.stdout, /user ftagent, which does not exist yet/);
      assertMatch(out.stdout, /next: systemctl enable --now ftagent/);
    }
    const path = `${root}${SERVICE_PATH}`;
    assertEquals(await Deno.readTextFile(path), SERVICE_UNIT);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o644);
    const left = [...Deno.readDirSync(`${root}/etc/systemd/system`)].map((e) => e.name);
    assertEquals(left, ["ftagent.service"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ftagent --install-service takes no arguments", async () => {
  const out = await ftagent(["--install-service", "now"], ["env", "FTAGENT_ROOT=/nonexistent"]);
  assertEquals(out.code, 2);
  assertMatch(out.stderr, /--install-service takes no arguments/);
});

Deno.test("daemon-reload runs only on a real root with systemctl and a running systemd", () => {
  assertEquals(reloadPlan("", true, true), { run: true });
  const notRoot = reloadPlan("/tmp/r", true, true);
  assert(!notRoot.run && /FTAGENT_ROOT is set/.test(notRoot.reason));
  const noTool = reloadPlan("", false, true);
  assert(!noTool.run && /systemctl is not installed/.test(noTool.reason));
  const noInit = reloadPlan("", true, false);
  assert(!noInit.run && /systemd is not running/.test(noInit.reason));
});
