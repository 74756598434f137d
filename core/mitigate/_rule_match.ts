// What one firewall sentence (iptables, nft or an xdp rule spec) says, and the typed actions
// it becomes: one of the agent's fixed-set actions when it fits one (shared with incidents,
// cheapest in the kernel), else a server rule. Used by the command parser's modules only.
import { isV6, type MitigationAction } from "./action.ts";
import { refuse } from "./_command_words.ts";
import type { RejectWith, RuleLimit, ServerRule, ValueRange } from "./server_rule.ts";

/** The matches and verdict of one rule, before it becomes an action. */
export interface Match {
  /** Where the rule acts. */
  hook: ServerRule["hook"];
  /** Address family: fixed by the tool, or null (nft inet, xdp) to follow the addresses. */
  family: "ip" | "ip6" | null;
  /** -I (true) or -A. */
  first: boolean;
  source?: string;
  target?: string;
  protocol?: number;
  sport?: ValueRange;
  dport?: ValueRange;
  syn?: boolean;
  fragments?: boolean;
  ctstate?: string[];
  length?: ValueRange;
  limit?: RuleLimit;
  matchSet?: { name: string; dir: "src" | "dst" };
  verdict: "drop" | "reject";
  rejectWith?: RejectWith;
}

const single = (v: ValueRange | undefined) => v === undefined || v.from === v.to;

/** The actions of `m` (two for a family-less rule without addresses), or a refusal. */
export function matchActions(m: Match, ttl_s: number): MitigationAction[] {
  const ported = m.sport !== undefined || m.dport !== undefined;
  if (ported && m.protocol !== 6 && m.protocol !== 17) refuse("ports need -p tcp or -p udp");
  if (m.syn && m.protocol !== 6) refuse("--syn needs -p tcp");
  if (m.rejectWith === "tcp-reset" && m.protocol !== 6) {
    refuse("--reject-with tcp-reset needs -p tcp");
  }
  if (m.verdict === "reject" && m.hook === "prerouting") {
    refuse("REJECT is only valid in INPUT and FORWARD (the filter table)");
  }
  if (m.ctstate !== undefined && m.hook === "prerouting") {
    refuse("conntrack states are not known yet in raw PREROUTING");
  }
  const addrs = [m.source, m.target].filter((a) => a !== undefined) as string[];
  let family = m.family;
  for (const a of addrs) {
    const f = isV6(a) ? "ip6" : "ip";
    if (family !== null && f !== family) {
      refuse(`${a} does not belong to ${family === "ip6" ? "ip6tables" : "iptables"}`);
    }
    family = f;
  }
  const harmless = m.ctstate !== undefined &&
    m.ctstate.every((s) => s === "invalid" || s === "untracked");
  const narrowed = m.source !== undefined || ported || m.fragments === true ||
    m.limit !== undefined || m.length !== undefined || m.matchSet !== undefined || harmless;
  if (!narrowed) {
    if (m.syn) refuse("dropping every SYN would cut every new connection");
    if (m.ctstate !== undefined) {
      refuse(
        `dropping every packet in state ${
          m.ctstate.join(",")
        } is not accepted (name a source, port or rate)`,
      );
    }
    if (m.protocol === undefined) refuse("would drop all traffic: a source or protocol is needed");
    if (m.protocol === 6 || m.protocol === 17) {
      refuse("dropping every TCP or UDP packet is not accepted (name a port)");
    }
  }
  if (m.fragments && family === "ip6" && fixedAction(m, ttl_s) === null) {
    refuse("-f matches IPv4 fragments only");
  }
  const fixed = fixedAction(m, ttl_s);
  if (fixed !== null) return [fixed];
  const families = family !== null ? [family] : ["ip", "ip6"] as const;
  return families.map((f) => ({
    type: "server_rule",
    hook: m.hook,
    family: f,
    first: m.first,
    source: m.source ?? null,
    target: m.target ?? null,
    protocol: m.protocol === 1 && f === "ip6" ? 58 : m.protocol ?? null,
    sport: m.sport ?? null,
    dport: m.dport ?? null,
    syn: m.syn === true,
    fragment: m.fragments === true,
    ctstate: m.ctstate ?? null,
    length: m.length ?? null,
    limit: m.limit ?? null,
    match_set: m.matchSet ?? null,
    verdict: m.verdict,
    reject_with: m.verdict === "reject" ? m.rejectWith ?? "port-unreachable" : null,
    ttl_s,
  }));
}

/** One of the agent's fixed-set actions when `m` is one (a plain drop or rate limit), else null. */
function fixedAction(m: Match, ttl_s: number): MitigationAction | null {
  if (m.verdict !== "drop" || m.ctstate !== undefined || m.length !== undefined) return null;
  if (m.matchSet !== undefined) return null;
  const l = m.limit;
  // Only an aggregate "over N/second" limit is a fixed rate limit.
  if (
    l !== undefined && (!l.over || l.per !== "all" || l.unit !== "second" || l.burst !== l.rate)
  ) {
    return null;
  }
  if (!single(m.sport) || !single(m.dport)) return null;
  const pps = l?.rate;
  const sport = m.sport?.from ?? null;
  const dport = m.dport?.from ?? null;
  const host = m.target === undefined || !m.target.includes("/");
  const target = m.target ?? null;
  const ported = sport !== null || dport !== null;
  if (m.source !== undefined) {
    if (ported || m.syn || m.fragments || pps !== undefined || m.target !== undefined) return null;
    return { type: "drop_source", source: m.source, protocol: m.protocol ?? null, ttl_s };
  }
  if (!host) return null;
  if (m.fragments) {
    if (ported || m.syn || pps !== undefined || m.protocol !== undefined) return null;
    return { type: "drop_fragments", target, ttl_s };
  }
  if (m.syn) {
    if (pps === undefined || sport !== null) return null;
    return { type: "syn_rate_limit", target, dst_port: dport, pps, ttl_s };
  }
  if (m.protocol === undefined || (sport !== null && dport !== null)) return null;
  return {
    type: pps === undefined ? "drop_traffic" : "rate_limit",
    target,
    protocol: m.protocol,
    src_port: sport,
    dst_port: dport,
    pps: pps ?? 0,
    ttl_s,
  };
}
