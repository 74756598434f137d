/**
 * The agent's local HTTP endpoint on 127.0.0.1 (or `metrics_address`): `/metrics` (Prometheus
 * text format), `/health` (200 "ok", or 503 naming what is wrong), `/status.json` (the
 * snapshot, read by `ftagent status`) and the paths `routes` answers (the dashboard). It only
 * calls callbacks, so it never reaches into the components that make the numbers. Off
 * loopback every path but `/health` needs the token (`?token=` or `Authorization: Bearer`).
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

/** Address the endpoint listens on by default: never reachable from outside the host. */
export const METRICS_HOST = "127.0.0.1";

/** Extra paths: a response, or null for "not mine". */
export type Routes = (url: URL, request: Request) => Response | Promise<Response> | null;

/**
 * Where a local client (`ftagent status`, `ftagent top`) reaches the endpoint of `config`:
 * 127.0.0.1 when it listens on every address, and the token's header when one is set.
 */
export function endpointOf(config: {
  metrics_port: number;
  metrics_address: string;
  dashboard_token: string;
}): { baseUrl: string; headers: Record<string, string> } {
  const a = config.metrics_address;
  const host = a === "0.0.0.0" || a === "::" ? METRICS_HOST : a.includes(":") ? `[${a}]` : a;
  return {
    baseUrl: `http://${host}:${config.metrics_port}`,
    headers: config.dashboard_token === ""
      ? {}
      : { authorization: `Bearer ${config.dashboard_token}` },
  };
}

/** True for 127.0.0.0/8 and ::1 (no token needed there). */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === "::1";
}

/** A running endpoint. */
export interface MetricsServer {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** The address it listens on. */
  readonly hostname: string;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Serves `snapshot()` (and `routes`) on `hostname` (default 127.0.0.1):`port`. Off loopback
 * it asks for `token`; without one it listens on 127.0.0.1 instead, after one `onError` line.
 * Returns null, after one `onError` line, when the port cannot be bound (in use, no
 * permission): the agent goes on without it.
 */
export function startMetricsServer(opts: {
  port: number;
  snapshot: () => AgentSnapshot;
  onError: (message: string) => void;
  hostname?: string;
  token?: string;
  routes?: Routes;
}): MetricsServer | null {
  let hostname = opts.hostname ?? METRICS_HOST;
  const token = isLoopback(hostname) ? "" : opts.token ?? "";
  if (!isLoopback(hostname) && token === "") {
    opts.onError(
      `metrics_address ${hostname} needs a dashboard_token: listening on ${METRICS_HOST} instead`,
    );
    hostname = METRICS_HOST;
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: opts.port,
      onListen: () => {},
      onError: (err) => {
        opts.onError(`metrics endpoint: ${(err as Error).message}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, (request) => {
      const url = new URL(request.url);
      if (token !== "" && url.pathname !== "/health" && !authorized(request, url, token)) {
        return text("unauthorized: add ?token=<dashboard_token> or Authorization: Bearer\n", 401);
      }
      return opts.routes?.(url, request) ?? respond(url.pathname, request.method, opts.snapshot);
    });
  } catch (err) {
    const reason = err instanceof Deno.errors.AddrInUse
      ? "the port is in use"
      : (err as Error).message.split("\n")[0];
    opts.onError(`metrics endpoint off: cannot listen on ${hostname}:${opts.port}: ${reason}`);
    return null;
  }
  return { port: server.addr.port, hostname, close: () => server.shutdown() };
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

function authorized(request: Request, url: URL, token: string): boolean {
  const given = url.searchParams.get("token") ??
    request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(token);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
