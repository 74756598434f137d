// Payload inspection through the real agent: captures made with scapy
// (tests/fixtures/payload/make_payload.py) replayed by `ftagent replay`, and played at their
// recorded pace by the agent reporting to the stand-in control plane, which serves
// `ioc_patterns` in GET /agent/config and changes them while the agent runs.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ftagent, killAgent, spawnFtagent } from "../support/cli.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { agentScratch } from "../support/scratch.ts";
import { waitFor } from "../support/stream.ts";

const FIXTURES = new URL("../fixtures/payload/", import.meta.url).pathname;
/** Floors under the fixtures' floods (300 and 500 packets/s over 40 of background). */
const FLOORS = {
  min_pps_threshold: 150,
  min_bps_threshold: 0,
  min_syn_pps_threshold: 50,
  min_udp_pps_threshold: 150,
  min_icmp_pps_threshold: 50,
  min_fragment_pps_threshold: 50,
  protected_networks: ["198.18.0.0/27"],
  attack_holddown: 1,
  attack_cooldown: 10,
};
const MIRAI = { pattern: "/bin/busybox MIRAI", attack_name: "mirai", attack_family: "botnet" };

type Json = Record<string, unknown>;

function incidents(stdout: string): Json[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .filter((l: Json) => l.type === "incident");
}

Deno.test("ftagent replay of an NTP monlist reflection names ntp_amplification, confirmed by the monlist signature and its share in the evidence", async () => {
  const { dir, config } = await agentScratch("fta-payload-", FLOORS);
  try {
    const out = await ftagent([
      "replay",
      `${FIXTURES}ntp_monlist.pcap`,
      "--json",
      "--config",
      config,
    ]);
    assertEquals(out.code, 0, out.stderr);
    const events = incidents(out.stdout);
    assertEquals(events.map((e) => e.event), ["open", "resolve"]);
    const resolve = events[1];
    assertEquals([resolve.attack_family, resolve.attack_subtype], [
      "udp_flood",
      "ntp_amplification",
    ]);
    const evidence = resolve.evidence as Json;
    console.log(`evidence: ${evidence.summary}; confidence ${resolve.confidence}`);
    assertMatch(
      String(evidence.summary),
      /payload: NTP mode-7 monlist answers in (8\d|9\d)(\.\d)?% of \d+ inspected payloads/,
    );
    assertMatch(String(evidence.rule), /payload signature ntp_monlist confirms ntp_amplification/);
    const payload = evidence.payload as { inspected: number; signatures: Json };
    assert(payload.inspected > 500, JSON.stringify(payload));
    assertEquals(Object.keys(payload.signatures), ["ntp_monlist"]);
    assertEquals(resolve.ioc_hits, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a local ioc_patterns key names a mirai-like flood mirai_botnet in ftagent replay", async () => {
  const { dir, config } = await agentScratch("fta-payload-", { ...FLOORS, ioc_patterns: [MIRAI] });
  try {
    const out = await ftagent([
      "replay",
      `${FIXTURES}mirai_flood.pcap`,
      "--json",
      "--config",
      config,
    ]);
    assertEquals(out.code, 0, out.stderr);
    const resolve = incidents(out.stdout).find((e) => e.event === "resolve")!;
    assertEquals(
      [resolve.attack_subtype, resolve.attack_tool, resolve.botnet_detected, resolve.ioc_hits],
      ["mirai_botnet", "mirai", true, ["mirai:botnet"]],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the agent reports a mirai-like flood as mirai_botnet with its ioc_hits once the control plane serves the pattern, swapped in while it runs", async () => {
  const server = new FlowtriqServer();
  // At start the server's pattern matches nothing; the mirai one comes with a later response.
  server.config = {
    ioc_patterns: [{ pattern: "no such bytes", attack_name: "x", attack_family: "y" }],
  };
  server.up();
  const { dir, config } = await agentScratch("fta-payload-", {
    ...FLOORS,
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    heartbeat_interval: 1,
    metrics_interval: 1,
  });
  const agent = spawnFtagent(["--pcap", `${FIXTURES}mirai_flood.pcap`, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    seen = await waitFor(stderr, /payload inspection: 1 indicator patterns in use/, seen);
    server.config = { ioc_patterns: [MIRAI] }; // fetched again when the attack starts
    seen = await waitFor(stderr, /incident resolve/, seen);
    assert(
      await server.waitFor(() => server.accepted(/\/resolve$/).length === 1, 10_000),
      seen,
    );
    assertEquals(seen.match(/payload inspection: 1 indicator patterns in use/g)?.length, 2, seen);
    const bodies = server.accepted(/^\/agent\/incidents/).map((r) => [r.path, r.body as Json]);
    const resolve = bodies.find(([p]) => String(p).endsWith("/resolve"))![1] as Json;
    console.log(
      `resolve: ${resolve.attack_family}/${resolve.attack_subtype}, confidence ${resolve.confidence}, ` +
        `ioc_hits ${JSON.stringify(resolve.ioc_hits)}, botnet ${resolve.botnet_detected}`,
    );
    assertEquals(resolve.ioc_hits, ["mirai:botnet"]);
    assertEquals(resolve.attack_subtype, "mirai_botnet");
    assertEquals(resolve.botnet_detected, true);
    for (const [path, body] of bodies) {
      if (!/\/agent\/incidents\/[^/]+$/.test(String(path))) continue;
      const update = body as Json; // the updates: the hits from the swap on
      assert(Array.isArray(update.ioc_hits), JSON.stringify(update));
    }
    // Heartbeats count the payloads sampled so far (`pkt_samples_count`), rising with the flood.
    assert(
      await server.waitFor(
        () =>
          server.accepted(/^\/agent\/heartbeat$/)
            .some((r) => ((r.body as Json).pkt_samples_count as number) > 0),
        10_000,
      ),
      "no heartbeat with pkt_samples_count > 0",
    );
  } finally {
    await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the agent's incident create names the attack tool when the control plane serves the pattern from the start", async () => {
  const server = new FlowtriqServer();
  server.config = { ioc_patterns: [MIRAI] };
  server.up();
  const { dir, config } = await agentScratch("fta-payload-", {
    ...FLOORS,
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
  });
  const agent = spawnFtagent(["--pcap", `${FIXTURES}mirai_flood.pcap`, "--config", config]);
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    seen = await waitFor(stderr, /incident resolve/, seen);
    assert(await server.waitFor(() => server.accepted(/\/resolve$/).length === 1, 10_000), seen);
    const create = server.accepted(/^\/agent\/incidents$/)[0].body as Json;
    assertEquals([create.attack_tool, create.attack_subtype], ["mirai", "mirai_botnet"]);
    const resolve = server.accepted(/\/resolve$/)[0].body as Json;
    assertEquals([resolve.ioc_hits, resolve.botnet_detected], [["mirai:botnet"], true]);
    assert(Number(resolve.confidence) >= 90, JSON.stringify(resolve));
  } finally {
    await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});
