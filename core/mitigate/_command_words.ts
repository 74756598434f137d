// The words of server commands (addresses, protocols, ports, rates) and the refusal they raise
// when they are not what the grammar accepts. Used by the command parser's modules only.
import { canonicalCidr, PROTOCOL_NUMBERS } from "../packet/mod.ts";
import type { RuleLimit, ValueRange } from "./server_rule.ts";

/** A refused command (its message is the reason acknowledged to the server). */
export class Refusal extends Error {}

/** Refuses the command with `reason`. */
export function refuse(reason: string): never {
  throw new Refusal(reason);
}

/** A canonical address or network, or a refusal naming `what`. */
export function address(text: string, what: string): string {
  const c = canonicalCidr(text);
  if (c === null) refuse(`invalid ${what} address ${text.slice(0, 60)}`);
  return c;
}

/** A protocol name or number (1-255). */
export function protocol(text: string): number {
  const name = text.toLowerCase();
  if (name in PROTOCOL_NUMBERS) return PROTOCOL_NUMBERS[name];
  if (name === "ipv6-icmp") return PROTOCOL_NUMBERS.icmpv6;
  if (/^[0-9]{1,3}$/.test(name) && Number(name) >= 1 && Number(name) <= 255) return Number(name);
  refuse(`unsupported protocol ${text.slice(0, 20)}`);
}

/** A port 1-65535. */
export function port(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    refuse(`invalid port ${text.slice(0, 20)}`);
  }
  return Number(text);
}

/** `N` or `A:B` (iptables) / `A-B` (nft) within `min`-`max`. */
export function range(text: string, what: string, min: number, max: number): ValueRange {
  const m = /^([0-9]{1,5})(?:[:-]([0-9]{1,5}))?$/.exec(text);
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || from < min || to > max || from > to) {
    refuse(`invalid ${what} ${text.slice(0, 20)} (${min}-${max}, or A:B)`);
  }
  return { from, to };
}

/** A port or port range. */
export function portRange(text: string): ValueRange {
  if (/^[0-9]{1,5}$/.test(text)) {
    const p = port(text);
    return { from: p, to: p };
  }
  return range(text, "port range", 1, 65535);
}

/** A non-negative integer. */
export function count(text: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) refuse(`invalid number ${text.slice(0, 20)}`);
  return Number(text);
}

/** `N/s`, `N/sec`, `N/second`, `N/m[in[ute]]`, `N/h[our]` (N >= 1). */
export function rate(text: string): Pick<RuleLimit, "rate" | "unit"> {
  const m = /^([0-9]{1,9})\/(s|sec|second|m|min|minute|h|hour)$/.exec(text);
  if (!m) refuse(`rate ${text.slice(0, 20)} must be N/sec, N/minute or N/hour`);
  const n = Number(m[1]);
  if (n < 1) refuse("a rate of 0 would drop everything");
  const unit = m[2].startsWith("s") ? "second" : m[2].startsWith("m") ? "minute" : "hour";
  return { rate: n, unit };
}

/** A burst 1-1,000,000. */
export function burst(text: string): number {
  const n = count(text);
  if (n < 1 || n > 1_000_000) refuse(`burst must be 1-1000000, got ${n}`);
  return n;
}
