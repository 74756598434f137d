// The real agent on a GRE tunnel host against a stand-in control plane: the packets inside the
// tunnel are detected (the attacked address behind the tunnel, its real protocol), the
// heartbeat says gre_dedup_enabled, the tunnels are posted once at start and the addresses
// the answer whitelists are never blocked.
//
// This machine's kernel has no GRE (CONFIG_NET_IPGRE_DEMUX unset: `ip link add ... type gre`
// answers "Unknown device type"), so no kernel tunnel can be made: an `ip` first in the agent's
// PATH prints iproute2's JSON for one tunnel and hands every other call to the real `ip`.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { killAgent, spawnFtagent } from "../support/cli.ts";
import { FlowtriqServer } from "../support/flowtriq_server.ts";
import { bytes, eth, EtherType, gre, ipv4, udp } from "../support/frames.ts";
import { webFrames, writeSplice } from "../support/splice.ts";
import { waitFor } from "../support/stream.ts";
import { agentScratch } from "../support/scratch.ts";

const TUNNEL = {
  ifindex: 5,
  ifname: "gre1",
  link_type: "gre",
  linkinfo: {
    info_kind: "gre",
    info_data: { remote: "198.18.40.1", local: "198.18.40.2", ttl: 64 },
  },
};

/** UDP from 4 sources to 198.18.60.5 (behind the tunnel), inside GRE 198.18.40.1 -> .2. */
function tunnelledFlood(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const inner = ipv4(17, udp(6000 + i, 27015, bytes(300)), {
      src: `198.19.50.${i + 1}`,
      dst: "198.18.60.5",
    });
    out.push(
      eth(
        EtherType.IPV4,
        ipv4(47, gre(EtherType.IPV4, inner), { src: "198.18.40.1", dst: "198.18.40.2" }),
      ),
    );
  }
  return out;
}

Deno.test("on a GRE tunnel host the agent detects the tunnelled flood's real target, posts its tunnels once and never blocks what the answer whitelists", async () => {
  const server = new FlowtriqServer();
  server.greAnswer = { whitelisted: ["198.19.50.1", "bogus"] };
  server.up();
  const { dir, config } = await agentScratch("fta-gre-", {
    api_key: server.apiKey,
    node_uuid: server.nodeUuid,
    api_base: server.base,
    attack_holddown: 1,
    attack_cooldown: 1,
    heartbeat_interval: 1,
    metrics_interval: 1,
    gre_mode: "auto",
  });
  await Deno.mkdir(`${dir}/bin`);
  await Deno.writeTextFile(`${dir}/links.json`, JSON.stringify([TUNNEL]));
  await Deno.writeTextFile(
    `${dir}/bin/ip`,
    `#!/bin/sh\nif [ "$*" = "-d -j link show" ]; then cat '${dir}/links.json'; exit 0; fi\n` +
      `exec /usr/sbin/ip "$@"\n`,
  );
  await Deno.chmod(`${dir}/bin/ip`, 0o755);
  await writeSplice(`${dir}/attack.pcap`, [
    { frames: webFrames("198.18.40.2"), fromS: 0, toS: 10, pps: 200 },
    { frames: tunnelledFlood(), fromS: 3, toS: 8, pps: 8000 },
  ]);
  const agent = spawnFtagent(
    ["--pcap", `${dir}/attack.pcap`, "--config", config],
    ["env", `PATH=${dir}/bin:${Deno.env.get("PATH")}`],
  );
  const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    seen = await waitFor(stderr, /incident resolve/, seen);
    assert(
      await server.waitFor(() => server.accepted(/\/resolve$/).length >= 1, 10_000),
      seen,
    );
    const posts = server.accepted(/^\/agent\/gre-tunnels$/);
    assertEquals(posts.length, 1);
    assertEquals(posts[0].body, {
      tunnels: [{ name: "gre1", type: "gre", remote_ip: "198.18.40.1", local_ip: "198.18.40.2" }],
      gre_dedup_active: true,
    });
    assertMatch(
      seen,
      /gre_mode auto: packets inside GRE are counted instead of the tunnel packets; GRE tunnels: gre1 \(gre\)/,
    );
    assertMatch(
      seen,
      /gre-tunnels: 1 whitelisted addresses added to the mitigation allowlist \(198\.19\.50\.1\); 1 entries were not addresses/,
    );
    // Every heartbeat after the tunnels were listed (the first one goes before) says so.
    const dedup = server.accepted(/^\/agent\/heartbeat$/)
      .map((b) => (b.body as Record<string, unknown>).gre_dedup_enabled);
    assertEquals(dedup.slice(1).every((d) => d === true) && dedup.length > 2, true, dedup.join());
    // The flood inside the tunnel: its own target and protocol, not GRE to the endpoint.
    const create = server.accepted(/^\/agent\/incidents$/)[0].body as Record<string, unknown>;
    assertEquals(create.inner_ip, "198.18.60.5");
    assertEquals(create.attack_family, "udp_flood");
    const sources = (create.top_src_ips as { ip: string }[]).map((e) => e.ip);
    assert(sources.includes("198.19.50.2"), sources.join());
    // Mitigation (dry run) never plans the whitelisted source.
    assertMatch(
      seen,
      /not blocking 198\.19\.50\.1 is allowlisted \(whitelisted by the server for GRE tunnels/,
    );
    assertEquals(/would drop .*198\.19\.50\.1\b/.test(seen), false, seen);
    assertMatch(seen, /would drop .*198\.19\.50\.2/);
  } finally {
    await killAgent(agent, stderr);
    await server.down();
    await Deno.remove(dir, { recursive: true });
  }
});
