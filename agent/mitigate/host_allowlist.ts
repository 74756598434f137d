/**
 * The allowlist of the machine the agent runs on: its own addresses, its default gateways
 * (IPv4 and IPv6), its DNS resolvers, the control plane's API host and the config's CIDRs
 * (loopback is always in).
 *
 * @module
 */

import { Allowlist, parseResolvConf } from "../../core/mitigate/mod.ts";
import { formatAddressWords } from "../../core/packet/mod.ts";
import { interfaceAddresses } from "../capture/mod.ts";

const DNS_TIMEOUT_MS = 3000;

/**
 * Builds the allowlist now; the API host's addresses are resolved in the background and added
 * when known (a failed lookup is reported through `onNote` and leaves the rest in force).
 */
export function hostAllowlist(
  cidrs: readonly string[],
  apiBase: string | null,
  onNote: (note: string) => void = () => {},
): Allowlist {
  const list = new Allowlist(cidrs.map((cidr) => ({ cidr, why: "config allowlist" })));
  for (const addr of interfaceAddresses()) list.add(addr, "own address");
  for (const gw of defaultGateways()) list.add(gw, "default gateway");
  for (const r of dnsResolvers()) list.add(r, "DNS resolver");
  let host = "";
  try {
    if (apiBase !== null) host = new URL(apiBase).hostname.replace(/^\[|\]$/g, "");
  } catch { /* the config validated it */ }
  if (host !== "" && !list.add(host, "API host")) {
    for (const type of ["A", "AAAA"] as const) {
      Deno.resolveDns(host, type, { signal: AbortSignal.timeout(DNS_TIMEOUT_MS) })
        .then((addrs) => {
          for (const a of addrs) list.add(a, "API host");
        })
        .catch((err) => onNote(`cannot resolve the API host ${host} (${type}): ${err.message}`));
    }
  }
  return list;
}

/** Next hops of the default routes, from /proc/net/route and /proc/net/ipv6_route. */
export function defaultGateways(): string[] {
  const out: string[] = [];
  try {
    for (const line of Deno.readTextFileSync("/proc/net/route").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[1] !== "00000000" || f[7] !== "00000000") continue;
      const le = parseInt(f[2], 16) >>> 0;
      if (le === 0) continue;
      const be = ((le & 0xff) << 24 | (le >>> 8 & 0xff) << 16 | (le >>> 16 & 0xff) << 8 |
        le >>> 24) >>> 0;
      out.push(formatAddressWords(0, 0, 0xffff, be));
    }
  } catch { /* no IPv4 routing table */ }
  try {
    for (const line of Deno.readTextFileSync("/proc/net/ipv6_route").split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || !/^0{32}$/.test(f[0]) || f[1] !== "00" || /^0{32}$/.test(f[4])) continue;
      const w = [0, 8, 16, 24].map((i) => parseInt(f[4].slice(i, i + 8), 16) >>> 0);
      out.push(formatAddressWords(w[0], w[1], w[2], w[3]));
    }
  } catch { /* no IPv6 */ }
  return out;
}

/**
 * The DNS resolvers in use: `nameserver` lines of /etc/resolv.conf, plus systemd-resolved's
 * upstream servers when the stub (127.0.0.53) is in front of them.
 */
export function dnsResolvers(): string[] {
  const out = new Set<string>();
  for (const path of ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"]) {
    try {
      for (const r of parseResolvConf(Deno.readTextFileSync(path))) out.add(r);
    } catch { /* no such file */ }
  }
  return [...out];
}
