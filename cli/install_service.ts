/**
 * `ftagent --install-service`: writes the systemd unit (the text of
 * `packaging/ftagent.service`) to `/etc/systemd/system/ftagent.service`, under `FTAGENT_ROOT`
 * when that is set, and reloads systemd when it runs here. It never enables or starts the
 * service: it prints the command that does.
 *
 * @module
 */

import { dirname } from "node:path";
import { SERVICE_PATH, SERVICE_UNIT } from "../packaging/ftagent_service.ts";
import { UsageError } from "./_args.ts";

/** Usage text of `--install-service`. */
export const INSTALL_SERVICE_USAGE = `ftagent --install-service

Writes the systemd unit ${SERVICE_PATH} (mode 0644; under $FTAGENT_ROOT when set) and runs
"systemctl daemon-reload" when systemd runs here. Does not enable or start the service.`;

/** The command that makes systemd read the unit. */
const DAEMON_RELOAD: readonly string[] = ["systemctl", "daemon-reload"];

/** What to do after the unit is written: run systemctl, or say why not and what to run. */
export type ReloadPlan = { run: true } | { run: false; reason: string };

/**
 * Decides whether to run `systemctl daemon-reload`: not into a throw-away root, not without
 * systemctl, not when systemd is not the running init (no `/run/systemd/system`).
 */
export function reloadPlan(
  root: string,
  hasSystemctl: boolean,
  systemdBooted: boolean,
): ReloadPlan {
  if (root !== "") return { run: false, reason: `FTAGENT_ROOT is set (${root})` };
  if (!hasSystemctl) return { run: false, reason: "systemctl is not installed" };
  if (!systemdBooted) {
    return { run: false, reason: "systemd is not running here (no /run/systemd/system)" };
  }
  return { run: true };
}

/** Writes `unit` to `path` atomically with mode 0644 (temp file in the same directory + rename). */
async function writeUnitFile(path: string, unit: string = SERVICE_UNIT): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const temp = `${path}.tmp-${Deno.pid}`;
  try {
    await Deno.writeTextFile(temp, unit, { mode: 0o644 });
    await Deno.chmod(temp, 0o644); // The umask may have taken bits away.
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}

/** Runs `--install-service`; returns the process exit code. */
export async function installService(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError(`--install-service takes no arguments: ${args[0]}`);
  const root = Deno.env.get("FTAGENT_ROOT") ?? "";
  const path = `${root}${SERVICE_PATH}`;
  await writeUnitFile(path);
  console.log(`ftagent: wrote the systemd unit ${path}`);
  if (!userExists(root, "ftagent")) {
    console.log(
      "ftagent: note: the unit runs as user ftagent, which does not exist yet: run install.sh, or " +
        "useradd --system --user-group --no-create-home --home-dir /var/lib/ftagent --shell /usr/sbin/nologin ftagent",
    );
  }
  const plan = reloadPlan(root, onPath("systemctl"), isDirectory("/run/systemd/system"));
  if (plan.run) {
    const out = await new Deno.Command(DAEMON_RELOAD[0], {
      args: DAEMON_RELOAD.slice(1),
      stdout: "inherit",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const detail = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      console.error(`ftagent: error: ${DAEMON_RELOAD.join(" ")} failed: ${detail}`);
      return 1;
    }
    console.log(`ftagent: ran ${DAEMON_RELOAD.join(" ")}`);
  } else {
    console.log(
      `ftagent: did not run "${DAEMON_RELOAD.join(" ")}": ${plan.reason}; run it on the target`,
    );
  }
  console.log("next: systemctl enable --now ftagent   (after ftagent --setup and ftagent --test)");
  return 0;
}

function userExists(root: string, name: string): boolean {
  try {
    const passwd = Deno.readTextFileSync(`${root}/etc/passwd`);
    return passwd.split("\n").some((line) => line.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

function onPath(command: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  return dirs.some((dir) => {
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
