/**
 * Traffic the agent and the host cannot lose, whatever a mitigation action says: the control
 * plane (its address and TCP port, both directions), the host's management access (SSH ports),
 * everything on loopback (the metrics listener, a local resolver), replies from the DNS
 * resolvers in use, the default gateways and IPv6 neighbour discovery.
 *
 * The firewall backends put these flows first in the agent's own chain as exemptions (nft
 * `accept` in the agent's table, iptables `RETURN` in its chain): a packet they match skips
 * the agent's drops and limits and goes on to the operator's rules as if the agent were not
 * there. So a broad action (UDP from source port 123 to every address) still works and is
 * narrowed to spare these flows; an action whose whole point is a protected flow (a drop or
 * limit on the SSH or metrics port) is refused by {@linkcode protectedRefusal}.
 *
 * Also here: the pure readers of the files the flows come from (sshd_config, resolv.conf,
 * /proc/net/tcp).
 *
 * @module
 */

import { canonicalCidr } from "../packet/mod.ts";
import { isV6, type MitigationAction } from "./action.ts";

/** The flows no action may cut. */
export interface ProtectedFlows {
  /** Control plane endpoints (address, TCP port): spared in both directions. */
  controlPlane: { address: string; port: number }[];
  /** TCP ports of the host's SSH server (management access), spared towards every address. */
  sshPorts: number[];
  /** TCP port of the metrics listener on 127.0.0.1 (0 = off); loopback is spared whole. */
  metricsPort: number;
  /** DNS resolvers in use: their replies (UDP and TCP from port 53) are spared. */
  resolvers: string[];
  /** Default gateways: everything they send is spared. */
  gateways: string[];
}

/** No protected flows but loopback and neighbour discovery (tests, `mitigation approve`). */
export const NO_PROTECTED_FLOWS: ProtectedFlows = {
  controlPlane: [],
  sshPorts: [],
  metricsPort: 0,
  resolvers: [],
  gateways: [],
};

/** Why `a` may not be taken at all (its match is a protected flow), or null. */
export function protectedRefusal(a: MitigationAction, p: ProtectedFlows): string | null {
  let port: number | null = null;
  if ((a.type === "drop_traffic" || a.type === "rate_limit") && a.protocol === 6) {
    port = a.dst_port;
  } else if (a.type === "syn_rate_limit") port = a.dst_port;
  else if (a.type === "server_rule" && a.protocol === 6 && a.dport?.from === a.dport?.to) {
    port = a.dport?.from ?? null; // a rule for one TCP port (a range is narrowed by `keep`)
  }
  if (port === null) return null;
  if (p.sshPorts.includes(port)) {
    return `TCP port ${port} is the host's SSH (management) port: never dropped or limited`;
  }
  if (p.metricsPort !== 0 && port === p.metricsPort) {
    return `TCP port ${port} is the agent's metrics listener: never dropped or limited`;
  }
  return null;
}

/** One line naming the protected flows, for the log. */
export function describeProtection(p: ProtectedFlows): string {
  const ep = (a: string, port: number) => (isV6(a) ? `[${a}]:${port}` : `${a}:${port}`);
  return [
    `control plane ${
      p.controlPlane.length === 0
        ? "none"
        : p.controlPlane.map((c) => ep(c.address, c.port)).join(", ")
    }`,
    `SSH ports ${p.sshPorts.join(", ") || "none"}`,
    `loopback (metrics port ${p.metricsPort || "off"})`,
    `resolvers ${p.resolvers.join(", ") || "none"}`,
    `gateways ${p.gateways.join(", ") || "none"}`,
    "IPv6 neighbour discovery",
  ].join("; ");
}

/** A stable text of the flows (to tell whether the firewall needs them again). */
export function protectionKey(p: ProtectedFlows): string {
  return JSON.stringify([
    p.controlPlane.map((c) => `${c.address} ${c.port}`).sort(),
    [...p.sshPorts].sort((a, b) => a - b),
    p.metricsPort,
    [...p.resolvers].sort(),
    [...p.gateways].sort(),
  ]);
}

/** The nft rules (bodies, for the agent's `keep` chain) that accept the protected flows. */
export function nftKeepRules(p: ProtectedFlows): string[] {
  const ip = (a: string) => (isV6(a) ? "ip6" : "ip");
  const rules = [`iif "lo" accept`];
  for (const { address, port } of valid(p.controlPlane)) {
    rules.push(
      `${ip(address)} saddr ${address} tcp sport ${port} accept`,
      `${ip(address)} daddr ${address} tcp dport ${port} accept`,
    );
  }
  const ssh = ports(p.sshPorts);
  if (ssh.length > 0) rules.push(`tcp dport { ${ssh.join(", ")} } accept`);
  for (const r of addresses(p.resolvers)) {
    rules.push(`${ip(r)} saddr ${r} meta l4proto { tcp, udp } th sport 53 accept`);
  }
  for (const g of addresses(p.gateways)) rules.push(`${ip(g)} saddr ${g} accept`);
  rules.push(
    "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
  );
  return rules;
}

/** The iptables/ip6tables matches of the protected flows (the backend adds a tag and RETURN). */
export function iptablesKeepRules(
  p: ProtectedFlows,
): { tool: "iptables" | "ip6tables"; rule: string[] }[] {
  const tool = (a: string) => (isV6(a) ? "ip6tables" : "iptables") as "iptables" | "ip6tables";
  const out: { tool: "iptables" | "ip6tables"; rule: string[] }[] = [];
  const both = (rule: string[]) => {
    out.push({ tool: "iptables", rule }, { tool: "ip6tables", rule });
  };
  both(["-i", "lo"]);
  for (const { address, port } of valid(p.controlPlane)) {
    out.push(
      { tool: tool(address), rule: ["-s", address, "-p", "tcp", "--sport", String(port)] },
      { tool: tool(address), rule: ["-d", address, "-p", "tcp", "--dport", String(port)] },
    );
  }
  for (const port of ports(p.sshPorts)) both(["-p", "tcp", "--dport", String(port)]);
  for (const r of addresses(p.resolvers)) {
    for (const proto of ["udp", "tcp"]) {
      out.push({ tool: tool(r), rule: ["-s", r, "-p", proto, "--sport", "53"] });
    }
  }
  for (const g of addresses(p.gateways)) out.push({ tool: tool(g), rule: ["-s", g] });
  for (
    const type of ["router-advertisement", "neighbour-solicitation", "neighbour-advertisement"]
  ) {
    out.push({ tool: "ip6tables", rule: ["-p", "ipv6-icmp", "--icmpv6-type", type] });
  }
  return out;
}

/** TCP ports in `Port` lines of an sshd_config (none: the caller assumes 22). */
export function parseSshdPorts(text: string): number[] {
  const out = new Set<number>();
  for (const line of text.split("\n")) {
    // Match blocks change per-connection settings only; Port is global, before any Match.
    if (/^\s*Match\s/i.test(line)) break;
    const m = /^\s*Port\s+([0-9]{1,5})\s*(?:#.*)?$/i.exec(line);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

/** Addresses in `nameserver` lines of a resolv.conf (canonical, at most 8). */
export function parseResolvConf(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+([0-9A-Fa-f:.]+)(?:%\S+)?\s*$/.exec(line);
    const a = m ? canonicalCidr(m[1]) : null;
    if (a !== null && !a.includes("/")) out.add(a);
    if (out.size >= 8) break;
  }
  return [...out];
}

/** Local ports of LISTEN sockets in /proc/net/tcp{,6} text whose inode is in `inodes`. */
export function listeningPorts(procNetTcp: string, inodes: ReadonlySet<string>): number[] {
  const out = new Set<number>();
  for (const line of procNetTcp.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9])) continue;
    const port = parseInt(f[1].split(":")[1] ?? "", 16);
    if (port >= 1 && port <= 65535) out.add(port);
  }
  return [...out].sort((a, b) => a - b);
}

function valid(eps: { address: string; port: number }[]): { address: string; port: number }[] {
  return eps.filter((e) =>
    canonicalCidr(e.address) === e.address && !e.address.includes("/") &&
    Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535
  );
}

function addresses(list: string[]): string[] {
  return [...new Set(list.filter((a) => canonicalCidr(a) === a && !a.includes("/")))];
}

function ports(list: number[]): number[] {
  return [...new Set(list.filter((p) => Number.isInteger(p) && p >= 1 && p <= 65535))];
}
