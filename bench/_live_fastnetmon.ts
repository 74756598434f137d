/**
 * FastNetMon (Debian package `fastnetmon`) for `deno task bench:live`: a copy of
 * /etc/fastnetmon.conf in a scratch directory set to AF_PACKET on one interface, bans off, every
 * path in the scratch directory. Its Prometheus endpoint (inside the namespace) gives the
 * packets it processed.
 *
 * @module
 */

/** Why FastNetMon cannot be measured here, or null when it can be tried. */
export async function fastnetmonMissing(): Promise<string | null> {
  try {
    const out = await new Deno.Command("fastnetmon", { args: ["--help"], stdout: "piped" })
      .output();
    const help = new TextDecoder().decode(out.stdout);
    if (!help.includes("--configuration_file")) {
      return "this fastnetmon has no --configuration_file option";
    }
  } catch {
    return "not installed (apt-get install fastnetmon)";
  }
  try {
    await Deno.stat("/etc/fastnetmon.conf");
  } catch {
    return "no /etc/fastnetmon.conf to copy";
  }
  return null;
}

/** Prometheus port FastNetMon listens on (127.0.0.1 inside the capture namespace). */
export const FASTNETMON_PROMETHEUS_PORT = 9209;

/** Writes the config and its lists under `dir`; returns the command line to run in the namespace. */
export async function fastnetmonCommand(
  dir: string,
  iface: string,
  network: string,
): Promise<string[]> {
  let conf = await Deno.readTextFile("/etc/fastnetmon.conf");
  const set = (key: string, value: string) => {
    const line = new RegExp(`^\\s*${key}\\s*=.*$`, "m");
    conf = line.test(conf)
      ? conf.replace(line, `${key} = ${value}`)
      : `${conf}\n${key} = ${value}\n`;
  };
  const settings: Record<string, string> = {
    mirror_afpacket: "on",
    mirror_afxdp: "off",
    mirror_netmap: "off",
    pcap: "off",
    netflow: "off",
    sflow: "off",
    interfaces: iface,
    enable_ban: "off",
    enable_ban_ipv6: "off",
    collect_attack_pcap_dumps: "off",
    disable_usage_report: "on",
    enable_api: "off",
    prometheus: "on",
    prometheus_host: "127.0.0.1",
    prometheus_port: String(FASTNETMON_PROMETHEUS_PORT),
    networks_list_path: `${dir}/networks_list`,
    white_list_path: `${dir}/networks_whitelist`,
    pid_path: `${dir}/fastnetmon.pid`,
    cli_stats_file_path: `${dir}/fastnetmon.dat`,
    cli_stats_ipv6_file_path: `${dir}/fastnetmon_ipv6.dat`,
    notify_script_path: `${dir}/notify_about_attack.sh`,
  };
  for (const [key, value] of Object.entries(settings)) set(key, value);
  await Deno.writeTextFile(`${dir}/networks_list`, `${network}\n`);
  await Deno.writeTextFile(`${dir}/networks_whitelist`, "");
  await Deno.writeTextFile(`${dir}/fastnetmon.conf`, conf);
  return [
    "fastnetmon",
    "--configuration_file",
    `${dir}/fastnetmon.conf`,
    "--log_file",
    `${dir}/fastnetmon.log`,
    "--log_to_console",
    "--disable_pid_logic",
  ];
}

/** fastnetmon_total_simple_packets_processed from its Prometheus text, or null. */
export function fastnetmonPackets(metrics: string): number | null {
  const m = /^fastnetmon_total_simple_packets_processed (\d+)/m.exec(metrics);
  return m ? Number(m[1]) : null;
}
