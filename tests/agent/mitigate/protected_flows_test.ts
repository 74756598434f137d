import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  createNetnsPair,
  hasCommand,
  netnsAvailable,
  type NetnsPair,
} from "../../support/netns.ts";
import { MitigatorProcess } from "../../support/mitigator_client.ts";
import type { ProtectedFlows } from "../../../core/mitigate/mod.ts";

const netnsReason = await netnsAvailable();
/** A source no protected flow names (the probes are forged from it). */
const STRANGER = "198.19.9.9";

async function needs(): Promise<void> {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["hping3", "nft", "iptables", "ipset", "ping"]) {
    assert(await hasCommand(tool), `${tool} missing`);
  }
}

/** A pair where `b` runs the agent and `a` is its control plane, resolver and gateway. */
async function setup(): Promise<{ pair: NetnsPair; flows: ProtectedFlows; dir: string }> {
  const pair = await createNetnsPair({ prefix: "ftp" });
  // Forged probes from 198.19.0.0/16 must pass reverse-path checks in `b`.
  await pair.run(pair.b, ["ip", "route", "add", "198.19.0.0/16", "via", pair.addrA]);
  await pair.run(pair.b, ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/tcp_syncookies"]);
  const dir = await Deno.makeTempDir({ prefix: "ftp-" });
  const flows: ProtectedFlows = {
    controlPlane: [{ address: pair.addrA, port: 8080 }],
    sshPorts: [22],
    metricsPort: 9847,
    resolvers: [pair.addrA],
    gateways: [pair.addrA],
  };
  return { pair, flows, dir };
}

/** IP datagrams that got past `b`'s firewall. */
async function delivered(pair: NetnsPair): Promise<number> {
  const snmp = await pair.run(pair.b, ["cat", "/proc/net/snmp"]);
  const lines = snmp.split("\n").filter((l) => l.startsWith("Ip:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/).map(Number);
  return values[names.indexOf("InDelivers")] + values[names.indexOf("InUnknownProtos")];
}

/** Sends 50 packets with hping3 `args` from `a` to `b`; returns how many `b` let in. */
async function through(pair: NetnsPair, args: string[]): Promise<number> {
  const before = await delivered(pair);
  await pair.exec(pair.a, ["timeout", "5", "hping3", "-q", ...args, "-c", "50", "-i", "u2000"]);
  return (await delivered(pair)) - before;
}

/** Every protected flow still works: heartbeat, SSH, resolver, metrics, pings from the gateway. */
async function reachable(pair: NetnsPair, agent: MitigatorProcess, cp: MitigatorProcess) {
  assertEquals(await agent.call("fetch", { url: `http://${pair.addrA}:8080/` }), "heartbeat ok");
  assertEquals(await cp.call("connect", { host: pair.addrB, port: 22 }), "hi", "SSH");
  assertEquals(await agent.call("connect", { host: pair.addrA, port: 53 }), "hi", "resolver");
  assertEquals(await agent.call("connect", { host: "127.0.0.1", port: 9847 }), "hi", "metrics");
  const ping = await pair.exec(pair.a, ["ping", "-c", "1", "-W", "2", pair.addrB]);
  assertEquals(ping.code, 0, `ping from the gateway: ${ping.stdout}`);
}

const cmd = (id: number, text: string) => ({ command: { id, command_text: text } });

/** Hostile commands that would cut a protected flow, and what becomes of each. */
const HOSTILE: [string, "applied" | "failed"][] = [
  ["iptables -I INPUT -p tcp --sport 8080 -j DROP", "applied"],
  ["nft add rule inet filter input tcp sport 8080 drop", "applied"],
  ["iptables -I INPUT -p udp --dport 53 -j DROP", "applied"],
  ["iptables -I INPUT -p tcp --sport 53 -j DROP", "applied"],
  ["iptables -I INPUT -p icmp -j DROP", "applied"],
  ["iptables -I INPUT -p gre -j DROP", "applied"],
  ["iptables -I INPUT -p tcp --dport 22 -j DROP", "failed"],
  [
    "iptables -I INPUT -p tcp --syn --dport 22 -m hashlimit --hashlimit-above 1/sec -j DROP",
    "failed",
  ],
  [
    "iptables -I INPUT -p tcp --dport 9847 -m hashlimit --hashlimit-above 1/sec -j DROP",
    "failed",
  ],
];

for (const backend of ["nftables", "iptables"] as const) {
  Deno.test({
    name: `${backend}: commands aimed at the control plane, SSH, DNS, metrics and the gateway ` +
      "leave them reachable, while an NTP source-port drop still drops",
    async fn() {
      await needs();
      const { pair, flows, dir } = await setup();
      const agent = new MitigatorProcess(pair, pair.b);
      const cp = new MitigatorProcess(pair, pair.a);
      try {
        await cp.call("serve", { hostname: pair.addrA, port: 8080 });
        await cp.call("listen", { hostname: pair.addrA, port: 53 });
        await agent.call("listen", { hostname: "0.0.0.0", port: 22 });
        await agent.call("listen", { hostname: "127.0.0.1", port: 9847 });
        await agent.call("start", { dir, backend, flows });
        await reachable(pair, agent, cp);
        const ntp = ["--udp", "-a", STRANGER, "-s", "123", "-k", "-p", "9000", pair.addrB];
        const icmp = ["--icmp", "-a", STRANGER, pair.addrB];
        assert((await through(pair, ntp)) >= 45, "NTP flows before");
        assert((await through(pair, icmp)) >= 45, "ICMP flows before");

        let id = 1;
        for (const [text, status] of HOSTILE) {
          const out = await agent.call("command", cmd(id++, text)) as { status: string };
          assertEquals(out.status, status, `${text}: ${JSON.stringify(out)}`);
        }
        const ssh = await agent.call("command", cmd(id++, HOSTILE[6][0])) as { error: string };
        assertMatch(ssh.error, /TCP port 22 is the host's SSH \(management\) port/);
        await reachable(pair, agent, cp);

        // The standard broad mitigation still works, and the narrowed ICMP drop still drops.
        const out = await agent.call(
          "command",
          cmd(id++, "iptables -I INPUT -p udp --sport 123 -j DROP"),
        );
        assertEquals(out, { status: "applied", error: null });
        assertEquals(await through(pair, ntp), 0, "NTP from a stranger dropped");
        assertEquals(await through(pair, icmp), 0, "ICMP from a stranger dropped");

        // Whatever shape reaches the firewall (here past the refusal), SSH stays reachable.
        await agent.call("apply", {
          actions: [{
            type: "drop_traffic",
            target: null,
            protocol: 6,
            src_port: null,
            dst_port: 22,
            pps: 0,
            ttl_s: 60,
          }],
        });
        await reachable(pair, agent, cp);
        await agent.call("stop");
      } finally {
        await agent.close();
        await cp.close();
        await pair.destroy();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** The elements of the agent's nft set `set` in `b`. */
async function nftSet(pair: NetnsPair, set: string): Promise<string> {
  return (await pair.run(pair.b, ["nft", "list", "set", "inet", "ftagent", set]))
    .replace(/\s+/g, " ");
}

for (const backend of ["nftables", "iptables"] as const) {
  Deno.test({
    name: `${backend}: widening a host block to its network replaces the host, and narrowing ` +
      "back restores it",
    async fn() {
      await needs();
      const { pair, flows, dir } = await setup();
      const agent = new MitigatorProcess(pair, pair.b);
      try {
        await agent.call("start", { dir, backend, flows });
        const host = ["--udp", "-a", "198.19.5.7", "-p", "9000", pair.addrB];
        const neighbour = ["--udp", "-a", "198.19.5.9", "-p", "9000", pair.addrB];
        const applied = { status: "applied", error: null };
        assertEquals(
          await agent.call("command", cmd(1, "iptables -I INPUT -s 198.19.5.7 -j DROP")),
          applied,
        );
        assertEquals(
          await agent.call("command", cmd(2, "ipset add blocked 198.19.5.0/24 timeout 3")),
          applied,
        );
        // A host inside a network already blocked: accepted, nothing to add.
        assertEquals(
          await agent.call("command", cmd(3, "iptables -I INPUT -s 198.19.6.0/24 -j DROP")),
          applied,
        );
        assertEquals(
          await agent.call("command", cmd(4, "iptables -I INPUT -s 198.19.6.7 -j DROP")),
          applied,
        );
        if (backend === "nftables") {
          const src4 = await nftSet(pair, "src4");
          assertMatch(src4, /198\.19\.5\.0\/24 timeout/);
          assertMatch(src4, /198\.19\.6\.0\/24 timeout/);
          assert(!/198\.19\.[56]\.7 /.test(src4), src4);
        }
        assertEquals(await through(pair, host), 0, "host dropped");
        assertEquals(await through(pair, neighbour), 0, "network dropped");
        // The network's 3 s run out: the host's own block (600 s) is back in force.
        await new Promise((r) => setTimeout(r, 3500));
        await agent.call("sweep");
        if (backend === "nftables") assertMatch(await nftSet(pair, "src4"), /198\.19\.5\.7 /);
        assertEquals(await through(pair, host), 0, "host still dropped");
        assert((await through(pair, neighbour)) >= 45, "the rest of the network flows again");
        await agent.call("stop");
      } finally {
        await agent.close();
        await pair.destroy();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

for (const backend of ["nftables", "iptables"] as const) {
  Deno.test({
    name: `${backend}: stop leaves no table or chain and puts tcp_syncookies back, and a ` +
      "dry_run start clears what a killed run left",
    async fn() {
      await needs();
      const { pair, flows, dir } = await setup();
      const syncookies = async () =>
        (await pair.run(pair.b, ["cat", "/proc/sys/net/ipv4/tcp_syncookies"])).trim();
      const gone = async () =>
        backend === "nftables"
          ? (await pair.exec(pair.b, ["nft", "list", "table", "inet", "ftagent"])).code !== 0
          : (await pair.exec(pair.b, ["iptables", "-t", "raw", "-S", "FTAGENT"])).code !== 0;
      await pair.run(pair.b, ["nft", "add", "table", "inet", "other"]);
      let agent: MitigatorProcess | null = null;
      try {
        agent = new MitigatorProcess(pair, pair.b);
        await agent.call("start", { dir, backend, flows });
        const applied = { status: "applied", error: null };
        assertEquals(
          await agent.call("command", cmd(1, "sysctl -w net.ipv4.tcp_syncookies=1")),
          applied,
        );
        assertEquals(await syncookies(), "1");
        assertEquals(
          await agent.call(
            "command",
            cmd(
              2,
              "iptables -I INPUT -p udp --dport 7000 -m hashlimit --hashlimit-above 9/sec -j DROP",
            ),
          ),
          applied,
        );
        await agent.call("stop");
        assert(await gone(), "the agent's table/chain is gone after stop");
        assertEquals(await syncookies(), "0", "tcp_syncookies put back");
        await agent.close();

        // Killed (no stop) with nothing in force: an inert table stays behind...
        agent = new MitigatorProcess(pair, pair.b);
        await agent.call("start", { dir, backend, flows });
        await agent.close();
        assert(!await gone(), "a killed run leaves its table");
        // ...which the next start removes, even in dry_run mode.
        agent = new MitigatorProcess(pair, pair.b);
        await agent.call("start", {
          dir,
          backend,
          flows,
          mitigation: { mode: "dry_run" },
        });
        assert(await gone(), "the next start removed it");
        await agent.call("stop");
        await agent.close();
        assertMatch(await pair.run(pair.b, ["nft", "list", "tables"]), /table inet other/);
      } finally {
        await agent?.close();
        await pair.destroy();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
