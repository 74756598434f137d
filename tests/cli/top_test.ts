import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { VICTIM, writeAttackCapture } from "../support/attack_capture.ts";
import { CLI, killAgent, spawnFtagent } from "../support/cli.ts";
import { hasCommand } from "../support/netns.ts";
import { agentScratch } from "../support/scratch.ts";
import { waitFor } from "../support/stream.ts";

const noTmux = !(await hasCommand("tmux"));
/** Where the captured screen is kept after the test (CI uploads the directory). */
const ARTIFACTS = Deno.env.get("FTAGENT_TEST_ARTIFACTS") ?? "/tmp/ftagent-test-artifacts";

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** tmux on a private server socket (never the user's). */
async function tmux(socket: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args: ["-L", socket, ...args], stderr: "piped" })
    .output();
  if (out.code !== 0 && args[0] !== "kill-server") {
    throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Captures the pane until `test` passes (every 300 ms, up to `ms`); returns the last capture. */
async function screenUntil(
  socket: string,
  test: (screen: string) => boolean,
  ms = 30_000,
  flags: string[] = [],
): Promise<string> {
  const end = Date.now() + ms;
  let screen = "";
  while (Date.now() < end) {
    screen = await tmux(socket, "capture-pane", "-p", ...flags, "-t", "top");
    if (test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 300));
  }
  return screen;
}

Deno.test({
  name:
    "ftagent top in an 80x24 tmux shows the rates with a sparkline, the attacked target and the open incident without colour under NO_COLOR, says when the agent is gone, and q quits with 0",
  ignore: noTmux,
  async fn() {
    const port = freePort();
    const { dir, config } = await agentScratch("fta-top-", { metrics_port: port });
    await writeAttackCapture(`${dir}/attack.pcap`);
    const agent = spawnFtagent(["--pcap", `${dir}/attack.pcap`, "--config", config]);
    const stderr = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const socket = `fta-top-${Deno.pid}`;
    let seen = "";
    const drain = (async () => {
      seen = await waitFor(stderr, /incident open [0-9a-f-]{36}/);
      for (let r = await stderr.read(); !r.done; r = await stderr.read()) seen += r.value;
    })().catch(() => {});
    try {
      const top = [Deno.execPath(), "run", "--allow-all", CLI, "top", "--config", config];
      // The exit code lands in a file once `top` ends; timeout bounds a `top` that never quits.
      const command = `env NO_COLOR=1 timeout --foreground 60 ${top.join(" ")}; ` +
        `echo $? > ${dir}/exit`;
      await tmux(socket, "new-session", "-d", "-s", "top", "-x", "80", "-y", "24", command);
      const flood = new RegExp(`syn_flood/syn_flood on ${VICTIM.replaceAll(".", "\\.")}`);
      const screen = await screenUntil(socket, (s) => flood.test(s) && /^Last events/m.test(s));
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await Deno.writeTextFile(`${ARTIFACTS}/top.txt`, screen);
      const lines = screen.replace(/\n$/, "").split("\n");
      assertEquals(lines.length, 24, screen);
      for (const line of lines) assert([...line].length <= 80, `wider than 80: ${line}`);
      assertMatch(screen, /^ftagent \S+ {2}healthy {2}\d\d:\d\d:\d\d UTC {2}on \/tmp\//m);
      assertMatch(screen, /^pps {3}\d\.\d\d kpps +[▁▂▃▄▅▆▇█]+ thr 2\.00 kpps$/m);
      assertMatch(screen, /^Open incidents \(1\)$/m);
      assertMatch(screen, flood);
      assertMatch(screen, /^ {4}mitigation dry run \d+: \S+% TCP SYN/m);
      assertMatch(screen, new RegExp(`^ {2}${VICTIM.replaceAll(".", "\\.")} +active +\\d`, "m"));
      assertMatch(screen, /^ {2}\d\d:\d\d:\d\d open syn_flood on 10\.10\.10\.10 peak/m);
      assertEquals(lines.at(-1), "q quit");
      // NO_COLOR: the pane's cells carry no colour (capture-pane -e prints their attributes).
      const attributes = await tmux(socket, "capture-pane", "-p", "-e", "-t", "top");
      const colour = new RegExp("\x1b\\[[0-9;]*3[0-7]m");
      assert(!colour.test(attributes), JSON.stringify(attributes.slice(0, 400)));

      // The agent goes away: the last screen stays, with the reason on top.
      agent.kill("SIGTERM");
      await agent.status;
      const gone = await screenUntil(socket, (s) => /agent not answering/.test(s), 15_000);
      assertMatch(gone, /^agent not answering on http:\/\/127\.0\.0\.1:\d+\/dashboard\.json: /m);

      await tmux(socket, "send-keys", "-t", "top", "q");
      let code = "";
      for (let i = 0; i < 100 && code === ""; i++) {
        await new Promise((r) => setTimeout(r, 100));
        code = await Deno.readTextFile(`${dir}/exit`).catch(() => "");
      }
      assertEquals(code.trim(), "0", "top quits on q with 0 (124: timeout killed it)");
    } finally {
      await tmux(socket, "kill-server");
      await killAgent(agent, stderr);
      await drain;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
