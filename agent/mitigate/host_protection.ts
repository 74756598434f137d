/**
 * The flows of this machine that no mitigation may cut ({@linkcode ProtectedFlows}): the
 * control plane's addresses and port (from `api_base`), the SSH ports (sshd_config and the
 * sockets sshd listens on; 22 when neither says), the metrics port, the DNS resolvers and the
 * default gateways. Read again at most once a minute, when the mitigator asks; the API host's
 * addresses accumulate (a CDN may answer from a new one without the old one going away).
 *
 * @module
 */

import { listeningPorts, parseSshdPorts, type ProtectedFlows } from "../../core/mitigate/mod.ts";
import { canonicalCidr } from "../../core/packet/mod.ts";
import { defaultGateways, dnsResolvers } from "./host_allowlist.ts";

const DNS_TIMEOUT_MS = 3000;
const REFRESH_MS = 60_000;
/** Most API host addresses kept. */
const MAX_API_ADDRESSES = 16;

/** The protected flows of the host, kept fresh. */
export class HostProtection {
  readonly #host: string;
  readonly #port: number;
  readonly #api = new Set<string>();
  #flows: ProtectedFlows | null = null;
  #readAt = -Infinity;
  #noted = false;

  /**
   * `apiBase` is the control plane's URL (null without an account); `metricsPort` the metrics
   * listener's (0 = off); `onNote` hears a failed lookup once.
   */
  constructor(
    apiBase: string | null,
    readonly metricsPort: number,
    readonly onNote: (note: string) => void = () => {},
  ) {
    let host = "";
    let port = 0;
    try {
      if (apiBase !== null) {
        const url = new URL(apiBase);
        host = url.hostname.replace(/^\[|\]$/g, "");
        port = Number(url.port) || (url.protocol === "http:" ? 80 : 443);
      }
    } catch { /* the config validated it */ }
    this.#host = host;
    this.#port = port;
  }

  /** The flows now (read again when older than a minute). */
  async flows(now = Date.now()): Promise<ProtectedFlows> {
    if (this.#flows === null || now - this.#readAt >= REFRESH_MS) {
      this.#readAt = now;
      await this.#resolve();
      this.#flows = {
        controlPlane: [...this.#api].map((address) => ({ address, port: this.#port })),
        sshPorts: sshPorts(),
        metricsPort: this.metricsPort,
        resolvers: dnsResolvers(),
        gateways: defaultGateways(),
      };
    }
    return this.#flows;
  }

  async #resolve(): Promise<void> {
    if (this.#host === "") return;
    const literal = canonicalCidr(this.#host);
    if (literal !== null) {
      this.#api.add(literal);
      return;
    }
    // Both families at once: a dead resolver costs one timeout, not two.
    await Promise.all((["A", "AAAA"] as const).map(async (type) => {
      try {
        const addrs = await Deno.resolveDns(this.#host, type, {
          signal: AbortSignal.timeout(DNS_TIMEOUT_MS),
        });
        for (const a of addrs) {
          const c = canonicalCidr(a);
          if (c !== null && this.#api.size < MAX_API_ADDRESSES) this.#api.add(c);
        }
      } catch (err) {
        if (type === "A" && !this.#noted) {
          this.#noted = true;
          this.onNote(
            `cannot resolve the API host ${this.#host} (${(err as Error).message}): its ` +
              "traffic is exempted from mitigation once it resolves",
          );
        }
      }
    }));
  }
}

/** SSH ports: sshd_config (and its drop-ins) plus what sshd listens on; 22 when none. */
export function sshPorts(): number[] {
  const ports = new Set<number>();
  const files = ["/etc/ssh/sshd_config"];
  try {
    for (const e of Deno.readDirSync("/etc/ssh/sshd_config.d")) {
      if (e.isFile && e.name.endsWith(".conf")) files.push(`/etc/ssh/sshd_config.d/${e.name}`);
    }
  } catch { /* no drop-ins */ }
  for (const f of files) {
    try {
      for (const p of parseSshdPorts(Deno.readTextFileSync(f))) ports.add(p);
    } catch { /* unreadable */ }
  }
  for (const p of sshdListening()) ports.add(p);
  return ports.size === 0 ? [22] : [...ports].sort((a, b) => a - b);
}

/** Ports the running sshd processes listen on (their sockets' inodes in /proc/net/tcp{,6}). */
function sshdListening(): number[] {
  const inodes = new Set<string>();
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^[0-9]+$/.test(e.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${e.name}/comm`).trim() !== "sshd") continue;
        for (const fd of Deno.readDirSync(`/proc/${e.name}/fd`)) {
          const m = /^socket:\[([0-9]+)\]$/.exec(
            Deno.readLinkSync(`/proc/${e.name}/fd/${fd.name}`),
          );
          if (m) inodes.add(m[1]);
        }
      } catch { /* gone, or not ours to read */ }
    }
  } catch { /* no /proc */ }
  if (inodes.size === 0) return [];
  const out = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const p of listeningPorts(Deno.readTextFileSync(f), inodes)) out.add(p);
    } catch { /* no IPv6 */ }
  }
  return [...out];
}
