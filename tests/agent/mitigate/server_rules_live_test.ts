// Server rules (issue 16 item 3) on a real Mitigator in a namespace: playbooks, REJECT,
// conntrack, length, per-source limits, FORWARD/raw PREROUTING, sysctl and xdp specs become
// real nft state in the agent's own table; traffic shows they act and that the protected flows
// (SSH) are spared; -D, iptables_unblock, expiry and stop undo them and put sysctls back; a
// playbook whose second line fails leaves nothing applied.
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
const STRANGER = "198.19.9.9";
const FLOODER = "198.19.9.10";
const LATER = "198.19.9.11";

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

/** The agent's chains and the number of timed elements of its `g_*` maps. */
async function table(pair: NetnsPair): Promise<{ chains: string[]; live: number } | null> {
  const r = await pair.exec(pair.b, ["nft", "-j", "list", "table", "inet", "ftagent"]);
  if (r.code !== 0) return null;
  const items = JSON.parse(r.stdout).nftables as Record<string, Record<string, unknown>>[];
  const chains = items.filter((o) => o.chain).map((o) => String(o.chain.name))
    .filter((n) => n !== "prerouting" && n !== "keep" && !n.startsWith("rl_"));
  const live = items.filter((o) => o.map && String(o.map.name).startsWith("g_"))
    .reduce((n, o) => n + ((o.map.elem as unknown[] | undefined)?.length ?? 0), 0);
  return { chains: chains.map((n) => n.replace(/_[0-9a-f]{8}$/, "_*")).sort(), live };
}

const sysctl = async (pair: NetnsPair, key: string) =>
  (await pair.run(pair.b, ["sysctl", "-n", key])).trim();

const cmd = (id: number, text: string, type = "iptables") => ({
  command: { id, command_type: type, command_text: text },
});

Deno.test("server playbooks become nft rules, sysctls and timed elements in the agent's table, act on traffic, spare SSH, and are undone by -D, unblock, expiry and stop", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["hping3", "nft"]) assert(await hasCommand(tool), `${tool} missing`);
  const pair = await createNetnsPair({ prefix: "fts" });
  const dir = await Deno.makeTempDir({ prefix: "fts-" });
  const agent = new MitigatorProcess(pair, pair.b);
  try {
    await pair.run(pair.b, ["ip", "route", "add", "198.19.0.0/16", "via", pair.addrA]);
    const synackBefore = await sysctl(pair, "net.ipv4.tcp_synack_retries");
    const rfcBefore = await sysctl(pair, "net.ipv4.tcp_rfc1337");
    assert(synackBefore !== "2" && rfcBefore === "0", `${synackBefore} ${rfcBefore}`);
    const flows: ProtectedFlows = {
      controlPlane: [],
      sshPorts: [22],
      metricsPort: 0,
      resolvers: [],
      gateways: [],
    };
    await agent.call("start", { dir, backend: "nftables", flows });
    const syn = (src: string, port: number) => ["-S", "-a", src, "-p", String(port), pair.addrB];
    const udp = (
      size: number,
    ) => ["--udp", "-a", LATER, "-p", "9000", "-d", String(size), pair.addrB];
    assertEquals(await through(pair, syn(STRANGER, 80)), 50, "SYNs flow before");

    // 1. One playbook, one ack: every line in force.
    const playbook = [
      "# flood playbook",
      "sysctl -w net.ipv4.tcp_synack_retries=2",
      `iptables -I INPUT -s ${STRANGER} -p tcp --dport 1:1024 -j DROP`,
      "iptables -t raw -I PREROUTING -p udp -m length --length 1000:65535 -j DROP",
      `iptables -A INPUT -p tcp --dport 8080 -m hashlimit --hashlimit-above 5/sec --hashlimit-burst 5 --hashlimit-mode srcip --hashlimit-name h -j DROP`,
      "ip6tables -I INPUT -m conntrack --ctstate INVALID -j DROP",
      `iptables -I FORWARD -s ${STRANGER} -j REJECT`,
    ].join("\n");
    assertEquals(await agent.call("command", cmd(1, playbook)), { status: "applied", error: null });
    assertEquals(await sysctl(pair, "net.ipv4.tcp_synack_retries"), "2");
    assertEquals(await table(pair), {
      chains: ["cmd_fwd", "cmd_in", "cmd_pre", "s_*", "s_*", "s_*", "s_*", "s_*"],
      live: 5,
    });
    assertEquals(await through(pair, syn(STRANGER, 80)), 0, "SYNs to port 80 from the source");
    assertEquals(await through(pair, syn(STRANGER, 22)), 50, "SSH from the same source is spared");
    assertEquals(await through(pair, udp(1200)), 0, "large UDP dropped in raw PREROUTING");
    assertEquals(await through(pair, udp(100)), 50, "small UDP flows");
    const limited = await through(pair, syn(FLOODER, 8080));
    assert(limited >= 3 && limited <= 15, `per-source limit let ${limited} of 50 SYNs in`);
    const other = await through(pair, syn(LATER, 8080));
    assert(other >= 3 && other <= 15, `a second source has its own budget: ${other} of 50`);
    const meter = await pair.run(pair.b, ["nft", "list", "table", "inet", "ftagent"]);
    assert(meter.includes(FLOODER) && meter.includes(LATER), meter);

    // 2. The server deletes one rule (-D) and one block (unblock); nothing else changes.
    const del = `iptables -D INPUT -s ${STRANGER} -p tcp --dport 1:1024 -j DROP`;
    assertEquals(await agent.call("command", cmd(2, del)), { status: "applied", error: null });
    assertEquals((await table(pair))?.live, 4);
    assertEquals(await through(pair, syn(STRANGER, 80)), 50, "SYNs flow after -D");
    const again = await agent.call("command", cmd(3, del)) as { status: string; error: string };
    assertEquals(again.status, "failed");
    assertMatch(again.error, /no rule the server added is in force/);
    await agent.call("command", {
      command: {
        id: 4,
        action: "iptables_block",
        source_ip: LATER,
        protocol: "udp",
        duration: 600,
      },
    });
    assertEquals(await through(pair, udp(100)), 0, "blocked by iptables_block");
    assertEquals(
      await agent.call("command", {
        command: { id: 5, action: "iptables_unblock", source_ip: LATER, protocol: "udp" },
      }),
      { status: "applied", error: null },
    );
    assertEquals(await through(pair, udp(100)), 50, "unblocked");

    // 3. An xdp rule spec with a 2 s duration: the kernel element expires, the sweep cleans up.
    const spec = JSON.stringify({
      action: "drop",
      src: LATER,
      protocol: "tcp",
      dst_port: "8000-8100",
      duration: 2,
    });
    assertEquals(await agent.call("command", cmd(6, spec, "xdp")), {
      status: "applied",
      error: null,
    });
    assertEquals(await through(pair, syn(LATER, 8050)), 0, "xdp rule drops");
    await new Promise((r) => setTimeout(r, 2500));
    assertEquals(await through(pair, syn(LATER, 8050)), 50, "expired in the kernel");
    await agent.call("sweep");
    assertEquals((await table(pair))?.chains.filter((c) => c === "s_*").length, 4);

    // 4. A refused line refuses the whole playbook; a line failing to apply rolls back the rest.
    const refused = await agent.call(
      "command",
      cmd(7, `sysctl -w net.ipv4.tcp_rfc1337=1\niptables -I INPUT -p tcp --dport 22 -j DROP`),
    ) as { status: string; error: string };
    assertMatch(refused.error, /^line 2: TCP port 22 is the host's SSH/);
    assertEquals(await sysctl(pair, "net.ipv4.tcp_rfc1337"), "0");
    const conflict = await agent.call("command", cmd(8, "sysctl -w net.ipv4.tcp_synack_retries=3"));
    assertMatch((conflict as { error: string }).error, /set to 2 by command:1/);

    // 5. Stop: the table goes, the sysctl comes back.
    await agent.call("stop");
    assertEquals(await table(pair), null);
    assertEquals(await sysctl(pair, "net.ipv4.tcp_synack_retries"), synackBefore);
    assertEquals(await through(pair, udp(1200)), 50, "large UDP flows after stop");
  } finally {
    await agent.close();
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a playbook whose second line fails to apply rolls back its first line and acks failed once", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  const pair = await createNetnsPair({ prefix: "fts" });
  const dir = await Deno.makeTempDir({ prefix: "fts-" });
  const agent = new MitigatorProcess(pair, pair.b);
  try {
    const flows = { controlPlane: [], sshPorts: [22], metricsPort: 0, resolvers: [], gateways: [] };
    await agent.call("start", { dir, backend: "nftables", flows });
    const first = await agent.call("command", cmd(1, `iptables -I INPUT -s ${STRANGER} -j DROP`));
    assertEquals(first, { status: "applied", error: null });
    // The operator removes the agent's table: the next firewall line cannot be applied.
    await pair.run(pair.b, ["nft", "delete", "table", "inet", "ftagent"]);
    const out = await agent.call(
      "command",
      cmd(
        2,
        `sysctl -w net.ipv4.tcp_rfc1337=1\niptables -I INPUT -s ${FLOODER} -p tcp --dport 443 -j REJECT`,
      ),
    ) as { status: string; error: string };
    assertEquals(out.status, "failed");
    assertMatch(
      out.error,
      /^line 2: nft -f -: .*Error: No such file or directory \(the steps before it were rolled back\)$/,
    );
    assertEquals(await sysctl(pair, "net.ipv4.tcp_rfc1337"), "0");
    const list = await pair.exec(pair.b, ["nft", "list", "table", "inet", "ftagent"]);
    assert(list.code !== 0, "nothing of the failed playbook stays");
    await agent.call("stop");
  } finally {
    await agent.close();
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("the server's ipsets become sets of the agent's table: created, filled, matched by a rule, emptied and destroyed in order", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["hping3", "nft"]) assert(await hasCommand(tool), `${tool} missing`);
  const pair = await createNetnsPair({ prefix: "fts" });
  const dir = await Deno.makeTempDir({ prefix: "fts-" });
  const agent = new MitigatorProcess(pair, pair.b);
  try {
    await pair.run(pair.b, ["ip", "route", "add", "198.19.0.0/16", "via", pair.addrA]);
    const flows = { controlPlane: [], sshPorts: [22], metricsPort: 0, resolvers: [], gateways: [] };
    await agent.call("start", { dir, backend: "nftables", flows });
    const udp = ["--udp", "-a", STRANGER, "-p", "9000", pair.addrB];
    const set = () => pair.exec(pair.b, ["nft", "list", "set", "inet", "ftagent", "x_blk"]);
    const playbook = [
      "ipset create blk hash:net family inet timeout 600 -exist",
      "iptables -I INPUT -m set --match-set blk src -p udp -j DROP",
      "ipset add blk 198.19.9.0/24",
    ].join("\n");
    assertEquals(await agent.call("command", cmd(1, playbook)), { status: "applied", error: null });
    assertMatch((await set()).stdout, /198\.19\.9\.0\/24 (timeout \S+ )?expires/);
    assertEquals(await through(pair, udp), 0, "UDP from a source in the set");
    const more = "nft add element inet ftagent x_blk { 198.19.8.0/24 timeout 60s }";
    assertEquals(await agent.call("command", cmd(2, more)), { status: "applied", error: null });
    assertMatch((await set()).stdout, /198\.19\.8\.0\/24 timeout 1m expires/);
    const busy = await agent.call("command", cmd(3, "ipset destroy blk")) as { error: string };
    assertMatch(busy.error, /set blk is used by a rule of command:1: delete the rule first/);
    const foreign = await agent.call("command", cmd(4, "ipset add blacklist 198.19.7.7"));
    assertEquals(foreign, { status: "applied", error: null }, "a set it did not create");
    assertMatch(
      await pair.run(pair.b, ["nft", "list", "set", "inet", "ftagent", "src4"]),
      /198\.19\.7\.7/,
    );
    const noSet = await agent.call(
      "command",
      cmd(5, "iptables -I INPUT -m set --match-set nosuch src -p udp -j DROP"),
    ) as { error: string };
    assertMatch(noSet.error, /set nosuch does not exist \(ipset create it first\)/);
    const del = "ipset del blk 198.19.9.0/24";
    assertEquals(await agent.call("command", cmd(6, del)), { status: "applied", error: null });
    assertEquals(await through(pair, udp), 50, "UDP flows once the element is gone");
    const end = "iptables -D INPUT -m set --match-set blk src -p udp -j DROP\nipset destroy blk";
    assertEquals(await agent.call("command", cmd(7, end)), { status: "applied", error: null });
    assert((await set()).code !== 0, "the set is destroyed");
    await agent.call("stop");
    assertEquals(await table(pair), null);
  } finally {
    await agent.close();
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("with the iptables backend a server rule or set is refused whole and plain drops still go into its ipsets", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["iptables", "ipset"]) assert(await hasCommand(tool), `${tool} missing`);
  const pair = await createNetnsPair({ prefix: "fts" });
  const dir = await Deno.makeTempDir({ prefix: "fts-" });
  const agent = new MitigatorProcess(pair, pair.b);
  try {
    const flows = { controlPlane: [], sshPorts: [22], metricsPort: 0, resolvers: [], gateways: [] };
    await agent.call("start", { dir, backend: "iptables", flows });
    const text =
      `iptables -I INPUT -s ${STRANGER} -j DROP\niptables -I INPUT -s ${FLOODER} -j REJECT`;
    const out = await agent.call("command", cmd(1, text)) as { status: string; error: string };
    assertEquals(out, {
      status: "failed",
      error: "line 2: this rule needs mitigation.backend nftables",
    });
    const sets = () => pair.run(pair.b, ["ipset", "list", "ftagent-src4"]);
    assert(!(await sets()).includes(STRANGER), "nothing of the refused playbook");
    const plain = await agent.call("command", cmd(2, `iptables -I INPUT -s ${STRANGER} -j DROP`));
    assertEquals(plain, { status: "applied", error: null });
    assertMatch(await sets(), new RegExp(STRANGER.replaceAll(".", "\\.")));
    await agent.call("stop");
    assertEquals((await pair.run(pair.b, ["ipset", "list", "-n"])).trim(), "");
  } finally {
    await agent.close();
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
