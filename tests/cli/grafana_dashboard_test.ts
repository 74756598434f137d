// packaging/grafana/ftagent-dashboard.json against the real agent: every metric it queries is in
// the /metrics of an agent running on a capture, and every query is PromQL promtool accepts.
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { spawnFtagent } from "../support/cli.ts";
import { eth, EtherType, ipv4, tcp } from "../support/frames.ts";
import { promtool } from "../support/promtool.ts";
import { agentScratch } from "../support/scratch.ts";
import { writeSplice } from "../support/splice.ts";
import { waitFor } from "../support/stream.ts";
import { TcpFlag } from "../../core/packet/mod.ts";

const DASHBOARD = new URL("../../packaging/grafana/ftagent-dashboard.json", import.meta.url)
  .pathname;

/** Every PromQL expression of the dashboard (panels, annotations, variables). */
function expressions(): string[] {
  const dash = JSON.parse(Deno.readTextFileSync(DASHBOARD));
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if ((k === "expr" || k === "definition") && typeof x === "string") out.push(x);
        else walk(x);
      }
    }
  };
  walk(dash);
  return out;
}

/** The metric names an expression reads. */
function metricNames(expr: string): string[] {
  return expr.match(/\b(?:ftagent|process)_[a-z_]+\b/g) ?? [];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("every metric the Grafana dashboard queries is in the /metrics of an agent running on a capture", async () => {
  const names = new Set(expressions().flatMap(metricNames));
  assert(names.size >= 30, [...names].join(", "));
  const port = freePort();
  const { dir, config } = await agentScratch("fta-grafana-", { metrics_port: port });
  // Web traffic for 10 s and a SYN flood from the 2nd to the 6th second, at their recorded pace:
  // the agent runs (and has an incident, so the per-family series exist) while /metrics is read.
  const capture = `${dir}/syn.pcap`;
  const frame = (flags: number, i: number) =>
    eth(
      EtherType.IPV4,
      ipv4(6, tcp(40000 + i, flags === TcpFlag.SYN ? 80 : 443, flags), {
        src: `198.18.${2 + (i >> 8)}.${i & 0xff}`,
        dst: "198.18.0.1",
      }),
    );
  await writeSplice(capture, [
    { frames: [0, 1, 2, 3].map((i) => frame(TcpFlag.ACK, i)), fromS: 0, toS: 10, pps: 50 },
    {
      frames: Array.from({ length: 512 }, (_, i) => frame(TcpFlag.SYN, i)),
      fromS: 2,
      toS: 6,
      pps: 8000,
    },
  ]);
  const child = spawnFtagent(["--pcap", capture, "--config", config]);
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    let stderr = await waitFor(reader, /metrics on http:/);
    for (let i = 0; i < 100 && !/^ftagent_incidents_total\{/m.test(text); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    }
    stderr = await waitFor(reader, /\bstopped: /, stderr, 60_000);
    assertEquals((await child.status).code, 0, stderr.slice(-2000));
  } finally {
    await reader.cancel().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
  const missing = [...names].filter((n) => !new RegExp(`^# TYPE ${n} `, "m").test(text));
  assertEquals(missing, [], text);
});

Deno.test("every query of the Grafana dashboard is PromQL that promtool accepts", async () => {
  const exprs = expressions().map((e) =>
    e.replaceAll("$__range", "1h").replaceAll("$instance", ".*").replaceAll("$job", ".*")
  );
  assert(exprs.length >= 30, String(exprs.length));
  const dir = await Deno.makeTempDir({ prefix: "fta-grafana-rules-" });
  try {
    // `label_values(...)` is Grafana's, not PromQL: its selector is checked instead.
    const promql = exprs.map((e) => e.replace(/^label_values\((.*), *\w+\)$/, "$1"));
    const rules = promql.map((e, i) =>
      `      - record: grafana:q${i}\n        expr: ${JSON.stringify(e)}`
    );
    await Deno.writeTextFile(
      `${dir}/q.yml`,
      `groups:\n  - name: q\n    rules:\n${rules.join("\n")}\n`,
    );
    const result = await promtool(["check", "rules", `${dir}/q.yml`]);
    assertEquals(result.code, 0, result.output);
    assertMatch(result.output, new RegExp(`SUCCESS: ${promql.length} rules found`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
