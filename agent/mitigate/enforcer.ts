/**
 * Carries out one typed action and its undo: firewall actions through the configured backend,
 * SYN cookies through `/proc/sys` (the previous value is kept and restored), Cloudflare access
 * rules through its HTTP API (the rule id is kept for the undo).
 *
 * @module
 */

import { isV6, type MitigationAction, sysctlPath } from "../../core/mitigate/mod.ts";
import type { FirewallBackend } from "./firewall.ts";

/** Where the SYN cookies switch lives (per network namespace). */
const SYNCOOKIES_PATH = "/proc/sys/net/ipv4/tcp_syncookies";

const CLOUDFLARE_TIMEOUT_MS = 10_000;

/** A Cloudflare zone's IP access rules. */
export class CloudflareClient {
  readonly #base: string;

  /** `apiBase` is `https://api.cloudflare.com/client/v4` (a local stand-in in tests). */
  constructor(apiBase: string, readonly token: string, readonly zoneId: string) {
    this.#base = apiBase.replace(/\/+$/, "");
  }

  /** Creates a rule for `source`; returns its id. */
  async create(source: string, mode: "block" | "challenge", notes: string): Promise<string> {
    const target = source.includes("/") ? "ip_range" : isV6(source) ? "ip6" : "ip";
    const body = await this.#call("POST", "", {
      mode,
      configuration: { target, value: source },
      notes,
    });
    const id = (body.result as { id?: unknown } | undefined)?.id;
    if (typeof id !== "string" || !/^[A-Za-z0-9]{1,64}$/.test(id)) {
      throw new Error("Cloudflare answered without a valid rule id");
    }
    return id;
  }

  /** Deletes the rule `id` (already gone counts as done). */
  async delete(id: string): Promise<void> {
    if (!/^[A-Za-z0-9]{1,64}$/.test(id)) throw new Error(`invalid Cloudflare rule id ${id}`);
    await this.#call("DELETE", `/${id}`, undefined, true);
  }

  async #call(
    method: string,
    path: string,
    payload: unknown,
    notFoundOk = false,
  ): Promise<Record<string, unknown>> {
    const url = `${this.#base}/zones/${
      encodeURIComponent(this.zoneId)
    }/firewall/access_rules/rules${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: payload === undefined ? undefined : JSON.stringify(payload),
        signal: AbortSignal.timeout(CLOUDFLARE_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Error(`Cloudflare ${method}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (notFoundOk && res.status === 404) return {};
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null) body = parsed;
    } catch { /* not JSON: reported below */ }
    if (!res.ok || body.success !== true) {
      const errors = Array.isArray(body.errors) ? body.errors : [];
      const msg = errors.map((e) => (e as { message?: unknown })?.message).filter((m) =>
        typeof m === "string"
      ).join("; ");
      throw new Error(
        `Cloudflare ${method} answered ${res.status}: ${(msg || text).slice(0, 200)}`,
      );
    }
    return body;
  }
}

/** Applies and undoes single actions. */
export class Enforcer {
  /** The sysctl's value before this process first changed it (null: never changed). */
  #syncookiesBefore: string | null = null;

  /** Each kernel setting's value before this process first changed it. */
  readonly #sysctlBefore = new Map<string, { before: string; wrote: string }>();

  /** `syncookies` is the sysctl file, `procSys` the root of the others (tests may point elsewhere). */
  constructor(
    readonly backend: FirewallBackend,
    readonly cloudflare: CloudflareClient | null,
    readonly syncookies: string = SYNCOOKIES_PATH,
    readonly procSys: string = "/proc/sys",
  ) {}

  /** Carries out `action`; returns what its undo needs (rule id, previous value) or null. */
  async apply(action: MitigationAction, incident: string): Promise<string | null> {
    if (action.type === "syn_cookies") {
      const previous = (await Deno.readTextFile(this.syncookies)).trim();
      if (!/^[0-9]$/.test(previous)) throw new Error(`unexpected tcp_syncookies value ${previous}`);
      // Remembered before the write: even an action whose record fails later is put back.
      if (previous !== "1") this.#syncookiesBefore ??= previous;
      await Deno.writeTextFile(this.syncookies, "1\n");
      return previous;
    }
    if (action.type === "sysctl") {
      const path = sysctlPath(action.key, this.procSys);
      const previous = (await Deno.readTextFile(path)).trim();
      if (!/^[0-9]{1,9}$/.test(previous)) {
        throw new Error(`unexpected ${action.key} value ${previous}`);
      }
      const wrote = String(action.value);
      if (!this.#sysctlBefore.has(action.key)) {
        this.#sysctlBefore.set(action.key, { before: previous, wrote });
      }
      await Deno.writeTextFile(path, `${wrote}\n`);
      return previous;
    }
    if (action.type === "cloudflare_rule") {
      if (this.cloudflare === null) throw new Error("Cloudflare is not configured");
      return await this.cloudflare.create(action.source, action.mode, `ftagent ${incident}`);
    }
    await this.backend.apply([action]);
    return null;
  }

  /**
   * Puts back what this process changed outside the firewall (the SYN cookies sysctl, when it
   * still holds the agent's value); returns a note of what was restored, or null.
   */
  async restore(): Promise<string | null> {
    const notes: string[] = [];
    for (const [key, { before, wrote }] of this.#sysctlBefore) {
      const path = sysctlPath(key, this.procSys);
      if ((await Deno.readTextFile(path)).trim() !== wrote) continue; // changed since
      await Deno.writeTextFile(path, `${before}\n`);
      notes.push(`${key} restored to ${before}`);
    }
    this.#sysctlBefore.clear();
    const cookies = await this.#restoreSyncookies();
    if (cookies !== null) notes.push(cookies);
    return notes.length > 0 ? notes.join("; ") : null;
  }

  async #restoreSyncookies(): Promise<string | null> {
    const before = this.#syncookiesBefore;
    if (before === null) return null;
    this.#syncookiesBefore = null;
    const now = (await Deno.readTextFile(this.syncookies)).trim();
    if (now !== "1") return null; // put back already, or changed by someone else since
    await Deno.writeTextFile(this.syncookies, `${before}\n`);
    return `net.ipv4.tcp_syncookies restored to ${before}`;
  }

  /** Undoes `action` given what {@linkcode apply} returned. */
  async undo(action: MitigationAction, detail: string | null): Promise<void> {
    if (action.type === "syn_cookies") {
      const previous = detail !== null && /^[0-9]$/.test(detail)
        ? detail
        : this.#syncookiesBefore ?? "1";
      await Deno.writeTextFile(this.syncookies, `${previous}\n`);
      if (previous === this.#syncookiesBefore) this.#syncookiesBefore = null;
      return;
    }
    if (action.type === "sysctl") {
      if (detail === null || !/^[0-9]{1,9}$/.test(detail)) return;
      await Deno.writeTextFile(sysctlPath(action.key, this.procSys), `${detail}\n`);
      if (this.#sysctlBefore.get(action.key)?.before === detail) {
        this.#sysctlBefore.delete(action.key);
      }
      return;
    }
    if (action.type === "cloudflare_rule") {
      if (detail === null) return;
      if (this.cloudflare === null) throw new Error("Cloudflare is not configured");
      await this.cloudflare.delete(detail);
      return;
    }
    await this.backend.undo([action]);
  }
}
