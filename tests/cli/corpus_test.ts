// The project's corpus (corpus/*.pcap, made by corpus/make/*.sh with real tools in network
// namespaces): `ftagent replay` must report what each case's JSON expects: the incidents, their
// targets, families, subtypes and spoofing verdicts, and how soon after the onset they open;
// legitimate traffic must open nothing.
import { assert } from "../support/assert.ts";
import { corpusCases, differences, replayCase } from "../support/project_corpus.ts";

const dir = await Deno.makeTempDir({ prefix: "ftagent-corpus-" });

for (const c of corpusCases()) {
  const what = c.expect.incidents === 0
    ? "opens no incident"
    : `opens ${c.expect.incidents} incident${c.expect.incidents > 1 ? "s" : ""} as expected`;
  if (c.expect.known_failure) console.warn(`corpus ${c.name}: ignored: ${c.expect.known_failure}`);
  Deno.test({
    name: `replay of the corpus case ${c.name} ${what}`,
    ignore: c.expect.known_failure !== undefined,
  }, async () => {
    const result = await replayCase(c, dir);
    const problems = differences(c, result);
    assert(problems.length === 0, `${c.name} (${c.how}): ${problems.join("; ")}`);
  });
}

Deno.test("replay of the compromised-host case names the finding outbound, and opens nothing without detect_outbound", async () => {
  const c = corpusCases().find((c) => c.name === "outbound_syn_flood")!;
  const on = await replayCase(c, dir);
  assert(on.opens.length === 1 && on.opens[0].direction === "outbound", JSON.stringify(on.opens));
  assert(on.held.some((h) => /answers to this host's own traffic/.test(String(h.reason))));
  const off = await replayCase({ ...c, config: { ...c.config, detect_outbound: false } }, dir);
  assert(off.opens.length === 0, `opened ${JSON.stringify(off.opens)}`);
});

Deno.test("the corpus test removes its scratch folder", async () => {
  await Deno.remove(dir, { recursive: true });
});
