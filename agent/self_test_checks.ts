/**
 * The live checks of `ftagent --test`, each one line "ok: ..." or "FAIL: ... why": the capture
 * opens on the configured interface (the real libpcap handle, opened and closed at once), and
 * with an account a real heartbeat reaches the control plane (the agent's own
 * {@linkcode FlowtriqApi} and heartbeat body), its failure named: DNS, connection refused, TLS,
 * timeout, 401 bad key, 404 unknown node, other HTTP status.
 *
 * @module
 */

import type { Config } from "../core/config/mod.ts";
import { heartbeatBody } from "../core/report/mod.ts";
import { captureDevice, LiveSource } from "./capture/mod.ts";
import { FlowtriqApi } from "./report/mod.ts";

/** One check's outcome. */
export interface CheckResult {
  /** Whether the check passed. */
  ok: boolean;
  /** One line: "ok: <check>: ..." or "FAIL: <check>: ... why". */
  line: string;
}

/** Batch buffer of the throw-away handle: it never reads a packet. */
const PROBE_BATCH_BYTES = 1024 * 1024;

/**
 * Opens the live capture the agent would open (`"auto"` resolved as the agent resolves it,
 * `override` as `--interface`) and closes it at once. Never throws.
 */
export function checkCapture(configured: string, override?: string): CheckResult {
  let device: string;
  try {
    device = captureDevice(configured, override);
  } catch (err) {
    return fail("capture", `interface "auto": ${oneLine(err)}`);
  }
  const via = override === undefined && configured === "auto"
    ? ` (interface auto -> ${device})`
    : "";
  let source: LiveSource;
  try {
    source = new LiveSource({ device, batchBytes: PROBE_BATCH_BYTES });
  } catch (err) {
    return fail("capture", `${oneLine(err)}${via}`);
  }
  const { linktype, libraryVersion, warning } = source;
  source.close();
  return {
    ok: true,
    line: `ok: capture: opened ${device}${via}, link type ${linktype}, ${libraryVersion}${
      warning === null ? "" : ` (warning: ${warning})`
    }`,
  };
}

/**
 * Sends one heartbeat (the body the agent sends, from a fresh agent's state) to the config's
 * `api_base` and says what came back. Standalone (no `api_key`) passes and says so; an
 * `api_key` without a `node_uuid` fails (the agent reports only with both). Never throws.
 */
export async function checkControlPlane(config: Config, version: string): Promise<CheckResult> {
  if (config.api_key === "") {
    return {
      ok: true,
      line:
        "ok: control plane: standalone mode (no api_key): nothing to reach, incidents stay local",
    };
  }
  if (config.node_uuid === "") {
    return fail(
      "control plane",
      "api_key is set but node_uuid is empty: the agent reports only with both (ftagent --setup)",
    );
  }
  const api = new FlowtriqApi({
    apiBase: config.api_base,
    apiKey: config.api_key,
    nodeUuid: config.node_uuid,
    version,
    timeoutMs: config.api_timeout_seconds * 1000,
  });
  const url = `${api.base}/agent/heartbeat`;
  const started = performance.now();
  const r = await api.post(
    "/agent/heartbeat",
    heartbeatBody({
      version,
      baselineReady: false,
      baselineAvgPps: 0,
      baselineP99Pps: 0,
      baselineHourlyReady: false,
      baselineCurrentHourP99: null,
      circuitBreaker: "closed",
      retryQueueSize: 0,
      pcapActive: false,
      srcIpCount: 0,
    }),
  );
  const ms = Math.round(performance.now() - started);
  if (r.ok) {
    const answer = JSON.stringify(r.body);
    return {
      ok: true,
      line: `ok: control plane: heartbeat to ${url} answered HTTP ${r.status} in ${ms} ms: ${
        answer.length > 100 ? `${answer.slice(0, 100)}...` : answer
      }${r.note === undefined ? "" : ` (${r.note})`}`,
    };
  }
  return fail("control plane", `heartbeat to ${url}: ${heartbeatFailure(r, config)}`);
}

/** Why a heartbeat failed, in words: the cause first, then the detail the client gave. */
export function heartbeatFailure(
  r: { status: number | null; error: string },
  config: Pick<Config, "api_base" | "api_timeout_seconds">,
): string {
  const detail = r.error.replace(/^POST \/agent\/heartbeat: /, "");
  if (r.status === 401) return `HTTP 401: the api_key is not accepted (wrong or revoked key)`;
  if (r.status === 403) return `HTTP 403: the api_key may not report for this node (${detail})`;
  if (r.status === 404) {
    return `HTTP 404: unknown node (the server does not know this node_uuid) or a wrong api_base path`;
  }
  if (r.status !== null) return detail;
  let host = config.api_base;
  try {
    host = new URL(config.api_base).host;
  } catch { /* the config validated it */ }
  if (/^no answer within/.test(detail)) {
    return `timeout: no answer within ${config.api_timeout_seconds} s (api_timeout_seconds)`;
  }
  if (
    /dns error|failed to lookup address|name or service not known|no address associated/i.test(
      detail,
    )
  ) {
    return `DNS: the name of ${host} was not found`;
  }
  if (/connection refused/i.test(detail)) return `connection refused by ${host}`;
  if (/certificate|tls|ssl|handshake/i.test(detail)) return `TLS error: ${tlsReason(detail)}`;
  if (/network is unreachable|no route to host/i.test(detail)) {
    return `no route to ${host}: ${detail}`;
  }
  return detail;
}

function tlsReason(detail: string): string {
  const m = detail.match(/invalid peer certificate: (.*)$/i);
  return m ? `the server's certificate is not trusted (${m[1]})` : detail;
}

function fail(check: string, why: string): CheckResult {
  return { ok: false, line: `FAIL: ${check}: ${why}` };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
