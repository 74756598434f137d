// The agent replaying real captures (tests/fixtures/fidelity/, made with scapy by
// make_fidelity.py) to a stand-in control plane: each new attack family reaches the wire under
// the subtype the dashboard knows, every body has the spec's keys and types, `top_src_ips`
// entries carry `pct` and `confidence`, and `velocity_curve` is in time order.
import { assert, assertEquals } from "../support/assert.ts";
import { ftagent, jsonLines } from "../support/cli.ts";
import { FlowtriqServer, type Recorded } from "../support/flowtriq_server.ts";
import { bodyProblems, specEndpoints } from "../support/flowtriq_spec.ts";
import { agentScratch } from "../support/scratch.ts";

const FIXTURES = new URL("../fixtures/fidelity/", import.meta.url).pathname;
const SPEC = specEndpoints();

/** Spec problems of a recorded request's body (L3/L4 keys). */
function problems(r: Recorded): string[] {
  const e = SPEC.find((s) => s.method === r.method && s.pattern.test(r.path));
  assert(e, `${r.method} ${r.path} is not in the spec`);
  return bodyProblems(r.body, e.l3, false);
}

interface Entry {
  ip: string;
  count: number;
  pct: number;
  confidence: number;
}

const CASES = [
  { file: "quic_flood.pcap", family: "udp_flood", subtype: "quic_flood" },
  { file: "ping_of_death.pcap", family: "icmp_flood", subtype: "ping_of_death" },
  { file: "ping_overlap.pcap", family: "icmp_flood", subtype: "ping_of_death" },
  { file: "apple_remote.pcap", family: "udp_flood", subtype: "apple_remote_amplification" },
  { file: "multi_vector.pcap", family: "multi_vector", subtype: "multi_syn_flood" },
];

for (const c of CASES) {
  Deno.test(`the agent replaying ${c.file} reports one ${c.subtype} incident with rated sources and a curve in time order`, async () => {
    const server = new FlowtriqServer();
    server.up();
    const { dir, config } = await agentScratch("fta-fidelity-", {
      api_key: server.apiKey,
      node_uuid: server.nodeUuid,
      api_base: server.base,
      attack_holddown: 1,
      attack_cooldown: 1,
      heartbeat_interval: 1,
      min_pps_threshold: 300,
      min_syn_pps_threshold: 300,
      min_udp_pps_threshold: 300,
      min_icmp_pps_threshold: 300,
      min_fragment_pps_threshold: 300,
      protected_networks: ["198.18.0.10/32"],
    });
    try {
      const out = await ftagent(["--pcap", FIXTURES + c.file, "--fast", "--config", config]);
      assertEquals(out.code, 0, out.stderr);
      assert(
        await server.waitFor(() => server.accepted(/\/resolve$/).length >= 1, 20_000),
        out.stderr,
      );
      const creates = server.accepted(/^\/agent\/incidents$/);
      assertEquals(creates.length, 1, JSON.stringify(creates.map((r) => r.body)));
      const bodies = server.accepted(/^\/agent\/incidents(\/[^/]+(\/resolve)?)?$/);
      for (const r of bodies) {
        assertEquals(problems(r), [], `${r.path}: ${JSON.stringify(r.body).slice(0, 300)}`);
        const b = r.body as Record<string, unknown>;
        assertEquals([b.attack_family, b.attack_subtype], [c.family, c.subtype], r.path);
      }
      for (const hb of server.accepted(/^\/agent\/heartbeat$/)) {
        const p99 = (hb.body as Record<string, unknown>).baseline_current_hour_p99;
        assert(typeof p99 === "number" && Number.isFinite(p99), `heartbeat p99 ${p99}`);
      }
      const resolve = server.accepted(/\/resolve$/)[0].body as Record<string, unknown>;
      const sources = resolve.top_src_ips as Entry[];
      assert(sources.length > 0, "top_src_ips is empty");
      assert(!sources.some((s) => s.ip === "198.18.0.10"), "the protected host is no source");
      for (const s of sources) {
        assert(typeof s.pct === "number" && typeof s.confidence === "number", JSON.stringify(s));
      }
      const total = sources.reduce((n, s) => n + s.pct, 0);
      assert(total > 0 && total <= 100.5, `pct sums to ${total}`);
      const curve = resolve.velocity_curve as { t: number; pps: number }[];
      assert(curve.length >= 5, `velocity_curve has ${curve.length} points`);
      // Whole seconds, in order: the second an incident opens in is one point, not two.
      assert(curve.every((p) => Number.isInteger(p.t)), JSON.stringify(curve.slice(0, 3)));
      for (let i = 1; i < curve.length; i++) {
        assert(curve[i].t > curve[i - 1].t, `velocity_curve out of order at ${i}`);
      }
      if (c.family === "multi_vector") {
        // The parts stay in the evidence of the agent's own record (replay, incidents).
        const replay = await ftagent(["replay", FIXTURES + c.file, "--json", "--config", config]);
        assertEquals(replay.code, 0, replay.stderr);
        const end = jsonLines(replay.stdout).find((l) => l.event === "resolve");
        const parts = (end?.evidence as { parts?: { subtype: string }[] })?.parts;
        assertEquals(parts?.map((p) => p.subtype), ["syn_flood", "small_packet_flood"]);
      }
    } finally {
      await server.down();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("ftagent classify reads the corpus QUIC download as one flow, never a quic_flood", async () => {
  const path = new URL("../../corpus/quic_download.pcap", import.meta.url).pathname;
  const out = await ftagent(["classify", path, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const c = JSON.parse(out.stdout);
  assert(c.attack_subtype !== "quic_flood", c.evidence.rule);
  assert(c.evidence.shares.background >= 90, JSON.stringify(c.evidence.shares));
});
