/**
 * The GRE tunnels the kernel has (`ip -d -j link show`, run as an argument vector): their
 * names, kinds and endpoints, as `POST /agent/gre-tunnels` names them.
 *
 * @module
 */

/** One GRE tunnel interface. */
export interface GreTunnel {
  /** Interface name (`gre1`). */
  name: string;
  /** Link kind: `gre`, `gretap`, `ip6gre`, `ip6gretap`, `erspan` or `ip6erspan`. */
  type: string;
  /** The far endpoint, or null when the tunnel has none (`any`). */
  remote_ip: string | null;
  /** The local endpoint, or null when the tunnel has none (`any`). */
  local_ip: string | null;
}

/** Link kinds that are GRE. */
const GRE_KINDS = new Set(["gre", "gretap", "ip6gre", "ip6gretap", "erspan", "ip6erspan"]);
/** Longest wait for `ip` (ms). */
const IP_TIMEOUT_MS = 5000;
/** Most tunnels reported (a router may have thousands; the body stays bounded). */
const MAX_TUNNELS = 1024;

/**
 * The GRE tunnels in the JSON `ip -d -j link show` prints. The kernel's fallback devices
 * (`gre0`, `gretap0`, ... with neither endpoint) are not tunnels and are left out; so is
 * anything that is not a well-formed link entry.
 */
export function parseGreLinks(json: string): GreTunnel[] {
  let links: unknown;
  try {
    links = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const out: GreTunnel[] = [];
  for (const link of links) {
    if (out.length >= MAX_TUNNELS) break;
    const l = link as { ifname?: unknown; linkinfo?: { info_kind?: unknown; info_data?: unknown } };
    const kind = l?.linkinfo?.info_kind;
    if (typeof l?.ifname !== "string" || typeof kind !== "string" || !GRE_KINDS.has(kind)) {
      continue;
    }
    const data = (l.linkinfo!.info_data ?? {}) as { remote?: unknown; local?: unknown };
    const endpoint = (v: unknown) =>
      typeof v === "string" && v !== "any" && v !== "" && v.length <= 64 ? v : null;
    const remote = endpoint(data.remote), local = endpoint(data.local);
    if (remote === null && local === null) continue; // gre0 and its kin
    out.push({ name: l.ifname.slice(0, 64), type: kind, remote_ip: remote, local_ip: local });
  }
  return out;
}

/**
 * The kernel's GRE tunnels (`ip -d -j link show`); with `error` set (and no tunnel) when `ip`
 * is missing, fails or takes more than 5 s.
 */
export async function listGreTunnels(): Promise<{ tunnels: GreTunnel[]; error: string | null }> {
  try {
    const out = await new Deno.Command("ip", {
      args: ["-d", "-j", "link", "show"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(IP_TIMEOUT_MS),
    }).output();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      return { tunnels: [], error: `ip -d -j link show failed: ${why || `exit ${out.code}`}` };
    }
    return { tunnels: parseGreLinks(new TextDecoder().decode(out.stdout)), error: null };
  } catch (err) {
    return { tunnels: [], error: `ip -d -j link show: ${(err as Error).message}` };
  }
}
