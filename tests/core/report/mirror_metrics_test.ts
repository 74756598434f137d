import { exposition, mirrorMetrics, mirrorStatusLines } from "../../../core/report/mod.ts";
import type { MirrorSnapshot } from "../../../core/detect/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";

const SNAPSHOT: MirrorSnapshot = {
  tracked: 250,
  capacity: 4096,
  promotions: 3,
  evictions: 2,
  prefixes: [
    { prefix: "198.19.5.0/24", network: "rack-5", pps: 1000 },
    { prefix: "2001:2::/48", network: null, pps: 0 },
  ],
};

Deno.test("mirrorMetrics() says mirror mode is off and nothing else when there is no snapshot", () => {
  const text = exposition(mirrorMetrics(null));
  assertEquals(text.split("\n").filter((l) => l !== "" && !l.startsWith("#")), [
    "ftagent_mirror_mode 0",
  ]);
});

Deno.test("mirrorMetrics() gives rows, promotions, evictions and one rate per configured prefix", () => {
  const text = exposition(mirrorMetrics(SNAPSHOT));
  for (
    const line of [
      "ftagent_mirror_mode 1",
      "ftagent_mirror_tracked_destinations 250",
      "ftagent_mirror_tracked_destinations_capacity 4096",
      "ftagent_mirror_promotions_total 3",
      "ftagent_mirror_evictions_total 2",
      "ftagent_mirror_prefixes 2",
      'ftagent_mirror_prefix_packets_per_second{prefix="198.19.5.0/24",network="rack-5"} 1000',
      'ftagent_mirror_prefix_packets_per_second{prefix="2001:2::/48",network=""} 0',
    ]
  ) assert(text.includes(`\n${line}\n`), `${line} in:\n${text}`);
});

Deno.test("mirrorStatusLines() lists the rows and each prefix with its network", () => {
  assertEquals(mirrorStatusLines(SNAPSHOT), [
    "mirror      on: 250/4096 addresses tracked, 3 promoted, 2 evicted; 2 prefixes",
    "  198.19.5.0/24 (rack-5) 1.00 kpps",
    "  2001:2::/48 0 pps",
  ]);
});
