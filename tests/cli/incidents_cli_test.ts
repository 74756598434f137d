import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { CORPUS, ftagent, jsonLines } from "../support/cli.ts";
import { agentScratch } from "../support/scratch.ts";

Deno.test("ftagent incidents lists what the agent detected, newest first, and shows one in full", async () => {
  const { dir, config } = await agentScratch("fta-incidents-");
  try {
    const none = await ftagent(["incidents", "--config", config]);
    assertEquals(none.code, 0, none.stderr);
    assertMatch(none.stdout, /no incidents recorded \(no incident store at .*ftagent\.db\)/);

    for (const file of ["pkt.TCP.synflood.spoofed.pcap", "amp.UDP.isakmp.pcap"]) {
      const run = await ftagent(["--pcap", CORPUS + file, "--fast", "--config", config]);
      assertEquals(run.code, 0, run.stderr);
    }
    const list = await ftagent(["incidents", "--config", config]);
    assertEquals(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split("\n");
    assertMatch(
      lines[0],
      /^STARTED \(UTC\)\s+ATTACK\s+TARGET\s+PEAK PPS\s+PEAK BPS\s+DURATION\s+STATE\s+ID$/,
    );
    assertEquals(lines.length, 3, list.stdout);
    // the isakmp capture (2021-06) is newer than the SYN flood (2021-04)
    assertMatch(
      lines[1],
      /^2021-06-\d\d .*udp_flood\/isakmp_amplification\s+10\.10\.10\.10\s+.*kpps.*bit\/s.*resolved\s+[0-9a-f-]{36}$/,
    );
    assertMatch(lines[2], /^2021-04-\d\d .*syn_flood\/syn_flood\s+10\.10\.10\.10\s+.*resolved/);

    const json = jsonLines(
      (await ftagent(["incidents", "--json", "--limit", "1", "--config", config])).stdout,
    );
    assertEquals(json.length, 1);
    assertEquals(json[0].attack_family, "udp_flood");
    assertEquals(Object.keys(json[0]), [
      "id",
      "attack_family",
      "attack_subtype",
      "target",
      "started_at",
      "ended_at",
      "peak_pps",
      "peak_bps",
      "duration",
      "state",
      "last_event",
      "pcap_path",
    ]);
    const syn = jsonLines((await ftagent(["incidents", "--json", "--config", config])).stdout)[1];
    const id = String(syn.id);

    const show = await ftagent(["incidents", "show", id.slice(0, 8), "--config", config]);
    assertEquals(show.code, 0, show.stderr);
    assertMatch(show.stdout, new RegExp(`^incident ${id} \\(resolved, last event: resolve\\)`));
    assertMatch(show.stdout, /attack: +syn_flood \/ syn_flood/);
    assertMatch(show.stdout, /summary: +\d+% TCP SYN/);
    assertMatch(show.stdout, new RegExp(`capture: +${dir}/pcaps/${id}\\.pcap\\n`));

    const full = JSON.parse(
      (await ftagent(["incidents", "show", id, "--json", "--config", config])).stdout,
    );
    assertEquals(full.id, id);
    assertEquals(full.pcap_exists, true);
    assertEquals(full.pcap_path, `${dir}/pcaps/${id}.pcap`);
    assertEquals(full.state, "resolved");
    assertEquals(full.event.event, "resolve");
    assertEquals(full.event.attack_family, "syn_flood");
    assert(Array.isArray(full.event.top_src_ips) && full.event.top_src_ips.length > 0);
    assert(typeof full.event.evidence.summary === "string");

    const missing = await ftagent(["incidents", "show", "ffffffff", "--config", config]);
    assertEquals(missing.code, 1);
    assertEquals(missing.stderr.trim(), "ftagent: error: no incident ffffffff");
    const bad = await ftagent(["incidents", "list", "--config", config]);
    assertEquals(bad.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
