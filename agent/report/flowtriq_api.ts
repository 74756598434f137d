/**
 * HTTP client of the Flowtriq agent API: the spec's headers on every call (`Authorization:
 * Bearer`, `X-Node-UUID`, `User-Agent: ftagent/<version>`, `Content-Type`), a timeout on every
 * call, and answers sorted into success (JSON body, empty = `{}`), transient failure (network,
 * timeout, 408, 429, 5xx; with the server's `Retry-After`) and permanent failure (other 4xx).
 * Every answer's body is read as a stream and capped at {@linkcode MAX_ANSWER_BYTES}: a larger
 * one is cancelled where the cap is crossed (or at once when `Content-Length` says so), nothing
 * of it is parsed, and the call fails like a network error (retried; the next normal answer is
 * used), with one warning per endpoint.
 *
 * @module
 */

import { basename } from "node:path";
import { parseRetryAfter } from "../../core/report/mod.ts";
import { readCapped } from "./capped_body.ts";

/** Largest PCAP sent as one multipart upload; larger files go in raw chunks of this size. */
export const PCAP_CHUNK_BYTES = 2 * 1024 * 1024;

/**
 * Largest answer body read (1 MiB; the biggest legitimate answer, a config with its pending
 * commands, is a few kB). Past it the body is cancelled and the answer counts as failed.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

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
  /** Largest answer body read (bytes, default {@linkcode MAX_ANSWER_BYTES}). */
  maxAnswerBytes?: number;
  /** Hears a one-line warning (an oversized answer: once per endpoint). */
  onWarn?: (message: string) => void;
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
  readonly #maxAnswer: number;
  readonly #onWarn: (message: string) => void;
  /** Endpoints already warned about an oversized answer. */
  readonly #warnedLarge = new Set<string>();
  /** Calls that failed (any reason). */
  errors = 0;
  /** Answers discarded because their body passed the cap. */
  oversized = 0;

  /** Creates the client (nothing is sent until a call). */
  constructor(options: FlowtriqApiOptions) {
    this.base = options.apiBase.replace(/\/+$/, "");
    this.#headers = {
      "Authorization": `Bearer ${options.apiKey}`,
      "X-Node-UUID": options.nodeUuid,
      "User-Agent": `ftagent/${options.version}`,
    };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAnswer = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    this.#onWarn = options.onWarn ?? (() => {});
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
      const text = await readCapped(res, this.#maxAnswer);
      if (text === null) {
        this.errors++;
        this.oversized++;
        const endpoint = `${method} ${endpointOf(path)}`;
        const error = `${method} ${path}: HTTP ${res.status} answer larger than ${
          sizeText(this.#maxAnswer)
        }, discarded unread`;
        if (!this.#warnedLarge.has(endpoint)) {
          this.#warnedLarge.add(endpoint);
          this.#onWarn(
            `${endpoint}: an answer larger than ${
              sizeText(this.#maxAnswer)
            } was discarded unread and the call counted as failed (said once per endpoint)`,
          );
        }
        return { ok: false, status: res.status, permanent: false, error };
      }
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

/** The endpoint of a path (an incident's uuid replaced by `{uuid}`), for the warn-once set. */
function endpointOf(path: string): string {
  return path.replace(/^(\/agent\/incidents\/)[^/]+/, "$1{uuid}");
}

function sizeText(bytes: number): string {
  return bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes % 1024 === 0
    ? `${bytes / 1024} KiB`
    : `${bytes} bytes`;
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

/** The error's first line; fetch's bare "fetch failed" gets its cause (DNS, refused, TLS). */
function oneLine(err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error && cause.message !== "") text = `${text}: ${cause.message}`;
  return text.split("\n")[0];
}
