// Mirror mode live: a namespace pair where the sender routes 198.19.5.0/24 through the veth to
// the monitor namespace, which holds none of those addresses (as a SPAN port sees a rack's
// traffic). The agent runs in the monitor namespace with mirror_mode, mirror_interface set to
// its veth end and mirror_subnets the /24, named "rack-5" in `networks`. Background traffic
// goes to 250 addresses of the /24 all along; two of them are SYN-flooded by hping3 at once
// (bounded count and time): two incidents, each naming its address and the network. Then a
// UDP carpet bombing spread by hping3 --rand-dest over the whole /24, each address far below
// the thresholds: one incident naming the prefix. Between the two, /metrics (promtool) and
// `ftagent status --json` show the rows tracked and the prefixes' rates.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent, spawnFtagent } from "../support/cli.ts";
import { createNetnsPair, hasCommand, netnsAvailable } from "../support/netns.ts";
import { promtool } from "../support/promtool.ts";

// These tests need root, namespaces, hping3 and python3: when one is missing they fail (CI
// installs them), they never skip silently.
const netnsReason = await netnsAvailable();

const PREFIX = "198.19.5.0/24";
const FLOODED = ["198.19.5.10", "198.19.5.20"];
/** Background: packets per second over 250 addresses (4 each), and its length (s). */
const BACKGROUND_PPS = 1000;
const BACKGROUND_SECONDS = 40;
/** Each SYN flood's and the carpet's rate (pps, asked of hping3) and length (s). */
const FLOOD_PPS = 3000;
const CARPET_PPS = 5000;
const ATTACK_SECONDS = 5;
/** The agent's endpoint inside the monitor namespace (its own loopback: any port is free). */
const METRICS_PORT = 9109;
/** Prints the body of a URL (stdlib only). */
const FETCH = `import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())`;

/** Sends UDP datagrams to .1-.250 of the /24, round robin, at a steady rate (stdlib only). */
const BACKGROUND = `
import socket, sys, time
pps, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start, n = time.monotonic(), 0
while time.monotonic() - start < seconds:
    due = int((time.monotonic() - start) * pps)
    while n < due:
        s.sendto(b"x" * 64, ("198.19.5.%d" % (1 + n % 250), 7000 + n % 50))
        n += 1
    time.sleep(0.005)
print(n)
`;

/** The agent's stderr, read as it comes. */
class AgentLog {
  text = "";
  readonly done: Promise<void>;
  constructor(child: Deno.ChildProcess) {
    this.done = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) this.text += dec.decode(chunk);
    })();
  }

  /** Every match of `pattern` (global) once `count` are there, or throws after `ms`. */
  async waitForAll(pattern: RegExp, count: number, ms = 20000): Promise<RegExpExecArray[]> {
    const end = performance.now() + ms;
    for (;;) {
      const all = [...this.text.matchAll(pattern)];
      if (all.length >= count) return all;
      if (performance.now() > end) {
        throw new Error(`${all.length} of ${count} ${pattern} in the agent's log:\n${this.text}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

Deno.test("ftagent in mirror mode opens one incident per flooded address of a routed /24 and one naming the prefix for a carpet bombing", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["hping3", "python3"]) {
    assert(await hasCommand(tool), `${tool} is not installed (add it to .ci/run APT_PACKAGES)`);
  }
  const pair = await createNetnsPair({ prefix: "ftr" });
  const dir = await Deno.makeTempDir({ prefix: "ftr-" });
  const children: Deno.ChildProcess[] = [];
  let agent: Deno.ChildProcess | null = null;
  try {
    // The sender routes the /24 to the monitor's veth end; the monitor holds none of it.
    await pair.run(pair.a, ["ip", "route", "add", PREFIX, "via", pair.addrB, "dev", pair.ifA]);
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        state_dir: dir,
        log_file: "",
        pcap_dir: `${dir}/pcaps`,
        metrics_port: METRICS_PORT,
        mirror_mode: true,
        mirror_interface: pair.ifB,
        mirror_subnets: [PREFIX, "2001:2::/48"],
        networks: [{ prefix: PREFIX, name: "rack-5" }],
        dynamic_threshold: false,
        pps_threshold: 1500,
        syn_pps_threshold: 1000,
        udp_pps_threshold: 1500,
        confirm_seconds: 1,
        attack_holddown: 2,
        attack_cooldown: 10,
      }),
    );
    agent = spawnFtagent(["--config", config], ["ip", "netns", "exec", pair.b]);
    const log = new AgentLog(agent);
    await log.waitForAll(new RegExp(`capturing on ${pair.ifB} \\(mirror mode: `, "g"), 1);
    const background = pair.spawn(pair.a, [
      "timeout",
      String(BACKGROUND_SECONDS + 10),
      "python3",
      "-c",
      BACKGROUND,
      String(BACKGROUND_PPS),
      String(BACKGROUND_SECONDS),
    ]);
    children.push(background);
    await new Promise((r) => setTimeout(r, 3000)); // background alone first: nothing opens
    const every = `u${Math.round(1e6 / FLOOD_PPS)}`;
    const count = String(FLOOD_PPS * ATTACK_SECONDS);
    const flood = (target: string) =>
      pair.exec(pair.a, [
        "timeout",
        String(ATTACK_SECONDS * 3),
        ...["hping3", "-q", "-S", "-p", "80", "-i", every, "-c", count, target],
      ]);
    await Promise.all(FLOODED.map(flood));
    const open = /incident open ([0-9a-f-]{36}): (\w+)\/\S+ on (\S+?)( \(network ([^)]+)\))?, /g;
    const opens = await log.waitForAll(open, 2);
    assertEquals(opens.map((m) => m[3]).sort(), FLOODED, log.text);
    for (const m of opens) {
      assertEquals(m[2], "syn_flood", m[0]);
      assertEquals(m[5], "rack-5", m[0]);
    }
    // The background goes on: the endpoint shows the rows tracked and the prefixes' rates.
    const metrics = await pair.run(pair.b, [
      "python3",
      "-c",
      FETCH,
      `http://127.0.0.1:${METRICS_PORT}/metrics`,
    ]);
    assertEquals(await promtool(["check", "metrics"], metrics), { code: 0, output: "" });
    assertMatch(metrics, /^ftagent_mirror_mode 1$/m);
    assertMatch(metrics, /^ftagent_mirror_tracked_destinations_capacity 4096$/m);
    assertMatch(metrics, /^ftagent_mirror_prefixes 2$/m);
    const rates = [...metrics.matchAll(/^ftagent_mirror_prefix_packets_per_second\{(.*)\} /gm)];
    assertEquals(rates.map((m) => m[1]), [
      'prefix="198.19.5.0/24",network="rack-5"',
      'prefix="2001:2::/48",network=""',
    ]);
    const shownStatus = await ftagent(
      ["status", "--json", "--config", config],
      ["ip", "netns", "exec", pair.b],
    );
    assertEquals(shownStatus.code, 0, shownStatus.stderr);
    const mirror = JSON.parse(shownStatus.stdout).mirror;
    // 250 background addresses (the flooded two among them); the table never filled.
    assert(mirror.tracked >= 250 && mirror.tracked <= 256, JSON.stringify(mirror));
    assertEquals([mirror.capacity, mirror.promotions, mirror.evictions], [4096, 0, 0]);
    assertEquals(mirror.prefixes[0].prefix, PREFIX);
    assertEquals(mirror.prefixes[0].network, "rack-5");
    assert(mirror.prefixes[0].pps > 0, JSON.stringify(mirror));
    const text = await ftagent(["status", "--config", config], ["ip", "netns", "exec", pair.b]);
    assertMatch(
      text.stdout,
      /^mirror {6}on: \d+\/4096 addresses tracked, 0 promoted, 0 evicted; 2 prefixes$/m,
    );
    assertMatch(text.stdout, /^ {2}198\.19\.5\.0\/24 \(rack-5\) \S+ k?pps$/m);
    console.log(
      `mirror status: ${mirror.tracked}/${mirror.capacity} tracked, ${PREFIX} ` +
        `${mirror.prefixes[0].pps} pps (background asked ${BACKGROUND_PPS})`,
    );
    await log.waitForAll(/incident resolve /g, 2);
    // The carpet: random addresses of the /24 (about 20 pps each), far below 1500 pps apiece.
    await pair.exec(pair.a, [
      "timeout",
      String(ATTACK_SECONDS * 3),
      ...["hping3", "-q", "--udp", "-p", "9999", "-d", "64", "--rand-dest", "-I", pair.ifA],
      ...["-i", `u${Math.round(1e6 / CARPET_PPS)}`, "-c", String(CARPET_PPS * ATTACK_SECONDS)],
      "198.19.5.x",
    ]);
    const all = await log.waitForAll(open, 3);
    const carpet = all[2];
    assertEquals(carpet[3], PREFIX, log.text);
    assertEquals(carpet[2], "udp_flood", carpet[0]);
    assertEquals(carpet[5], "rack-5", carpet[0]);
    await log.waitForAll(/incident resolve /g, 3);
    agent.kill("SIGTERM");
    assertEquals((await agent.status).code, 0);
    await log.done;
    agent = null;
    assertEquals([...log.text.matchAll(open)].length, 3, log.text);
    const shown = await ftagent(["incidents", "show", carpet[1], "--json", "--config", config]);
    const event = JSON.parse(shown.stdout).event;
    assertEquals(event.target, PREFIX);
    assertEquals(event.network, "rack-5");
    assertEquals(event.inner_ip ?? null, null);
    console.log(
      `mirror: opens ${opens.map((m) => `${m[3]} ${m[2]}`).join(", ")}; carpet ` +
        `${carpet[3]} ${event.attack_family}, peak ${event.peak_pps} pps, spread ` +
        JSON.stringify(event.spread),
    );
  } finally {
    if (agent !== null) {
      try {
        agent.kill("SIGKILL");
      } catch { /* exited */ }
      await agent.status;
      await agent.stderr.cancel().catch(() => {});
    }
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
});
