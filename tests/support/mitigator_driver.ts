// A real Mitigator (real firewall backend, real state database, the namespace's own
// tcp_syncookies) plus small TCP endpoints, run inside whatever network namespace it is started
// in (tests start it with `ip netns exec`). Reads one JSON request per stdin line, answers one
// JSON line on stdout: {ok: true, result} or {ok: false, error}.
import { configure, getLogger, type LogRecord } from "@logtape/logtape";
import { parseConfig } from "../../core/config/mod.ts";
import type { IncidentEvent } from "../../core/detect/mod.ts";
import { Allowlist, type MitigationAction, type ProtectedFlows } from "../../core/mitigate/mod.ts";
import { Enforcer, firewallBackend, Mitigator } from "../../agent/mitigate/mod.ts";
import { MitigationStore, openStateDb } from "../../agent/state/mod.ts";

const logs: string[] = [];
await configure({
  sinks: { mem: (r: LogRecord) => logs.push(r.message.map(String).join("")) },
  loggers: [
    { category: ["driver"], sinks: ["mem"], lowestLevel: "debug" },
    { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
  ],
  reset: true,
});

let mitigator: Mitigator | null = null;
let backend: ReturnType<typeof firewallBackend> | null = null;
let db: ReturnType<typeof openStateDb> | null = null;
const closers: (() => Promise<void> | void)[] = [() => db?.close()];

type Request = Record<string, unknown> & { op: string };

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case "start": {
      db = openStateDb(`${req.dir}/ftagent.db`);
      backend = firewallBackend(req.backend as "nftables" | "iptables");
      const flows = req.flows as ProtectedFlows;
      mitigator = new Mitigator({
        settings: parseConfig({ mitigation: req.mitigation ?? { mode: "auto" } }).config
          .mitigation,
        enforcer: new Enforcer(backend, null),
        store: new MitigationStore(db),
        allowlist: new Allowlist(),
        log: getLogger(["driver"]),
        protection: () => flows,
        reporting: true, // as a node with a control plane: pushed commands are applied
      });
      await mitigator.start();
      return null;
    }
    case "command":
      return await mitigator!.command(req.command);
    case "handle":
      return await mitigator!.handle(req.event as IncidentEvent);
    case "apply":
      return await backend!.apply(req.actions as MitigationAction[]);
    case "sweep":
      return await mitigator!.sweep();
    case "stop":
      await mitigator!.stop();
      return null;
    case "logs":
      return logs;
    case "serve": {
      const server = Deno.serve(
        { hostname: req.hostname as string, port: req.port as number, onListen() {} },
        () => new Response("heartbeat ok"),
      );
      closers.push(() => server.shutdown());
      return null;
    }
    case "listen": {
      const listener = Deno.listen({ hostname: req.hostname as string, port: req.port as number });
      (async () => {
        for await (const conn of listener) {
          await conn.write(new TextEncoder().encode("hi\n")).catch(() => {});
          conn.close();
        }
      })().catch(() => {});
      closers.push(() => listener.close());
      return null;
    }
    case "fetch": {
      const res = await fetch(req.url as string, { signal: AbortSignal.timeout(3000) });
      return await res.text();
    }
    case "connect": {
      const conn = await withTimeout(
        Deno.connect({ hostname: req.host as string, port: req.port as number }),
      );
      try {
        const buf = new Uint8Array(16);
        const n = await withTimeout(conn.read(buf));
        return new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim();
      } finally {
        conn.close();
      }
    }
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

function withTimeout<T>(p: Promise<T>, ms = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function* lines(): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}

for await (const line of lines()) {
  if (line.trim() === "") continue;
  const req = JSON.parse(line) as Request;
  if (req.op === "exit") break;
  let answer: unknown;
  try {
    answer = { ok: true, result: (await handle(req)) ?? null };
  } catch (err) {
    answer = { ok: false, error: (err as Error).message };
  }
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(answer) + "\n"));
}
for (const close of closers.toReversed()) await close();
Deno.exit(0);
