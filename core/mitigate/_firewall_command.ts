// The iptables/ip6tables and nft sentences of server commands, read into a Match (see
// _rule_match.ts). Used by the command parser only.
import { isV6 } from "./action.ts";
import { address, burst, portRange, protocol, range, rate, refuse } from "./_command_words.ts";
import type { Match } from "./_rule_match.ts";
import { CT_STATES, type RejectWith, type RuleLimit } from "./server_rule.ts";
import { SERVER_SET_NAME } from "./server_set.ts";

/** A read rule: add it, or undo the same rule added earlier. */
export interface ReadRule {
  /** True for `-D` / `nft delete rule`. */
  undo: boolean;
  /** What it says. */
  match: Match;
}

const REJECT_WITH: Record<string, RejectWith> = {
  "tcp-reset": "tcp-reset",
  "icmp-port-unreachable": "port-unreachable",
  "icmp6-port-unreachable": "port-unreachable",
  "port-unreach": "port-unreachable",
  "icmp-host-unreachable": "host-unreachable",
  "icmp6-addr-unreachable": "host-unreachable",
  "icmp-net-unreachable": "no-route",
  "icmp6-no-route": "no-route",
  "icmp-admin-prohibited": "admin-prohibited",
  "icmp-host-prohibited": "admin-prohibited",
  "icmp-net-prohibited": "admin-prohibited",
  "icmp6-adm-prohibited": "admin-prohibited",
};

const MODULES = [
  "tcp",
  "udp",
  "comment",
  "hashlimit",
  "limit",
  "conntrack",
  "state",
  "length",
  "set",
];

/** Reads `iptables|ip6tables ARGS` (the tool name removed). */
export function readIptables(t: string[], v6: boolean): ReadRule {
  const m: Match = { hook: "input", family: v6 ? "ip6" : "ip", first: true, verdict: "drop" };
  let table = "filter";
  let op: "add" | "undo" | null = null;
  let chain = "";
  let verdict = "";
  let rejectWith: string | null = null;
  let lim: { rate?: Pick<RuleLimit, "rate" | "unit">; burst?: number } | null = null;
  let hl: {
    above?: boolean;
    rate?: Pick<RuleLimit, "rate" | "unit">;
    burst?: number;
    per?: RuleLimit["per"];
  } | null = null;
  for (let i = 0; i < t.length; i++) {
    const arg = () => t[++i] ?? refuse(`${t[i - 1]} needs a value`);
    switch (t[i]) {
      case "-t":
      case "--table":
        table = arg();
        if (table !== "filter" && table !== "raw") refuse(`table ${table} is not supported`);
        break;
      case "-I":
      case "--insert":
      case "-A":
      case "--append":
      case "-D":
      case "--delete": {
        if (op !== null) refuse("one rule per command");
        op = t[i] === "-D" || t[i] === "--delete" ? "undo" : "add";
        m.first = t[i] === "-I" || t[i] === "--insert";
        chain = arg();
        if (!["INPUT", "PREROUTING", "FORWARD"].includes(chain)) {
          refuse(`chain ${chain} is not supported`);
        }
        if (op === "add" && /^[0-9]{1,4}$/.test(t[i + 1] ?? "")) i++;
        break;
      }
      case "-s":
      case "--source":
        m.source = address(arg(), "source");
        break;
      case "-d":
      case "--destination":
        m.target = address(arg(), "destination");
        break;
      case "-p":
      case "--protocol":
        m.protocol = protocol(arg());
        break;
      case "--sport":
      case "--source-port":
        m.sport = portRange(arg());
        break;
      case "--dport":
      case "--destination-port":
        m.dport = portRange(arg());
        break;
      case "--syn":
        m.syn = true;
        break;
      case "-f":
      case "--fragment":
        m.fragments = true;
        break;
      case "-m":
      case "--match": {
        const mod = arg();
        if (!MODULES.includes(mod)) refuse(`match module ${mod} is not supported`);
        if (mod === "limit") lim ??= {};
        if (mod === "hashlimit") hl ??= {};
        break;
      }
      case "--comment":
      case "--hashlimit-name":
        arg();
        break;
      case "--limit":
        if (lim === null) refuse("--limit needs -m limit");
        lim.rate = rate(arg());
        break;
      case "--limit-burst":
        if (lim === null) refuse("--limit-burst needs -m limit");
        lim.burst = burst(arg());
        break;
      case "--hashlimit-above":
      case "--hashlimit-upto":
      case "--hashlimit":
        if (hl === null) refuse(`${t[i]} needs -m hashlimit`);
        if (hl.rate !== undefined) refuse("one hashlimit rate per rule");
        hl.above = t[i] === "--hashlimit-above";
        hl.rate = rate(arg());
        break;
      case "--hashlimit-burst":
        if (hl === null) refuse("--hashlimit-burst needs -m hashlimit");
        hl.burst = burst(arg());
        break;
      case "--hashlimit-mode": {
        if (hl === null) refuse("--hashlimit-mode needs -m hashlimit");
        const mode = arg();
        if (mode !== "srcip" && mode !== "dstip") {
          refuse(`hashlimit mode ${mode} is not supported (srcip or dstip)`);
        }
        hl.per = mode === "srcip" ? "src" : "dst";
        break;
      }
      case "--ctstate":
      case "--state":
        m.ctstate = states(arg());
        break;
      case "--match-set": {
        const name = arg();
        if (!SERVER_SET_NAME.test(name)) refuse(`invalid set name ${name.slice(0, 40)}`);
        const dir = arg();
        if (dir !== "src" && dir !== "dst") refuse(`--match-set ${name} needs src or dst`);
        m.matchSet = { name, dir };
        break;
      }
      case "--length":
        m.length = range(arg(), "length", 0, 65535);
        break;
      case "-j":
      case "--jump":
        verdict = arg();
        break;
      case "--reject-with":
        rejectWith = arg();
        break;
      default:
        refuse(
          `iptables option ${
            t[i].slice(0, 40)
          } is not accepted (only -I/-A/-D of a DROP or REJECT rule)`,
        );
    }
  }
  if (op === null) refuse("only -I/-A of a DROP or REJECT rule (or -D of one) is accepted");
  if (table === "raw" && chain !== "PREROUTING") refuse(`chain ${chain} is not in the raw table`);
  if (table === "filter" && chain === "PREROUTING") {
    refuse("chain PREROUTING is in the raw table (-t raw)");
  }
  m.hook = chain === "PREROUTING" ? "prerouting" : chain === "FORWARD" ? "forward" : "input";
  if (verdict !== "DROP" && verdict !== "REJECT") {
    refuse(`only -j DROP or -j REJECT is accepted, not ${verdict || "no target"}`);
  }
  m.verdict = verdict === "DROP" ? "drop" : "reject";
  if (rejectWith !== null) {
    if (m.verdict !== "reject") refuse("--reject-with needs -j REJECT");
    m.rejectWith = REJECT_WITH[rejectWith] ??
      refuse(`--reject-with ${rejectWith.slice(0, 30)} is not supported`);
  }
  if (lim !== null && hl !== null) refuse("one of -m limit and -m hashlimit per rule");
  if (lim !== null) {
    if (lim.rate === undefined) refuse("-m limit needs --limit N/sec");
    m.limit = { ...lim.rate, burst: lim.burst ?? 5, over: false, per: "all" };
  }
  if (hl !== null) {
    if (hl.rate === undefined) refuse("-m hashlimit needs --hashlimit-above or --hashlimit-upto");
    m.limit = { ...hl.rate, burst: hl.burst ?? 5, over: hl.above === true, per: hl.per ?? "all" };
    // The agent's older reading: an aggregate limit above N/sec lets N through per second.
    if (m.limit.over && m.limit.per === "all" && hl.burst === undefined) {
      m.limit.burst = m.limit.rate;
    }
  }
  if (m.fragments && v6) refuse("ip6tables has no -f (IPv4 fragments only)");
  return { undo: op === "undo", match: m };
}

function states(text: string): string[] {
  const out = new Set<string>();
  for (const s of text.split(",")) {
    const l = s.toLowerCase();
    if (!CT_STATES.includes(l)) refuse(`conntrack state ${s.slice(0, 20)} is not supported`);
    out.add(l);
  }
  return [...out].sort();
}

/** Reads `nft add|insert|delete rule FAMILY TABLE CHAIN EXPR... drop|reject` (tool removed). */
export function readNft(t: string[]): ReadRule {
  const verb = t[0];
  if (!(verb === "add" || verb === "insert" || verb === "delete") || t[1] !== "rule") {
    refuse("only nft add/insert/delete rule is accepted");
  }
  const fam = t[2] ?? "";
  if (!["ip", "ip6", "inet"].includes(fam)) refuse("nft family must be ip, ip6 or inet");
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(t[3] ?? "") || !/^[A-Za-z0-9_-]{1,32}$/.test(t[4] ?? "")) {
    refuse("nft needs a table and a chain name");
  }
  const chain = t[4].toLowerCase();
  const m: Match = {
    hook: chain.includes("forward")
      ? "forward"
      : chain.includes("prerouting")
      ? "prerouting"
      : "input",
    family: fam === "inet" ? null : fam as "ip" | "ip6",
    first: verb === "insert",
    verdict: "drop",
  };
  const e = t.slice(5);
  const last = e.at(-1);
  if (last === "drop") m.verdict = "drop";
  else if (last === "reject") m.verdict = "reject";
  else refuse("only rules ending in drop or reject are accepted");
  for (let i = 0; i < e.length - 1; i++) {
    const next = () => e[++i] ?? refuse(`${e[i - 1]} needs a value`);
    const word = e[i];
    if ((word === "ip" || word === "ip6") && (e[i + 1] === "saddr" || e[i + 1] === "daddr")) {
      const which = next();
      const a = address(next(), which === "saddr" ? "source" : "destination");
      if (isV6(a) !== (word === "ip6")) refuse(`${a} is not an ${word} address`);
      if (which === "saddr") m.source = a;
      else m.target = a;
    } else if (
      (word === "tcp" || word === "udp") && (e[i + 1] === "sport" || e[i + 1] === "dport")
    ) {
      m.protocol = word === "tcp" ? 6 : 17;
      if (next() === "sport") m.sport = portRange(next());
      else m.dport = portRange(next());
    } else if (word === "meta" && e[i + 1] === "l4proto") {
      next();
      m.protocol = protocol(next());
    } else if (word === "meta" && e[i + 1] === "length") {
      next();
      m.length = range(next(), "length", 0, 65535);
    } else if (word === "ct" && e[i + 1] === "state") {
      next();
      m.ctstate = states(next());
    } else if (word === "limit" && e[i + 1] === "rate") {
      i++;
      const over = e[i + 1] === "over";
      if (over) i++;
      const r = rate(next());
      let b = over ? r.rate : 5;
      if (e[i + 1] === "burst") {
        i++;
        b = Number(next());
        if (!Number.isInteger(b) || b < 1 || b > 1_000_000) refuse("burst must be 1-1000000");
        if (e[i + 1] === "packets") i++;
      }
      m.limit = { ...r, burst: b, over, per: "all" };
    } else {
      refuse(`nft expression ${word.slice(0, 40)} is not accepted`);
    }
  }
  return { undo: verb === "delete", match: m };
}
