// Server commands end to end: the control plane's pending_commands (in config answers and in an
// incident create answer) -> the agent's reporter -> the mitigation layer -> real kernel rules
// in the agent's own namespace -> one acknowledgement per command id. The real agent runs in
// one namespace, the Flowtriq stand-in in the peer namespace (tests/support/flowtriq_netns.ts).
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent, spawnFtagent } from "../support/cli.ts";
import { FlowtriqInNetns } from "../support/flowtriq_netns.ts";
import { createNetnsPair, hasCommand, netnsAvailable, type NetnsPair } from "../support/netns.ts";
import { waitFor } from "../support/stream.ts";

// Needs root, namespaces, nft and hping3: when one is missing the test fails, never skips.
const netnsReason = await netnsAvailable();

/** The agent in the pair's namespace `b` on its veth, its log read through {@linkcode waitFor}. */
class Agent {
  readonly child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<string>;
  log = "";

  constructor(pair: NetnsPair, config: string) {
    this.child = spawnFtagent(["--interface", pair.ifB, "--config", config], [
      "ip",
      "netns",
      "exec",
      pair.b,
    ]);
    this.#reader = this.child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Reads the log until `pattern` shows (or throws with the log). */
  async expect(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    this.log = await waitFor(this.#reader, pattern, this.log, timeoutMs);
    const m = pattern.exec(this.log);
    if (m === null) throw new Error(`no ${pattern} in the agent's log:\n${this.log}`);
    return m;
  }

  /** Sends `signal`, reads the log to its end and returns the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
    const { code } = await this.child.status;
    this.log = await waitFor(this.#reader, /(?!)/, this.log, 10_000);
    await this.#reader.cancel().catch(() => {});
    return code;
  }
}

/** The namespace's ruleset without the agent's table (and without handles). */
async function foreignRuleset(pair: NetnsPair, ns: string): Promise<unknown[]> {
  const out = await pair.run(ns, ["nft", "-j", "list", "ruleset"]);
  return (JSON.parse(out).nftables as Record<string, Record<string, unknown>>[])
    .filter((o) => !("metainfo" in o))
    .filter((o) => {
      const obj = Object.values(o)[0];
      return !(obj.family === "inet" && (obj.table ?? obj.name) === "ftagent");
    })
    .map((o) => JSON.parse(JSON.stringify(o, (k, v) => k === "handle" ? undefined : v)));
}

/** Every non-empty set and map of the agent's table, with its elements as text. */
async function ftagentElements(pair: NetnsPair, ns: string): Promise<Record<string, string[]>> {
  const out = await pair.run(ns, ["nft", "-j", "list", "table", "inet", "ftagent"]);
  const text = (v: unknown): string => {
    if (typeof v === "string" || typeof v === "number") return String(v);
    const o = v as Record<string, unknown>;
    if ("elem" in o) return text((o.elem as { val: unknown }).val);
    if ("concat" in o) return (o.concat as unknown[]).map(text).join(" . ");
    if ("prefix" in o) {
      const p = o.prefix as { addr: string; len: number };
      return `${p.addr}/${p.len}`;
    }
    return JSON.stringify(v);
  };
  const sets: Record<string, string[]> = {};
  for (const o of JSON.parse(out).nftables as Record<string, Record<string, unknown>>[]) {
    const set = o.set ?? o.map;
    const elem = set?.elem as unknown[] | undefined;
    if (elem && elem.length > 0) {
      sets[set.name as string] = elem.map((e) => text(Array.isArray(e) ? e[0] : e)).sort();
    }
  }
  return sets;
}

/** One value of /proc/net/snmp in `ns` (e.g. Icmp InEchos, Udp NoPorts). */
async function snmp(pair: NetnsPair, ns: string, group: string, name: string): Promise<number> {
  const lines = (await pair.run(ns, ["cat", "/proc/net/snmp"])).split("\n")
    .filter((l) => l.startsWith(`${group}:`));
  return Number(lines[1].split(/\s+/)[lines[0].split(/\s+/).indexOf(name)]);
}

/** Sends `count` ICMP echoes (or UDP datagrams) from `source` to the agent's address. */
async function send(pair: NetnsPair, source: string, proto: "icmp" | "udp", count = 5) {
  const mode = proto === "icmp" ? ["-1"] : ["--udp", "-p", "9999"];
  await pair.exec(pair.a, [
    "timeout",
    "5",
    "hping3",
    "-q",
    ...mode,
    "-a",
    source,
    "-c",
    String(count),
    "-i",
    "u20000",
    pair.addrB,
  ]);
}

/** How many of `count` echoes (or datagrams) from `source` reached the agent's IP stack. */
async function delivered(pair: NetnsPair, source: string, proto: "icmp" | "udp", count = 5) {
  const [group, name] = proto === "icmp" ? ["Icmp", "InEchos"] : ["Udp", "NoPorts"];
  const before = await snmp(pair, pair.b, group, name);
  await send(pair, source, proto, count);
  return (await snmp(pair, pair.b, group, name)) - before;
}

interface Ack {
  command_id: number;
  status: string;
  error: string | null;
}

Deno.test("server commands from config and incident answers become nft elements in the agent's namespace or refusals, each acknowledged once, undone at SIGTERM", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["nft", "hping3"]) {
    assert(await hasCommand(tool), `${tool} is not installed (add it to .ci/run APT_PACKAGES)`);
  }
  const pair = await createNetnsPair({ prefix: "ftc" });
  const dir = await Deno.makeTempDir({ prefix: "ftc-" });
  let server: FlowtriqInNetns | null = null;
  let agent: Agent | null = null;
  try {
    // Sources in 198.19.x.0/24 on the server's side, routed back from the agent's side.
    const third = Number(pair.addrA.split(".")[2]);
    const [blocked, icmpBlocked, blockedLater, free] = [10, 11, 12, 13].map((n) =>
      `198.19.${third}.${n}`
    );
    for (const s of [blocked, icmpBlocked, blockedLater, free]) {
      await pair.run(pair.a, ["ip", "addr", "add", `${s}/32`, "dev", pair.ifA]);
    }
    await pair.run(pair.b, ["ip", "route", "add", `198.19.${third}.0/24`, "dev", pair.ifB]);
    // A shell would remove or create files here; the agent never runs one.
    const canary = `${dir}/canary`;
    await Deno.mkdir(canary);
    await Deno.writeTextFile(`${canary}/keep`, "x");
    const other = `198.19.${third}.14`;
    const fromConfig = [
      {
        id: 101,
        command_type: "iptables",
        command_text: `iptables -I INPUT -s ${blocked} -j DROP`,
        title: "block",
      },
      {
        id: 102,
        action: "iptables_block",
        source_ip: icmpBlocked,
        protocol: "icmp",
        duration: 120,
      },
      { id: 103, command_type: "nft", command_text: "nft flush ruleset", title: "flush" },
      { id: 104, command_type: "iptables", command_text: "iptables -P INPUT DROP", title: "p" },
      {
        id: 105,
        command_type: "iptables",
        command_text: `iptables -I INPUT -s ${other} -j DROP; rm -rf ${canary}`,
      },
      {
        id: 106,
        command_type: "iptables",
        command_text: `iptables -I INPUT -s ${other} -j DROP $(touch ${canary}/made)`,
      },
      {
        id: 107,
        command_type: "iptables",
        command_text: `iptables -I INPUT -s ${pair.addrB} -j DROP`,
      },
      { id: 108, action: "iptables_block", source_ip: pair.addrA, protocol: "all", duration: 60 },
      { id: 109, action: "iptables_block", source_ip: "0.0.0.0/0" },
      { id: 110, command_type: "sysctl", command_text: "sysctl -w net.ipv4.ip_forward=1" },
    ];
    const fromIncident = [
      fromConfig[0],
      fromConfig[1],
      {
        id: 201,
        command_type: "nft",
        command_text: `nft add rule inet filter input ip saddr ${blockedLater} drop`,
      },
      { id: 202, command_type: "iptables", command_text: "iptables -A INPUT -j DROP" },
    ];
    const expected: Record<number, [string, RegExp | null]> = {
      101: ["applied", null],
      102: ["applied", null],
      103: ["failed", /only nft add\/insert\/delete rule/],
      104: ["failed", /option -P is not accepted/],
      105: ["failed", /forbidden character ";"/],
      106: ["failed", /forbidden character "\$"/],
      107: ["failed", new RegExp(`${pair.addrB} is allowlisted \\(own address`)],
      108: ["failed", new RegExp(`${pair.addrA} is allowlisted \\(API host`)],
      109: ["failed", /wider than/],
      110: ["failed", /net\.ipv4\.ip_forward is not accepted/],
      201: ["applied", null],
      202: ["failed", /would drop all traffic/],
    };

    server = new FlowtriqInNetns(pair, pair.a, {
      hostname: pair.addrA,
      config: { pending_commands: fromConfig },
      incidentCommands: fromIncident,
    });
    await server.ready();
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        state_dir: dir,
        log_file: "",
        pcap_enabled: false,
        metrics_port: 0,
        api_key: server.apiKey,
        node_uuid: server.nodeUuid,
        api_base: server.base,
        heartbeat_interval: 1,
        dynamic_threshold: false,
        pps_threshold: 1000,
        udp_pps_threshold: 1000,
        syn_pps_threshold: 1000,
        confirm_seconds: 1,
        attack_holddown: 2,
        attack_cooldown: 10,
        // Commands act; the incident itself only logs (so the sets hold the commands' work).
        mitigation: {
          mode: "auto",
          backend: "nftables",
          rules: { udp_flood: { mode: "dry_run" } },
        },
      }),
    );
    const rulesBefore = await foreignRuleset(pair, pair.b);
    const forwardBefore = await pair.run(pair.b, ["sysctl", "-n", "net.ipv4.ip_forward"]);
    const acks = () => server!.accepted(/^\/agent\/commands\/ack$/).map((r) => r.body as Ack);
    const configAnswers = () => server!.accepted(/^\/agent\/config$/).length;

    // 1. The config answer's commands: every one acknowledged.
    agent = new Agent(pair, config);
    await agent.expect(/mitigation: nftables ready \(auto mode\)/);
    assert(
      await server.waitFor(() => acks().length >= fromConfig.length),
      `acks: ${JSON.stringify(acks())}\n${agent.log}`,
    );
    assertEquals(await ftagentElements(pair, pair.b), {
      src4: [blocked],
      srcp4: [`${icmpBlocked} . icmp`],
    });
    assertEquals(await foreignRuleset(pair, pair.b), rulesBefore, "hostile commands changed rules");
    assertEquals(await delivered(pair, blocked, "icmp"), 0, "echoes from the blocked source");
    assertEquals(await delivered(pair, icmpBlocked, "icmp"), 0, "echoes from the ICMP-blocked one");
    assertEquals(await delivered(pair, icmpBlocked, "udp"), 5, "its UDP is not blocked");
    assertEquals(await delivered(pair, free, "icmp"), 5, "echoes from a source never blocked");

    // 2. An attack: the create answer brings commands (two repeated), and the config fetched
    // again at the attack's start repeats all of the config's.
    const answersBefore = configAnswers();
    const flood = pair.exec(pair.a, [
      "timeout",
      "8",
      "hping3",
      "-q",
      "--udp",
      "-a",
      free,
      "-p",
      "9999",
      "-c",
      "8000",
      "-i",
      "u250",
      pair.addrB,
    ]);
    await agent.expect(/incident open [0-9a-f-]{36}: udp_flood/);
    await agent.expect(/command 202 failed/);
    assert(
      await server.waitFor(() =>
        configAnswers() > answersBefore && server!.accepted(/^\/agent\/incidents$/).length === 1
      ),
      `no config fetch at the attack start:\n${agent.log}`,
    );
    await flood;
    assertEquals(await ftagentElements(pair, pair.b), {
      src4: [blocked, blockedLater].sort(),
      srcp4: [`${icmpBlocked} . icmp`],
    });
    assertEquals(await delivered(pair, blockedLater, "icmp"), 0, "echoes from the later block");
    assertEquals(await foreignRuleset(pair, pair.b), rulesBefore, "hostile commands changed rules");
    assertEquals(await pair.run(pair.b, ["sysctl", "-n", "net.ipv4.ip_forward"]), forwardBefore);
    assertEquals([...Deno.readDirSync(canary)].map((e) => e.name), ["keep"]);

    // 3. SIGTERM: what the commands applied is undone and the agent's table removed.
    assertEquals(await agent.stop(), 0, agent.log);
    const tables = await pair.exec(pair.b, ["nft", "list", "table", "inet", "ftagent"]);
    assert(tables.code !== 0, `the agent's table is still there:\n${tables.stdout}`);
    assertEquals(await foreignRuleset(pair, pair.b), rulesBefore);
    assertEquals(await delivered(pair, blocked, "icmp"), 5, "traffic flows again after the stop");
    const list = await ftagent(["mitigation", "list", "--json", "--config", config]);
    assertEquals(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split("\n").map((l) => JSON.parse(l))
      .filter((r) => String(r.incident).startsWith("command:"));
    assertEquals(
      rows.map((r) => [r.incident, r.state, r.result]).sort(),
      ["command:101", "command:102", "command:201"].map((c) => [c, "undone", "agent stopped"]),
    );

    // Every command acknowledged exactly once, with its outcome.
    const byId = new Map<number, Ack[]>();
    for (const a of acks()) byId.set(a.command_id, [...(byId.get(a.command_id) ?? []), a]);
    assertEquals([...byId.keys()].sort(), Object.keys(expected).map(Number).sort());
    for (const [id, [status, reason]] of Object.entries(expected)) {
      const got = byId.get(Number(id))!;
      assertEquals(got.length, 1, `command ${id} acknowledged ${got.length} times`);
      assertEquals(Object.keys(got[0]).sort(), ["command_id", "error", "status"]);
      assertEquals(got[0].status, status, `command ${id}: ${JSON.stringify(got[0])}`);
      if (reason === null) assertEquals(got[0].error, null);
      else assertMatch(got[0].error ?? "", reason);
    }

    // 4. A restart on the same state: the server still lists every command; none runs again.
    const acked = acks().length;
    const fetched = configAnswers();
    agent = new Agent(pair, config);
    await agent.expect(/mitigation: nftables ready \(auto mode\), 0 leftovers undone/);
    assert(await server.waitFor(() => configAnswers() > fetched), agent.log);
    // A heartbeat queued after the config answer is delivered after any ack it caused.
    const answeredAt = server.accepted(/^\/agent\/config$/).at(-1)!.atMs;
    assert(
      await server.waitFor(() =>
        server!.accepted(/^\/agent\/heartbeat$/).some((r) => r.atMs > answeredAt + 1000)
      ),
      agent.log,
    );
    assertEquals(await agent.stop(), 0, agent.log);
    assertEquals(acks().length, acked, "a restart acknowledged commands again");
    assert(!/command \d+ (applied|failed)/.test(agent.log), agent.log);
    assertEquals(await foreignRuleset(pair, pair.b), rulesBefore);
  } finally {
    await agent?.stop("SIGKILL");
    await server?.stop();
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("server playbooks, xdp specs, -D and iptables_unblock through the control plane: all or nothing, one ack each, undone on expiry, on the server's word and at SIGTERM", async () => {
  assert(netnsReason === null, netnsReason ?? "");
  for (const tool of ["nft", "hping3"]) {
    assert(await hasCommand(tool), `${tool} is not installed (add it to .ci/run APT_PACKAGES)`);
  }
  const pair = await createNetnsPair({ prefix: "ftc" });
  const dir = await Deno.makeTempDir({ prefix: "ftc-" });
  let server: FlowtriqInNetns | null = null;
  let agent: Agent | null = null;
  try {
    const third = Number(pair.addrA.split(".")[2]);
    const [rejected, expiring, unblocked, other, free] = [20, 21, 22, 23, 24].map((n) =>
      `198.19.${third}.${n}`
    );
    for (const s of [rejected, expiring, unblocked, other, free]) {
      await pair.run(pair.a, ["ip", "addr", "add", `${s}/32`, "dev", pair.ifA]);
    }
    await pair.run(pair.b, ["ip", "route", "add", `198.19.${third}.0/24`, "dev", pair.ifB]);
    const synack = () => pair.run(pair.b, ["sysctl", "-n", "net.ipv4.tcp_synack_retries"]);
    const synackBefore = await synack();
    const reject = `iptables -I INPUT -s ${rejected} -p udp --dport 9999 -j REJECT`;
    const fromConfig = [
      {
        id: 301,
        command_type: "iptables",
        command_text: [
          "sysctl -w net.ipv4.tcp_synack_retries=2",
          reject,
          "ip6tables -I INPUT -m conntrack --ctstate INVALID -j DROP",
        ].join("\n"),
      },
      {
        id: 302,
        command_type: "iptables",
        command_text: `iptables -I INPUT -s ${other} -j DROP\nreboot`,
      },
      {
        id: 303,
        command_type: "xdp",
        command_text: JSON.stringify({
          action: "drop",
          src: expiring,
          protocol: "icmp",
          duration: 3,
        }),
      },
      {
        id: 304,
        command_type: "xdp",
        command_text: JSON.stringify({ action: "drop", src: other, ttl: 60 }),
      },
      { id: 305, action: "iptables_block", source_ip: unblocked, protocol: "icmp", duration: 3600 },
    ];
    const fromIncident = [
      { id: 401, command_type: "iptables", command_text: reject.replace("-I INPUT", "-D INPUT") },
      { id: 402, action: "iptables_unblock", source_ip: unblocked, protocol: "icmp" },
      { id: 403, command_type: "iptables", command_text: `iptables -D INPUT -s ${other} -j DROP` },
    ];
    const expected: Record<number, [string, RegExp | null]> = {
      301: ["applied", null],
      302: ["failed", /^line 2: unknown command "reboot"$/],
      303: ["applied", null],
      304: ["failed", /^xdp rule: unknown field "ttl"/],
      305: ["applied", null],
      401: ["applied", null],
      402: ["applied", null],
      403: ["failed", /no rule the server added is in force/],
    };
    server = new FlowtriqInNetns(pair, pair.a, {
      hostname: pair.addrA,
      config: { pending_commands: fromConfig },
      incidentCommands: fromIncident,
    });
    await server.ready();
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        state_dir: dir,
        log_file: "",
        pcap_enabled: false,
        metrics_port: 0,
        api_key: server.apiKey,
        node_uuid: server.nodeUuid,
        api_base: server.base,
        heartbeat_interval: 1,
        dynamic_threshold: false,
        pps_threshold: 1000,
        udp_pps_threshold: 1000,
        syn_pps_threshold: 1000,
        confirm_seconds: 1,
        attack_holddown: 2,
        attack_cooldown: 10,
      }),
    );
    const rulesBefore = await foreignRuleset(pair, pair.b);
    const acks = () => server!.accepted(/^\/agent\/commands\/ack$/).map((r) => r.body as Ack);

    // 1. The config's commands, with local auto-mitigation off (the default dry_run).
    agent = new Agent(pair, config);
    assert(
      await server.waitFor(() => acks().length >= fromConfig.length),
      `acks: ${JSON.stringify(acks())}\n${agent.log}`,
    );
    assertEquals((await synack()).trim(), "2");
    assertEquals(await delivered(pair, rejected, "udp"), 0, "UDP from the rejected source");
    assertEquals(await delivered(pair, rejected, "icmp"), 5, "its pings are not rejected");
    assertEquals(await delivered(pair, other, "icmp"), 5, "nothing of the refused playbook");
    assertEquals(await delivered(pair, expiring, "icmp"), 0, "xdp drop");
    assertEquals(await delivered(pair, unblocked, "icmp"), 0, "iptables_block");
    // The xdp rule's 3 s pass: the kernel stops matching, the sweep (every 5 s) undoes the row.
    await new Promise((r) => setTimeout(r, 3500));
    assertEquals(await delivered(pair, expiring, "icmp"), 5, "the xdp rule expired");
    await agent.expect(/command:303: undone .* \(expired\)/, 15_000);

    // 2. An attack: the create answer's commands delete the REJECT rule and unblock a source.
    const flood = pair.exec(pair.a, [
      "timeout",
      "8",
      "hping3",
      "-q",
      "--udp",
      "-a",
      free,
      "-p",
      "9999",
      "-c",
      "8000",
      "-i",
      "u250",
      pair.addrB,
    ]);
    await agent.expect(/incident open [0-9a-f-]{36}: udp_flood/);
    assert(
      await server.waitFor(() => acks().length >= fromConfig.length + fromIncident.length),
      `acks: ${JSON.stringify(acks())}\n${agent.log}`,
    );
    await flood;
    assertEquals(await delivered(pair, rejected, "udp"), 5, "the REJECT rule is deleted (-D)");
    assertEquals(await delivered(pair, unblocked, "icmp"), 5, "iptables_unblock");

    // 3. SIGTERM: the table goes, the sysctl comes back, other rules were never touched.
    assertEquals(await agent.stop(), 0, agent.log);
    const tables = await pair.exec(pair.b, ["nft", "list", "table", "inet", "ftagent"]);
    assert(tables.code !== 0, `the agent's table is still there:\n${tables.stdout}`);
    assertEquals(await synack(), synackBefore);
    assertEquals(await foreignRuleset(pair, pair.b), rulesBefore);

    const byId = new Map<number, Ack[]>();
    for (const a of acks()) byId.set(a.command_id, [...(byId.get(a.command_id) ?? []), a]);
    assertEquals([...byId.keys()].sort(), Object.keys(expected).map(Number).sort());
    for (const [id, [status, reason]] of Object.entries(expected)) {
      const got = byId.get(Number(id))!;
      assertEquals(got.length, 1, `command ${id} acknowledged ${got.length} times`);
      assertEquals(got[0].status, status, `command ${id}: ${JSON.stringify(got[0])}`);
      if (reason === null) assertEquals(got[0].error, null);
      else assertMatch(got[0].error ?? "", reason);
    }
  } finally {
    await agent?.stop("SIGKILL");
    await server?.stop();
    await pair.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
