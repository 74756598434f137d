// Issue 16 item 6, per-source confidence: `ftagent replay` of a real capture (made with scapy by
// tests/fixtures/source_traits/make_source_traits.py) where a legitimate client completes TCP
// connections while 40 spoofed addresses send a SYN flood. Each source's confidence comes from
// its own packets (pure SYNs, protocols, TTL), so every flood source listed rates clearly above
// the busier client, which the incident-wide traits used to rate highest.
import { assert, assertEquals } from "../support/assert.ts";
import { ftagent, jsonLines } from "../support/cli.ts";
import { agentScratch } from "../support/scratch.ts";

const CAPTURE = new URL("../fixtures/source_traits/client_and_syn_flood.pcap", import.meta.url)
  .pathname;
const CLIENT = "198.18.0.50";

interface Rated {
  ip: string;
  count: number;
  pct: number;
  confidence: number;
}

Deno.test("ftagent replay rates every spoofed SYN-flood source above a busier client that completes its handshakes", async () => {
  const { dir, config } = await agentScratch("fta-source-traits-", {
    min_pps_threshold: 300,
    min_syn_pps_threshold: 300,
    protected_networks: ["198.18.0.10/32"],
    attack_holddown: 1,
    attack_cooldown: 1,
  });
  try {
    const out = await ftagent(["replay", CAPTURE, "--json", "--config", config]);
    assertEquals(out.code, 0, out.stderr);
    const events = jsonLines(out.stdout).filter((l) => l.event === "resolve");
    assertEquals(events.length, 1, out.stdout.slice(0, 500));
    assertEquals(events[0].attack_family, "syn_flood");
    const sources = events[0].top_src_ips as Rated[];
    const client = sources.find((s) => s.ip === CLIENT);
    const flood = sources.filter((s) => s.ip.startsWith("198.19."));
    assert(client, `the client is not listed: ${JSON.stringify(sources)}`);
    assert(flood.length >= 5, `flood sources listed: ${flood.length}`);
    // The client sends more than any flood source (150 vs about 25 packets/s)...
    assert(flood.every((s) => s.count < client.count), JSON.stringify(sources));
    // ...yet each flood source rates at least 15 points above it (53-54 against 31 measured).
    for (const s of flood) {
      assert(
        s.confidence >= client.confidence + 15,
        `${JSON.stringify(s)} vs ${client.confidence}`,
      );
    }
    // The wire entries stay {ip, count, pct, confidence}: the traits are the agent's own.
    for (const s of sources) {
      assertEquals(Object.keys(s).sort(), ["confidence", "count", "ip", "pct"]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
