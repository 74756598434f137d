/**
 * HTTP client of the Flowtriq agent API: the spec's headers on every call (`Authorization:
 * Bearer`, `X-Node-UUID`, `User-Agent: ftagent/<version>`, `Content-Type`), a timeout on every
 * call, and answers sorted into success (JSON body, empty = `{}`), transient failure (network,
 * timeout, 408, 429, 5xx; with the server's `Retry-After`) and permanent failure (other 4xx).
 *
 * @module
 */

import { basename } from "node:path";
import { parseRetryAfter } from "../../core/report/mod.ts";

/** Largest PCAP sent as one multipart upload; larger files go in raw chunks of this size. */
export const PCAP_CHUNK_BYTES = 2 * 1024 * 1024;

/** How to reach the API. */
export interface FlowtriqApiOptions {
  /** Base URL (`api_base`); a trailing `/` is trimmed. */
  apiBase: string;
  /** The node's API key (a Bearer token). */
  apiKey: string;
  /** The node's UUID (the `X-Node-UUID` header). */
  nodeUuid: string;
  /** The agent's version, for the User-Agent. */
  version: string;
  /** Timeout of each request (ms, default 10000). */
  timeoutMs?: number;
}

/** The outcome of one call. */
export type ApiResult =
  | { ok: true; status: number; body: Record<string, unknown>; note?: string }
  | { ok: false; status: number | null; error: string; retryAfterS?: number; permanent: boolean };

/** A client for one node's API account. */
export class FlowtriqApi {
  /** The API root, without a trailing slash. */
  readonly base: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  /** Calls that failed (any reason). */
  errors = 0;

  /** Creates the client (nothing is sent until a call). */
  constructor(options: FlowtriqApiOptions) {
    this.base = options.apiBase.replace(/\/+$/, "");
    this.#headers = {
      "Authorization": `Bearer ${options.apiKey}`,
      "X-Node-UUID": options.nodeUuid,
      "User-Agent": `ftagent/${options.version}`,
    };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** `GET /agent/config`. */
  getConfig(signal?: AbortSignal): Promise<ApiResult> {
    return this.#call("GET", "/agent/config", undefined, {}, signal);
  }

  /**
   * `POST path` with a JSON body. `idempotencyKey` (the outbox key) goes in an
   * `Idempotency-Key` header, so a server that honours it can drop the repeat of a call whose
   * answer was lost (a timeout after the server acted): the spec has no such key, others ignore it.
   */
  post(
    path: string,
    body: unknown,
    signal?: AbortSignal,
    idempotencyKey?: string,
  ): Promise<ApiResult> {
    return this.#call(
      "POST",
      path,
      JSON.stringify(body),
      {
        "Content-Type": "application/json",
        ...(idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey }),
      },
      signal,
    );
  }

  /**
   * `POST /agent/incidents/{uuid}/pcap`: the file as multipart field `pcap` when it is at most
   * 2 MiB, else raw 2 MiB chunks with `X-Chunk-Index`, `X-Chunk-Total` and `X-Upload-Id`. A
   * missing file is a permanent failure. `uploadId` (16 hex chars) names a chunked upload.
   */
  async uploadPcap(
    uuid: string,
    path: string,
    uploadId: string,
    signal?: AbortSignal,
  ): Promise<ApiResult> {
    const url = `/agent/incidents/${encodeURIComponent(uuid)}/pcap`;
    let data: Uint8Array;
    try {
      data = await Deno.readFile(path);
    } catch (err) {
      this.errors++;
      return { ok: false, status: null, permanent: true, error: `PCAP ${path}: ${oneLine(err)}` };
    }
    if (data.length <= PCAP_CHUNK_BYTES) {
      const form = new FormData();
      form.append(
        "pcap",
        new Blob([data as Uint8Array<ArrayBuffer>], { type: "application/vnd.tcpdump.pcap" }),
        basename(path),
      );
      return await this.#call("POST", url, form, {}, signal);
    }
    const total = Math.ceil(data.length / PCAP_CHUNK_BYTES);
    let last: ApiResult | null = null;
    for (let i = 0; i < total; i++) {
      const chunk = data.subarray(i * PCAP_CHUNK_BYTES, (i + 1) * PCAP_CHUNK_BYTES);
      last = await this.#call("POST", url, chunk as Uint8Array<ArrayBuffer>, {
        "Content-Type": "application/octet-stream",
        "X-Chunk-Index": String(i),
        "X-Chunk-Total": String(total),
        "X-Upload-Id": uploadId,
      }, signal);
      if (!last.ok) return last;
    }
    return last!;
  }

  async #call(
    method: string,
    path: string,
    body: BodyInit | undefined,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<ApiResult> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal?.addEventListener("abort", onAbort);
    const timer = setTimeout(() => ctl.abort(), this.#timeoutMs);
    try {
      if (signal?.aborted) throw new Error("stopped");
      const res = await fetch(this.base + path, {
        method,
        body,
        headers: { ...this.#headers, ...headers },
        signal: ctl.signal,
        redirect: "error",
      });
      const text = await res.text();
      if (!res.ok) {
        this.errors++;
        const s = res.status;
        const retryAfterS = parseRetryAfter(res.headers.get("retry-after"), Date.now());
        return {
          ok: false,
          status: s,
          permanent: s >= 400 && s < 500 && s !== 408 && s !== 429,
          error: `${method} ${path}: HTTP ${s}${detail(text)}`,
          ...(retryAfterS === null ? {} : { retryAfterS }),
        };
      }
      return { ok: true, status: res.status, ...parseBody(text) };
    } catch (err) {
      this.errors++;
      const why = signal?.aborted
        ? "stopped"
        : ctl.signal.aborted
        ? `no answer within ${this.#timeoutMs} ms`
        : oneLine(err);
      return { ok: false, status: null, permanent: false, error: `${method} ${path}: ${why}` };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** A JSON object body, `{}` for an empty one; anything else is `{}` with a note saying so. */
function parseBody(text: string): { body: Record<string, unknown>; note?: string } {
  if (text.trim() === "") return { body: {} };
  try {
    const v = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return { body: v };
    return { body: {}, note: "the answer is JSON but not an object" };
  } catch {
    return { body: {}, note: `the answer is not JSON: ${JSON.stringify(text.slice(0, 60))}` };
  }
}

function detail(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  return t === "" ? "" : ` ${t.slice(0, 120)}`;
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
