import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent } from "../support/cli.ts";
import { hasCommand, netnsAvailable } from "../support/netns.ts";
import {
  LiveAgent,
  type LiveSetup,
  liveSetup,
  logTime,
  udpDelivered,
  udpFlood,
  wireReceived,
} from "../support/mitigation_live.ts";

// These tests need root, namespaces, hping3, nft, iptables and ipset: when one is missing they
// fail (CI installs them), they never skip silently.
const netnsReason = await netnsAvailable();

async function requireTools(): Promise<void> {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["hping3", "nft", "iptables", "ip6tables", "ipset"]) {
    assert(await hasCommand(tool), `${tool} is not installed (add it to .ci/run APT_PACKAGES)`);
  }
}

/** Is `source` blocked in the target namespace's firewall (nft set element or ipset member)? */
async function blockListed(s: LiveSetup, backend: string, source: string): Promise<boolean> {
  const { pair } = s;
  if (backend === "nftables") {
    const r = await pair.exec(pair.b, ["nft", "list", "set", "inet", "ftagent", "src4"]);
    return r.code === 0 && r.stdout.includes(source);
  }
  const r = await pair.exec(pair.b, ["ipset", "list", "ftagent-src4"]);
  return r.code === 0 && new RegExp(`^${source.replaceAll(".", "\\.")} timeout \\d+`, "m").test(
    r.stdout,
  );
}

async function firewallText(s: LiveSetup, backend: string): Promise<string> {
  const argv = backend === "nftables" ? ["nft", "list", "ruleset"] : ["ipset", "list"];
  return (await s.pair.exec(s.pair.b, argv)).stdout;
}

/** Waits until the agent logged `what` (applied, undone) for the drop of every source. */
async function allLogged(agent: LiveAgent, s: LiveSetup, id: string, what: string) {
  for (const src of s.sources) {
    await agent.waitFor(
      new RegExp(`mitigation ${id}: ${what} drop all traffic from ${src.replaceAll(".", "\\.")} `),
    );
  }
}

/** Floods from every source until the agent blocks them; returns the open and block log times. */
async function floodUntilBlocked(s: LiveSetup, agent: LiveAgent) {
  const wire0 = await wireReceived(s);
  const udp0 = await udpDelivered(s);
  const floods = s.sources.map((src) => udpFlood(s, src, 8000));
  const open = await agent.waitFor(/incident open ([0-9a-f-]{36}): udp_flood\/\w+/);
  const id = open[1];
  await allLogged(agent, s, id, "applied");
  // Counted from here on: everything the flood still sends arrives after the blocks.
  const wire1 = await wireReceived(s);
  const udp1 = await udpDelivered(s);
  await Promise.all(floods);
  const wire2 = await wireReceived(s);
  const udp2 = await udpDelivered(s);
  return {
    id,
    before: { wire: wire1 - wire0, udp: udp1 - udp0 },
    after: { wire: wire2 - wire1, udp: udp2 - udp1 },
  };
}

for (const backend of ["nftables", "iptables"] as const) {
  Deno.test(`${backend}: the agent blocks a live flood's sources within 2 s and removes the block on resolve`, async () => {
    await requireTools();
    const s = await liveSetup({ backend, ttl_seconds: 60 });
    const agent = new LiveAgent(s);
    try {
      await agent.waitFor(new RegExp(`mitigation: ${backend} ready \\(auto mode\\)`));
      await agent.waitFor(/capturing on/);
      const r = await floodUntilBlocked(s, agent);
      const opened = logTime(agent.text, new RegExp(`incident open ${r.id}`));
      let latest = 0;
      for (const src of s.sources) {
        const applied = logTime(
          agent.text,
          new RegExp(
            `mitigation ${r.id}: applied drop all traffic from ${src.replaceAll(".", "\\.")}`,
          ),
        );
        assert(applied - opened <= 2000, `${src} blocked ${applied - opened} ms after the open`);
        latest = Math.max(latest, applied - opened);
        assert(await blockListed(s, backend, src), `${src} in the block list`);
      }
      // Before the blocks the flood reached the UDP layer; after them, (almost) none of it.
      assert(r.before.wire > 0 && r.before.udp >= 0.5 * r.before.wire, JSON.stringify(r));
      assert(r.after.wire >= 1000, `the flood went on after the block: ${JSON.stringify(r)}`);
      assert(r.after.udp <= 0.01 * r.after.wire, `>= 99% dropped: ${JSON.stringify(r)}`);
      console.log(
        `${backend}: 4 sources blocked at most ${latest} ms after the open; after the blocks ` +
          `${r.after.udp} of ${r.after.wire} flood packets reached UDP ` +
          `(before: ${r.before.udp} of ${r.before.wire})`,
      );

      // The flood is over: the incident resolves and every block goes.
      await agent.waitFor(new RegExp(`incident resolve ${r.id}`), 20000);
      await allLogged(agent, s, r.id, "undone");
      for (const src of s.sources) {
        assert(!(await blockListed(s, backend, src)), `${src} unblocked`);
      }
      const u0 = await udpDelivered(s);
      await udpFlood(s, s.sources[0], 100, 5, 2000);
      const flowed = (await udpDelivered(s)) - u0;
      assert(flowed >= 95, `traffic flows again after resolve: ${flowed} of 100`);

      assertEquals(await agent.stop(), 0, agent.text);
      const list = await ftagent(["mitigation", "list", "--json", "--config", s.config]);
      assertEquals(list.code, 0, list.stderr);
      const rows = list.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const mine = rows.filter((row) => row.incident === r.id);
      assertEquals(mine.length, 4);
      for (const row of mine) {
        assertEquals(row.state, "undone");
        assertEquals(row.result, "incident resolved");
        assertEquals(row.backend, backend);
      }
    } finally {
      await agent.stop("SIGKILL");
      await s.destroy();
    }
  });

  Deno.test(`${backend}: after SIGKILL the block expires by its kernel timeout and the next start clears leftovers`, async () => {
    await requireTools();
    const s = await liveSetup({ backend, ttl_seconds: 5 });
    let agent = new LiveAgent(s);
    try {
      await agent.waitFor(/capturing on/);
      const floods = s.sources.map((src) => udpFlood(s, src, 8000));
      const id = (await agent.waitFor(/incident open ([0-9a-f-]{36})/))[1];
      await allLogged(agent, s, id, "applied");
      await agent.stop("SIGKILL");
      const killed = performance.now();
      assert(
        await blockListed(s, backend, s.sources[0]),
        `still blocked right after the kill: ${await firewallText(s, backend)}\n${agent.text}`,
      );
      await Promise.all(floods);
      // No agent runs: the kernel's timeout lifts the block.
      while (await blockListed(s, backend, s.sources[0])) {
        assert(performance.now() - killed < 11000, "the block outlived its 5 s timeout by 6 s");
        await new Promise((res) => setTimeout(res, 200));
      }
      const u0 = await udpDelivered(s);
      await udpFlood(s, s.sources[0], 100, 5, 2000);
      assert((await udpDelivered(s)) - u0 >= 95, "traffic flows once the block expired");

      // The next start finds the records a killed agent left and undoes them.
      agent = new LiveAgent(s);
      await agent.waitFor(/leftovers undone/);
      assertMatch(agent.text, /mitigation: \w+ ready \(auto mode\), 4 leftovers undone/);
      assertMatch(
        agent.text,
        new RegExp(`mitigation ${id}: undone .* \\(left by a previous run\\)`),
      );
      // The signal handlers come a moment after the start-up lines.
      await agent.waitFor(/new baseline|baseline restored/);
      await new Promise((res) => setTimeout(res, 1000));
      assertEquals(await agent.stop(), 0, agent.text);
    } finally {
      await agent.stop("SIGKILL");
      await s.destroy();
    }
  });
}

/** TCP segments the target's TCP layer took in (after the firewall). */
async function tcpInSegs(s: LiveSetup): Promise<number> {
  const snmp = await s.pair.run(s.pair.b, ["cat", "/proc/net/snmp"]);
  const lines = snmp.split("\n").filter((l) => l.startsWith("Tcp:"));
  return Number(lines[1].split(/\s+/)[lines[0].split(/\s+/).indexOf("InSegs")]);
}

async function syncookies(s: LiveSetup): Promise<string> {
  return (await s.pair.run(s.pair.b, ["cat", "/proc/sys/net/ipv4/tcp_syncookies"])).trim();
}

for (const backend of ["nftables", "iptables"] as const) {
  Deno.test(`${backend}: a spoofed SYN flood gets a SYN rate limit and SYN cookies, both undone on resolve`, async () => {
    await requireTools();
    const s = await liveSetup({ backend, syn_rate_limit_pps: 100 });
    const { pair } = s;
    await pair.run(pair.b, ["sysctl", "-qw", "net.ipv4.tcp_syncookies=0"]);
    const agent = new LiveAgent(s);
    try {
      await agent.waitFor(/capturing on/);
      const flood = pair.exec(pair.a, [
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
        pair.addrB,
      ]);
      const id = (await agent.waitFor(/incident open ([0-9a-f-]{36}): syn_flood\/syn_flood/))[1];
      await agent.waitFor(new RegExp(`mitigation ${id}: applied turn on SYN cookies`));
      await agent.waitFor(
        new RegExp(
          `mitigation ${id}: applied limit TCP SYN to 100 pps towards ${pair.addrB} port 80`,
        ),
      );
      assertMatch(
        agent.text,
        new RegExp(`mitigation ${id}: sources are spoofed: not blocking sources`),
      );
      assertEquals(await syncookies(s), "1");
      const wire0 = await wireReceived(s);
      const tcp0 = await tcpInSegs(s);
      await flood;
      const wire = (await wireReceived(s)) - wire0;
      const tcp = (await tcpInSegs(s)) - tcp0;
      assert(wire >= 3000, `the flood went on after the limit: ${wire} packets`);
      // About 100 SYN/s get through out of thousands: far under a quarter.
      assert(tcp <= 0.25 * wire, `SYNs past the limit: ${tcp} of ${wire}`);
      console.log(`${backend}: after the SYN limit ${tcp} of ${wire} SYNs reached TCP`);

      await agent.waitFor(new RegExp(`incident resolve ${id}`), 20000);
      await agent.waitFor(new RegExp(`mitigation ${id}: undone turn on SYN cookies`));
      await agent.waitFor(new RegExp(`mitigation ${id}: undone limit TCP SYN`));
      assertEquals(await syncookies(s), "0", "SYN cookies back to the value before");
      const t0 = await tcpInSegs(s);
      await pair.exec(pair.a, [
        "timeout",
        "5",
        "hping3",
        "-q",
        "-S",
        "-p",
        "80",
        "-c",
        "200",
        "-i",
        "u300",
        pair.addrB,
      ]);
      assert((await tcpInSegs(s)) - t0 >= 190, "SYNs flow again after resolve");
      assertEquals(await agent.stop(), 0, agent.text);
    } finally {
      await agent.stop("SIGKILL");
      await s.destroy();
    }
  });
}

Deno.test("manual mode: the agent proposes, `ftagent mitigation approve` applies, the agent undoes on resolve", async () => {
  await requireTools();
  const s = await liveSetup({ mode: "manual" });
  const agent = new LiveAgent(s);
  try {
    await agent.waitFor(/capturing on/);
    const floods = s.sources.map((src) => udpFlood(s, src, 8000));
    const id = (await agent.waitFor(/incident open ([0-9a-f-]{36})/))[1];
    await agent.waitFor(
      new RegExp(`mitigation ${id}: approve with: ftagent mitigation approve ${id}`),
    );
    await allLogged(agent, s, id, "proposed");
    assert(!(await blockListed(s, "nftables", s.sources[0])), "nothing applied before approval");
    const approve = await ftagent(["mitigation", "approve", id, "--config", s.config], [
      "ip",
      "netns",
      "exec",
      s.pair.b,
    ]);
    assertEquals(approve.code, 0, approve.stderr);
    assertMatch(approve.stdout, new RegExp(`incident ${id}: 4 applied, 0 failed`));
    for (const src of s.sources) assert(await blockListed(s, "nftables", src), `${src} blocked`);
    await Promise.all(floods);
    await agent.waitFor(new RegExp(`incident resolve ${id}`), 20000);
    await allLogged(agent, s, id, "undone");
    for (const src of s.sources) {
      assert(!(await blockListed(s, "nftables", src)), `${src} unblocked`);
    }
    assertEquals(await agent.stop(), 0, agent.text);
    const again = await ftagent(["mitigation", "approve", id, "--config", s.config]);
    assertEquals(again.code, 1);
    assertMatch(again.stderr, /no proposed actions for incident/);
  } finally {
    await agent.stop("SIGKILL");
    await s.destroy();
  }
});
