/**
 * GRE tunnel hosts (`gre_mode`): at start the kernel's GRE tunnels are listed; with tunnels
 * (`auto`) or always (`enabled`) the pipeline counts the packet inside GRE instead of the
 * tunnel packet; with tunnels and an account, `POST /agent/gre-tunnels` tells the control
 * plane once, and the addresses its answer lists in `whitelisted` join the mitigation
 * allowlist. A `gre_mode` the server pushes later switches the stripping at once.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Config } from "../core/config/mod.ts";
import { canonicalCidr } from "../core/packet/mod.ts";
import { type GreTunnel, listGreTunnels } from "./capture/mod.ts";
import { FlowtriqApi } from "./report/mod.ts";

/** Attempts of the one `POST /agent/gre-tunnels`, and the wait between them (ms). */
const ATTEMPTS = 3;
const RETRY_MS = 5000;
/** Most whitelisted addresses taken from the answer. */
const MAX_WHITELISTED = 1024;

/** What {@linkcode GreTunnels} needs. */
export interface GreTunnelsOptions {
  /** The local config (gre_mode, the account). */
  config: Config;
  /** Where the tunnels, the stripping and the answer are told. */
  log: Logger;
  /** The agent's version (User-Agent). */
  version: string;
  /** The pipeline whose `stripGre` is switched. */
  pipeline: { stripGre: boolean };
  /** Adds an address to the mitigation allowlist (false when invalid). */
  allow: (cidr: string, why: string) => boolean;
}

/** The GRE part of a running agent. */
export class GreTunnels {
  /** The tunnels found at start. */
  readonly tunnels: GreTunnel[];
  readonly #o: GreTunnelsOptions;
  #done: Promise<void> = Promise.resolve();
  readonly #abort = new AbortController();

  private constructor(o: GreTunnelsOptions, tunnels: GreTunnel[]) {
    this.#o = o;
    this.tunnels = tunnels;
  }

  /**
   * Lists the tunnels (unless `gre_mode` is `disabled`), sets the stripping, and with tunnels
   * and an account starts the one report (in the background: capture never waits on it).
   */
  static async start(o: GreTunnelsOptions): Promise<GreTunnels> {
    let tunnels: GreTunnel[] = [];
    if (o.config.gre_mode !== "disabled") {
      const found = await listGreTunnels();
      if (found.error !== null) {
        o.log.info("GRE tunnels not listed: {error}", { error: found.error });
      }
      tunnels = found.tunnels;
    }
    const gre = new GreTunnels(o, tunnels);
    gre.mode(o.config.gre_mode);
    if (tunnels.length > 0 && o.config.api_key !== "" && o.config.node_uuid !== "") {
      gre.#done = gre.#report();
    }
    return gre;
  }

  /** Whether GRE is stripped now (the heartbeat's `gre_dedup_enabled`). */
  get active(): boolean {
    return this.#o.pipeline.stripGre;
  }

  /** Applies a `gre_mode` (the local one, or the server's): stripping on or off, said once. */
  mode(mode: Config["gre_mode"]): void {
    const strip = mode === "enabled" || (mode === "auto" && this.tunnels.length > 0);
    const was = this.#o.pipeline.stripGre;
    this.#o.pipeline.stripGre = strip;
    if (strip === was) return;
    const names = this.tunnels.map((t) => `${t.name} (${t.type})`).join(", ") || "none listed";
    this.#o.log.info("gre_mode {mode}: packets inside GRE are {what}; GRE tunnels: {names}", {
      mode,
      what: strip ? "counted instead of the tunnel packets" : "no longer unwrapped",
      names,
    });
  }

  /** Stops a report still retrying (at the agent's stop). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }

  async #report(): Promise<void> {
    const c = this.#o.config;
    const log = this.#o.log;
    const api = new FlowtriqApi({
      apiBase: c.api_base,
      apiKey: c.api_key,
      nodeUuid: c.node_uuid,
      version: this.#o.version,
      timeoutMs: c.api_timeout_seconds * 1000,
      onWarn: (message) => log.warn("{message}", { message }),
    });
    const body = { tunnels: this.tunnels, gre_dedup_active: this.active };
    const signal = this.#abort.signal;
    for (let attempt = 1; attempt <= ATTEMPTS && !signal.aborted; attempt++) {
      const r = await api.post("/agent/gre-tunnels", body, signal);
      if (r.ok) return this.#whitelist(r.body.whitelisted);
      if (r.permanent || attempt === ATTEMPTS) {
        log.warn("POST /agent/gre-tunnels failed: {error}", { error: r.error });
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, RETRY_MS);
        signal.addEventListener("abort", done, { once: true });
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  /** The answer's `whitelisted` addresses into the mitigation allowlist (others said once). */
  #whitelist(list: unknown): void {
    if (list === undefined || list === null) return;
    const log = this.#o.log;
    if (!Array.isArray(list)) {
      log.warn("gre-tunnels answer: whitelisted is not a list, ignored");
      return;
    }
    const added: string[] = [];
    let refused = 0;
    for (const ip of list.slice(0, MAX_WHITELISTED)) {
      const cidr = typeof ip === "string" ? canonicalCidr(ip) : null;
      if (cidr !== null && this.#o.allow(cidr, "whitelisted by the server for GRE tunnels")) {
        added.push(cidr);
      } else refused++;
    }
    refused += Math.max(0, list.length - MAX_WHITELISTED);
    log.info("gre-tunnels: {n} whitelisted addresses added to the mitigation allowlist{more}", {
      n: added.length,
      more: (added.length > 0 ? ` (${added.slice(0, 10).join(", ")})` : "") +
        (refused > 0 ? `; ${refused} entries were not addresses, ignored` : ""),
    });
  }
}
