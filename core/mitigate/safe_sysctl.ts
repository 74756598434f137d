/**
 * The kernel settings a control plane may change: a fixed list of per-network-namespace
 * `net.*` keys that harden a host against floods, each with the range of values accepted.
 * Values that would weaken the host (SYN cookies off, reverse-path filter off, answering
 * broadcast pings) are outside the ranges. The agent puts the previous value back when the
 * command is undone, expires, and at stop.
 *
 * @module
 */

import type { ActionBase } from "./action.ts";

/** Set one kernel setting of {@linkcode SAFE_SYSCTLS} to `value`. */
export interface SysctlSet extends ActionBase {
  /** The kind of action. */
  type: "sysctl";
  /** The key, dotted (`net.ipv4.tcp_synack_retries`). */
  key: string;
  /** The value written. */
  value: number;
}

/** Accepted keys and their inclusive value ranges. */
export const SAFE_SYSCTLS: Readonly<Record<string, readonly [number, number]>> = {
  "net.ipv4.tcp_syncookies": [1, 2],
  "net.ipv4.tcp_max_syn_backlog": [128, 1_048_576],
  "net.ipv4.tcp_synack_retries": [1, 5],
  "net.ipv4.tcp_syn_retries": [1, 6],
  "net.ipv4.tcp_rfc1337": [0, 1],
  "net.ipv4.tcp_fin_timeout": [5, 60],
  "net.ipv4.icmp_ratelimit": [1, 10_000],
  "net.ipv4.icmp_echo_ignore_broadcasts": [1, 1],
  "net.ipv4.icmp_echo_ignore_all": [0, 1],
  "net.ipv4.icmp_ignore_bogus_error_responses": [1, 1],
  "net.ipv4.conf.all.rp_filter": [1, 2],
  "net.ipv4.conf.default.rp_filter": [1, 2],
  "net.core.somaxconn": [128, 65_535],
};

/** Why `key=value` may not be set, or null. */
export function sysctlRefusal(key: string, value: number): string | null {
  const range = SAFE_SYSCTLS[key];
  if (range === undefined) {
    return `sysctl key ${key.slice(0, 60)} is not accepted (only ${
      Object.keys(SAFE_SYSCTLS).join(", ")
    })`;
  }
  if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
    return `${key} must be ${range[0] === range[1] ? range[0] : `${range[0]}-${range[1]}`}`;
  }
  return null;
}

/** The file of `key` under `/proc/sys` (`root`). */
export function sysctlPath(key: string, root = "/proc/sys"): string {
  return `${root}/${key.replaceAll(".", "/")}`;
}
