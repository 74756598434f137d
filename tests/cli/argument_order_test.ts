// Options before or after the command, in any order, as the Flowtriq agent's argparse took them.
import { assertEquals, assertMatch } from "../support/assert.ts";
import { CORPUS, ftagent } from "../support/cli.ts";
import { agentScratch } from "../support/scratch.ts";

Deno.test("ftagent takes --config before or after --test, with the same result", async () => {
  const { dir, config } = await agentScratch("fta-order-test-");
  try {
    const after = await ftagent(["--test", "--config", config]);
    const before = await ftagent(["--config", config, "--test"]);
    assertEquals(before.code, after.code, before.stderr);
    assertEquals(before.code, 0, before.stderr);
    assertMatch(before.stdout, new RegExp(`config: ${config} is valid`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftagent finds a command after the global options: --config X incidents lists them", async () => {
  const { dir, config } = await agentScratch("fta-order-incidents-");
  try {
    const run = await ftagent([
      "--fast",
      "--config",
      config,
      "--pcap",
      CORPUS + "amp.UDP.isakmp.pcap",
    ]);
    assertEquals(run.code, 0, run.stderr);
    const before = await ftagent(["--config", config, "incidents"]);
    const after = await ftagent(["incidents", "--config", config]);
    assertEquals(before.code, 0, before.stderr);
    assertEquals(before.stdout, after.stdout);
    assertMatch(before.stdout, /udp_flood\/isakmp_amplification/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftagent prints a command's usage for --help wherever it stands", async () => {
  for (
    const args of [["replay", "--help"], ["--help", "replay"], ["--config", "x", "replay", "-h"]]
  ) {
    const out = await ftagent(args);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /^ftagent replay FILE/, args.join(" "));
  }
  const version = await ftagent(["--config", "/nonexistent.json", "--version"]);
  assertMatch(version.stdout, /^ftagent \d+\.\d+\.\d+/);
});

Deno.test("ftagent never takes an option's value for the command", async () => {
  // A config file named like a command: still the agent's run, with that config (missing).
  const out = await ftagent(["--config", "incidents", "--pcap", "/nonexistent.pcap"]);
  assertEquals(out.code === 0, false);
  assertEquals(out.stdout.includes("no incidents recorded"), false, out.stdout);
});
