import { assert, assertEquals } from "../../support/assert.ts";
import { isLoopback, startMetricsServer } from "../../../agent/observe/mod.ts";
import type { AgentSnapshot } from "../../../core/report/mod.ts";

// The paths under test are answered by `routes`; the snapshot is never read.
const snapshot = (): AgentSnapshot => {
  throw new Error("not read in this test");
};
const routes = (url: URL) =>
  url.pathname === "/dashboard" || url.pathname === "/health"
    ? new Response(`page ${url.pathname}`)
    : null;

async function get(url: string, headers: HeadersInit = {}): Promise<[number, string]> {
  const r = await fetch(url, { headers });
  return [r.status, await r.text()];
}

Deno.test("the endpoint bound off loopback asks every path but /health for dashboard_token, in ?token= or Authorization: Bearer", async () => {
  const errors: string[] = [];
  const server = startMetricsServer({
    port: 0,
    hostname: "0.0.0.0",
    token: "s3cret-Token",
    snapshot,
    routes,
    onError: (m) => errors.push(m),
  });
  assert(server);
  try {
    assertEquals(server.hostname, "0.0.0.0");
    const base = `http://127.0.0.1:${server.port}`;
    const refused = await get(`${base}/dashboard`);
    assertEquals(refused, [
      401,
      "unauthorized: add ?token=<dashboard_token> or Authorization: Bearer\n",
    ]);
    assertEquals((await get(`${base}/dashboard?token=s3cret-Tokem`))[0], 401);
    assertEquals((await get(`${base}/dashboard?token=s3cret-Token2`))[0], 401);
    assertEquals((await get(`${base}/metrics`))[0], 401);
    assertEquals(await get(`${base}/dashboard?token=s3cret-Token`), [200, "page /dashboard"]);
    assertEquals(await get(`${base}/dashboard`, { authorization: "Bearer s3cret-Token" }), [
      200,
      "page /dashboard",
    ]);
    assertEquals(await get(`${base}/health`), [200, "page /health"]);
    assertEquals(errors, []);
  } finally {
    await server.close();
  }
});

Deno.test("the endpoint asked to bind off loopback without a dashboard_token listens on 127.0.0.1 instead and says so in one line", async () => {
  const errors: string[] = [];
  const server = startMetricsServer({
    port: 0,
    hostname: "0.0.0.0",
    token: "",
    snapshot,
    routes,
    onError: (m) => errors.push(m),
  });
  assert(server);
  try {
    assertEquals(server.hostname, "127.0.0.1");
    assertEquals(errors, [
      "metrics_address 0.0.0.0 needs a dashboard_token: listening on 127.0.0.1 instead",
    ]);
    assertEquals(await get(`http://127.0.0.1:${server.port}/dashboard`), [200, "page /dashboard"]);
  } finally {
    await server.close();
  }
});

Deno.test("isLoopback() takes 127.0.0.0/8 and ::1 as loopback, and 0.0.0.0, :: and host addresses not", () => {
  assertEquals(
    ["127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "::", "198.18.0.1", "fe80::1"].map(isLoopback),
    [true, true, true, false, false, false, false],
  );
});
