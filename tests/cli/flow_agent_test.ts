// The agent as a flow collector (flow_enabled): a real exporter (softflowd, NetFlow v9 and
// IPFIX) watches the target's veth inside a namespace pair while hping3 floods the target at a
// bounded rate; the agent (a real `ftagent` process in the target's namespace, collecting on
// its loopback) must open an incident of the right family on the target, at the rate tcpdump
// counted on the same veth within the flows' aggregation error.
import { assert, assertEquals } from "../support/assert.ts";
import { ftagent, run } from "../support/cli.ts";
import { LiveAgent } from "../support/mitigation_live.ts";
import { createNetnsPair, hasCommand, netnsAvailable } from "../support/netns.ts";

// These tests need root, namespaces, softflowd, hping3 and tcpdump: when one is missing they fail
// (CI installs them), they never skip silently.
const netnsReason = await netnsAvailable();

/** Flood packets per second asked of hping3 (it sends somewhat fewer: tcpdump says how many). */
const FLOOD_PPS = 2000;
/** Flood length (s). */
const FLOOD_SECONDS = 6;

interface Case {
  version: 9 | 10;
  protocol: "netflow_v9" | "ipfix";
  flood: "syn" | "udp";
}

/** Flood packets tcpdump kept in `path` (filter `filter`): count, mean and peak 1-s rates. */
async function floodRates(path: string, filter: string) {
  const out = await run(["tcpdump", "-nn", "-tt", "-r", path, filter]);
  const times = out.stdout.split("\n").filter((l) => /^\d+\.\d+ /.test(l)).map((l) =>
    Number(l.split(" ")[0])
  );
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1) j++;
    peak = Math.max(peak, i - j + 1);
  }
  const span = times.length > 1 ? times[times.length - 1] - times[0] : 1;
  return { packets: times.length, mean: times.length / span, peak };
}

async function floodThroughFlows(c: Case): Promise<void> {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["softflowd", "softflowctl", "hping3", "tcpdump"]) {
    assert(await hasCommand(tool), `${tool} is not installed (add it to .ci/run APT_PACKAGES)`);
  }
  const pair = await createNetnsPair({ prefix: "ftf" });
  const dir = await Deno.makeTempDir({ prefix: "ftf-" });
  const children: Deno.ChildProcess[] = [];
  let agent: LiveAgent | null = null;
  try {
    // The filler's target: a second address of the target's veth, so its pings are apart.
    const filler = pair.addrB.replace(/\.2$/, ".3");
    await pair.run(pair.b, ["ip", "addr", "add", `${filler}/32`, "dev", pair.ifB]);
    const mac = (await pair.run(pair.b, ["cat", `/sys/class/net/${pair.ifB}/address`])).trim();
    const neigh = ["ip", "neigh", "replace", filler, "lladdr", mac, "dev", pair.ifA, "nud"];
    await pair.run(pair.a, [...neigh, "permanent"]);
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        state_dir: dir,
        log_file: "",
        pcap_enabled: true, // flows have no frames: no PCAP evidence, and no error
        metrics_port: 0,
        protected_networks: [pair.addrB, filler], // their RSTs / ICMP errors are outbound
        dynamic_threshold: false,
        pps_threshold: 500,
        syn_pps_threshold: 500,
        udp_pps_threshold: 500,
        confirm_seconds: 1,
        attack_holddown: 2,
        attack_cooldown: 10,
        flow_enabled: true,
        flow_protocol: c.protocol,
        flow_bind: "127.0.0.1",
        flow_source_ips: ["127.0.0.1"],
      }),
    );
    const port = c.version === 10 ? 4739 : 2055;
    agent = new LiveAgent({ pair, dir, config, sources: [], destroy: () => Promise.resolve() });
    await agent.waitFor(new RegExp(`collecting flows: flow ${c.protocol} 127\\.0\\.0\\.1:${port}`));
    const filter = c.flood === "syn"
      ? `dst host ${pair.addrB} and tcp[tcpflags] == tcp-syn`
      : `dst host ${pair.addrB} and udp dst port 9999`;
    const pcap = `${dir}/flood.pcap`;
    const tcpdump = pair.spawn(pair.b, [
      "tcpdump",
      "-nn",
      "-U",
      "-i",
      pair.ifB,
      "-w",
      pcap,
      filter,
    ]);
    children.push(tcpdump);
    // softflowd: one record per flow every 2 s at most (maxlife), checked every second.
    const softflowd = pair.spawn(pair.b, [
      "softflowd",
      "-d",
      "-i",
      pair.ifB,
      "-n",
      `127.0.0.1:${port}`,
      "-v",
      String(c.version),
      "-p",
      `${dir}/softflowd.pid`,
      "-c",
      `${dir}/softflowd.ctl`,
      "-t",
      "maxlife=2",
      "-t",
      "expint=1",
    ]);
    children.push(softflowd);
    await new Promise((r) => setTimeout(r, 1500));
    const count = String(FLOOD_PPS * FLOOD_SECONDS);
    const every = `u${Math.round(1e6 / FLOOD_PPS)}`;
    const hping = c.flood === "syn"
      ? ["hping3", "-q", "-S", "-p", "80", "-s", "40000", "-k", "-i", every, "-c", count]
      : ["hping3", "-q", "--udp", "-p", "9999", "-s", "50000", "-k", "-d", "64", "-i", every];
    if (c.flood === "udp") hping.push("-c", count);
    await pair.exec(pair.a, ["timeout", String(FLOOD_SECONDS * 3), ...hping, pair.addrB]);
    // softflowd 1.1.0 on libpcap 1.10 sees packets when a capture block fills: a filler ping
    // flood pushes the flood's last packets out (tests/fixtures/flows/README.md), then every
    // flow is exported.
    await pair.exec(pair.a, ["ping", "-q", "-f", "-c", "3000", "-s", "1000", filler]);
    await pair.exec(pair.b, ["softflowctl", "-c", `${dir}/softflowd.ctl`, "expire-all"]);
    const family = c.flood === "syn" ? "syn_flood" : "udp_flood";
    const target = pair.addrB.replaceAll(".", "\\.");
    await agent.waitFor(new RegExp(`incident open [0-9a-f-]{36}: ${family}/\\S+ on ${target},`));
    await new Promise((r) => setTimeout(r, 1000)); // the expired flows' datagrams arrive
    assertEquals(await agent.stop(), 0);
    const resolved = new RegExp(
      `incident resolve ([0-9a-f-]{36}): ${family}/\\S+ on ${target}, peak (\\d+) pps`,
    ).exec(agent.text);
    assert(resolved !== null, agent.text);
    tcpdump.kill("SIGTERM");
    await tcpdump.status;
    const wire = await floodRates(pcap, filter);
    const peak = Number(resolved[2]);
    const ratio = peak / wire.peak;
    const shown = await ftagent(["incidents", "show", resolved[1], "--json", "--config", config]);
    const total = Number(JSON.parse(shown.stdout).event.total_packets);
    const totalRatio = total / wire.packets;
    console.log(
      `${c.protocol} ${family}: agent peak ${peak} pps, ${total} packets; tcpdump ` +
        `${wire.packets} packets, mean ${wire.mean.toFixed(0)} pps, peak 1-s ${wire.peak}; ` +
        `ratios: peak ${ratio.toFixed(3)}, packets ${totalRatio.toFixed(3)}`,
    );
    // Every record is counted once, scaled by its sampling rate (1 here): the incident's
    // packets are the wire's, less what came before the rate crossed the threshold.
    assert(totalRatio > 0.8 && totalRatio < 1.1, `agent ${total} vs tcpdump ${wire.packets}`);
    // Records of up to 2 s (maxlife) are spread evenly over their length, and a late record
    // starts now: two records of the flow exported together overlap, so the peak may reach
    // up to twice the wire's.
    assert(ratio > 0.75 && ratio < 2, `agent peak ${peak} vs tcpdump peak ${wire.peak}`);
    assert(!agent.text.includes("PCAP:"), "no PCAP recorder for a flow source");
  } finally {
    await agent?.stop("SIGKILL").catch(() => {});
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.stdin.close().catch(() => {});
      await child.output().catch(() => {});
    }
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("ftagent with flow_enabled opens a SYN flood on the target from softflowd's NetFlow v9", async () => {
  await floodThroughFlows({ version: 9, protocol: "netflow_v9", flood: "syn" });
});

Deno.test("ftagent with flow_enabled opens a UDP flood on the target from softflowd's IPFIX", async () => {
  await floodThroughFlows({ version: 10, protocol: "ipfix", flood: "udp" });
});
