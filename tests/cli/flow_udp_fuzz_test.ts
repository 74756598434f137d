import { assert, assertEquals } from "../support/assert.ts";
import { fuzzAgentOverUdp } from "../support/flow_udp_fuzz.ts";

Deno.test("ftagent collecting flows survives 20,000 mutated datagrams on its UDP port, counts the malformed ones by reason and keeps its memory bounded", async () => {
  const r = await fuzzAgentOverUdp(20_000, 17);
  console.log(JSON.stringify({ ...r, elapsedMs: Math.round(r.elapsedMs) }));
  assertEquals(r.errors, []);
  assertEquals([r.exitCode, r.healthy], [0, true]);
  // Batches that fit the socket's buffer, each read before the next: what the kernel dropped is
  // counted, and the agent read nearly all.
  assert(r.received > 0.99 * r.sent && r.received <= r.sent, `${r.received} of ${r.sent}`);
  assertEquals(r.received + r.kernelDrops, r.sent);
  // The mutations reach the parsers' error paths, and the intact datagrams still decode.
  assert(Object.keys(r.malformed).length >= 8, JSON.stringify(r.malformed));
  assert((r.records.flow ?? 0) > 10_000 && (r.records.sample ?? 0) > 10_000, JSON.stringify(r));
  assert(r.exporters >= 4 && r.exporters <= 256, `exporters ${r.exporters}`);
  // The decoder's state is bounded: RSS after the warm-up and at the end, generous 64 MiB.
  assert(r.rssEndMiB - r.rssWarmMiB < 64, `RSS ${r.rssWarmMiB} -> ${r.rssEndMiB} MiB`);
});
