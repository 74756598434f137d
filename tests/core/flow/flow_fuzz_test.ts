import { assert, assertEquals } from "../../support/assert.ts";
import { FUZZ_BOUNDS, fuzzFlows } from "../../support/flow_fuzz.ts";

Deno.test("FlowDecoder survives 50,000 mutated real datagrams with no throw, no read past them and its bounds kept", () => {
  const heapBefore = Deno.memoryUsage().heapUsed;
  const r = fuzzFlows(50_000, 17);
  const heapAfter = Deno.memoryUsage().heapUsed;
  assertEquals(r.throws, 0, r.firstError);
  assertEquals(r.nonFinite, 0);
  assertEquals(r.readPast, 0, r.firstError);
  assert(r.maxExporters <= FUZZ_BOUNDS.maxExporters!, `exporters ${r.maxExporters}`);
  assert(
    r.maxTemplates <= FUZZ_BOUNDS.maxExporters! * FUZZ_BOUNDS.maxTemplatesPerExporter!,
    `templates ${r.maxTemplates}`,
  );
  assert(r.maxHeld <= FUZZ_BOUNDS.maxHeldSets!, `held ${r.maxHeld}`);
  // The fuzzer reaches the bounds and the parsers' error paths.
  assertEquals(r.maxExporters, FUZZ_BOUNDS.maxExporters);
  assert(r.dropped > 10_000 && r.delivered > 100_000, JSON.stringify(r));
  // Heap after the run (the corpus and decoder still alive): generous bound, 64 MiB.
  assert(heapAfter - heapBefore < 64 * 2 ** 20, `heap grew ${heapAfter - heapBefore} bytes`);
  console.log(JSON.stringify({ ...r, elapsedMs: Math.round(r.elapsedMs) }));
});
