/**
 * Delivers the "flowtriq" outbox channels: each entry becomes one call of the agent API. An
 * incident is known by the agent's own id until the server's create answer names its `uuid`;
 * that mapping is kept in the state database (so updates, resolves and PCAP uploads after a
 * restart still reach the server's incident).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { ApiResult, FlowtriqApi } from "./flowtriq_api.ts";
import { migrate, type OutboxItem } from "../state/mod.ts";
import type { Deliver, DeliveryResult } from "./sender.ts";

/** The outbox channel of the control plane: heartbeats, metrics, command acks, L7 reports. */
export const FLOWTRIQ_CHANNEL = "flowtriq";

/**
 * The control plane's priority lane: incident events and their PCAP uploads, drained by a
 * sender of its own, so no backlog of acks or metrics delays an incident.
 */
export const FLOWTRIQ_INCIDENT_CHANNEL = "flowtriq:incidents";

/** Body of a "flowtriq" outbox entry. */
export type FlowtriqEntryBody =
  | { op: "post"; path: string; body: Record<string, unknown> }
  | { op: "incident"; event: "open" | "update" | "resolve"; id: string; body: unknown }
  | { op: "pcap"; id: string; path: string; uploadId: string };

/** Options of {@linkcode flowtriqDeliver}. */
export interface FlowtriqDeliveryOptions {
  /** The control plane's client. */
  api: FlowtriqApi;
  /** The state database (the map of agent to server incident ids). */
  db: DatabaseSync;
  /** Hears the `pending_commands` of a create answer. */
  onCommands?: (commands: unknown) => void;
  /** True while the PCAP recorder still writes the capture of incident `id`. */
  pcapWriting?: (id: string) => boolean;
  /** Hears a note about an odd but accepted answer (garbage body, no uuid). */
  onNote?: (note: string) => void;
}

const MIGRATIONS = [
  `CREATE TABLE flowtriq_incidents (
     client_id TEXT PRIMARY KEY, server_uuid TEXT NOT NULL, created_us INTEGER NOT NULL)`,
];

/** Longest wait for the recorder to finish a capture before uploading it (ms). */
const PCAP_WAIT_MS = 60_000;

/** Most mappings kept in memory (the newest; older ones are read from the database). */
const MAX_KNOWN_IDS = 10_000;

/**
 * The server uuid of each incident the agent created, by the agent's incident id. A mapping is
 * kept in memory as soon as the create is answered and written to the database behind: a
 * locked or full database never turns a delivered create into a failed one (which would
 * create the incident twice); the write is retried at the next use.
 */
class IncidentIds {
  readonly #db: DatabaseSync;
  readonly #known = new Map<string, string>();
  readonly #unwritten = new Map<string, { uuid: string; us: number }>();

  /** Creates its table when missing. */
  constructor(db: DatabaseSync) {
    migrate(db, "flowtriq", MIGRATIONS);
    this.#db = db;
  }

  /** The server's uuid of incident `clientId`, or `clientId` when the server gave none. */
  resolve(clientId: string): string {
    this.#flush();
    const known = this.#known.get(clientId);
    if (known !== undefined) return known;
    const row = this.#db.prepare(
      "SELECT server_uuid FROM flowtriq_incidents WHERE client_id = ?",
    ).get(clientId) as { server_uuid: string } | undefined;
    return row?.server_uuid ?? clientId;
  }

  /** Remembers the server's uuid of `clientId`; drops mappings older than 90 days. */
  set(clientId: string, serverUuid: string, nowUs: number): void {
    this.#known.delete(clientId);
    this.#known.set(clientId, serverUuid);
    if (this.#known.size > MAX_KNOWN_IDS) {
      this.#known.delete(this.#known.keys().next().value!);
    }
    this.#unwritten.set(clientId, { uuid: serverUuid, us: Math.round(nowUs) });
    this.#flush();
  }

  /** Writes the mappings not written yet; a failure leaves them for the next try. */
  #flush(): void {
    if (this.#unwritten.size === 0) return;
    try {
      for (const [clientId, { uuid, us }] of this.#unwritten) {
        this.#db.prepare(
          "INSERT OR REPLACE INTO flowtriq_incidents (client_id, server_uuid, created_us) " +
            "VALUES (?, ?, ?)",
        ).run(clientId, uuid, us);
        this.#db.prepare("DELETE FROM flowtriq_incidents WHERE created_us < ?")
          .run(Math.round(us - 90 * 86400e6));
        this.#unwritten.delete(clientId);
      }
    } catch {
      // Locked or full: the mappings stay in memory and are written at the next use.
    }
  }
}

/** The delivery function of the "flowtriq" channels (both lanes). */
export function flowtriqDeliver(options: FlowtriqDeliveryOptions): Deliver {
  const { api } = options;
  const ids = new IncidentIds(options.db);
  return async (item: OutboxItem, signal: AbortSignal): Promise<DeliveryResult> => {
    const entry = item.body as FlowtriqEntryBody;
    switch (entry?.op) {
      case "post":
        return toDelivery(await api.post(entry.path, entry.body, signal, item.key), options);
      case "incident": {
        if (entry.event === "open") {
          const r = await api.post("/agent/incidents", entry.body, signal, item.key);
          if (r.ok) {
            const uuid = r.body.uuid;
            if (typeof uuid === "string" && /^[A-Za-z0-9_.:-]{1,128}$/.test(uuid)) {
              ids.set(entry.id, uuid, Date.now() * 1000);
            } else {
              options.onNote?.(
                `incident ${entry.id} created; the answer names no usable uuid, the agent's id is used`,
              );
            }
            if (r.body.pending_commands !== undefined) {
              options.onCommands?.(r.body.pending_commands);
            }
          }
          return toDelivery(r, options);
        }
        const uuid = encodeURIComponent(ids.resolve(entry.id));
        const path = entry.event === "update"
          ? `/agent/incidents/${uuid}`
          : `/agent/incidents/${uuid}/resolve`;
        return toDelivery(await api.post(path, entry.body, signal, item.key), options);
      }
      case "pcap": {
        const until = Date.now() + PCAP_WAIT_MS;
        while (options.pcapWriting?.(entry.id) && Date.now() < until && !signal.aborted) {
          await new Promise((r) => setTimeout(r, 200));
        }
        if (signal.aborted) return { ok: false, error: "stopped" };
        const r = await api.uploadPcap(ids.resolve(entry.id), entry.path, entry.uploadId, signal);
        return toDelivery(r, options);
      }
      default:
        return { ok: false, permanent: true, error: `unknown flowtriq entry ${item.key}` };
    }
  };
}

function toDelivery(r: ApiResult, options: FlowtriqDeliveryOptions): DeliveryResult {
  if (r.ok) {
    if (r.note !== undefined) options.onNote?.(r.note);
    return { ok: true, response: r.body };
  }
  return {
    ok: false,
    error: r.error,
    permanent: r.permanent,
    ...(r.retryAfterS === undefined ? {} : { retryAfterS: r.retryAfterS }),
  };
}
