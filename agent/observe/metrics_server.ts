/**
 * The agent's local HTTP endpoint on 127.0.0.1: `/metrics` (Prometheus text format),
 * `/health` (200 "ok", or 503 naming what is wrong) and `/status.json` (the snapshot, read by
 * `ftagent status`). It only calls one snapshot callback, so it never reaches into the
 * components that make the numbers.
 *
 * @module
 */

import {
  agentMetrics,
  type AgentSnapshot,
  exposition,
  healthProblems,
  PROMETHEUS_CONTENT_TYPE,
} from "../../core/report/mod.ts";

/** Address the endpoint listens on: never reachable from outside the host. */
export const METRICS_HOST = "127.0.0.1";

/** A running endpoint. */
export interface MetricsServer {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Serves `snapshot()` on 127.0.0.1:`port`. Returns null, after one `onError` line, when the
 * port cannot be bound (in use, no permission): the agent goes on without it.
 */
export function startMetricsServer(opts: {
  port: number;
  snapshot: () => AgentSnapshot;
  onError: (message: string) => void;
}): MetricsServer | null {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: METRICS_HOST,
      port: opts.port,
      onListen: () => {},
      onError: (err) => {
        opts.onError(`metrics endpoint: ${(err as Error).message}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, (request) => respond(new URL(request.url).pathname, request.method, opts.snapshot));
  } catch (err) {
    const reason = err instanceof Deno.errors.AddrInUse
      ? "the port is in use"
      : (err as Error).message.split("\n")[0];
    opts.onError(`metrics endpoint off: cannot listen on ${METRICS_HOST}:${opts.port}: ${reason}`);
    return null;
  }
  return { port: server.addr.port, close: () => server.shutdown() };
}

function respond(path: string, method: string, snapshot: () => AgentSnapshot): Response {
  if (method !== "GET" && method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  switch (path) {
    case "/metrics":
      return new Response(exposition(agentMetrics(snapshot())), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      });
    case "/health": {
      const problems = healthProblems(snapshot());
      return problems.length === 0
        ? text("ok\n", 200)
        : text(`unhealthy: ${problems.join("; ")}\n`, 503);
    }
    case "/status.json":
      return Response.json(snapshot());
    case "/":
      return text("ftagent: /metrics /health /status.json\n", 200);
    default:
      return text("not found\n", 404);
  }
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
