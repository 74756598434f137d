// The `xdp` command type: a JSON rule spec (the Flowtriq agent turns it into nft rules; so does
// this one, in its own table at the raw priority). Used by the command parser only.
import { address, portRange, protocol, refuse } from "./_command_words.ts";
import type { ReadRule } from "./_firewall_command.ts";
import type { Match } from "./_rule_match.ts";
import type { ValueRange } from "./server_rule.ts";

/** The fields an xdp rule spec may have. */
export const XDP_FIELDS = [
  "action",
  "src",
  "dst",
  "protocol",
  "src_port",
  "dst_port",
  "port",
  "pps",
  "burst",
  "per",
  "duration",
  "remove",
] as const;

/** An xdp rule spec read: the rule and its duration (null: the default time-to-live). */
export interface XdpRule extends ReadRule {
  /** Seconds, or null. */
  duration: number | null;
}

/** Reads an xdp rule spec (the JSON text of `command_text`). */
export function readXdp(text: string, maxTtl: number): XdpRule {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    refuse("xdp command_text must be a JSON rule spec");
  }
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    refuse("xdp rule spec must be a JSON object");
  }
  const o = spec as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(XDP_FIELDS as readonly string[]).includes(k)) {
      refuse(
        `xdp rule: unknown field ${JSON.stringify(k.slice(0, 40))} (known: ${
          XDP_FIELDS.join(", ")
        })`,
      );
    }
  }
  const str = (k: string) => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") refuse(`xdp rule: ${k} must be a string`);
    return v;
  };
  const int = (k: string, min: number, max: number) => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      refuse(`xdp rule: ${k} must be an integer ${min}-${max}`);
    }
    return v;
  };
  const ports = (k: string): ValueRange | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "number") return portRange(String(v));
    if (typeof v === "string") return portRange(v);
    refuse(`xdp rule: ${k} must be a port or "A-B"`);
  };
  const action = str("action");
  if (action !== "drop" && action !== "rate_limit") {
    refuse(
      `xdp rule: action must be "drop" or "rate_limit", not ${JSON.stringify(action ?? null)}`,
    );
  }
  const m: Match = { hook: "prerouting", family: null, first: true, verdict: "drop" };
  const src = str("src");
  const dst = str("dst");
  if (src !== undefined) m.source = address(src, "source");
  if (dst !== undefined) m.target = address(dst, "destination");
  const p = o.protocol;
  if (p !== undefined && p !== null) {
    if (typeof p !== "string" && typeof p !== "number") {
      refuse("xdp rule: protocol must be a name or number");
    }
    m.protocol = protocol(String(p));
  }
  if (o.port !== undefined && o.dst_port !== undefined) {
    refuse("xdp rule: port and dst_port are the same field");
  }
  m.sport = ports("src_port");
  m.dport = ports("dst_port") ?? ports("port");
  const pps = int("pps", 1, 10_000_000);
  const burst = int("burst", 1, 1_000_000);
  const per = str("per");
  if (per !== undefined && per !== "all" && per !== "src" && per !== "dst") {
    refuse(`xdp rule: per must be "all", "src" or "dst"`);
  }
  if (action === "rate_limit") {
    if (pps === undefined) refuse("xdp rule: rate_limit needs pps");
    m.limit = { rate: pps, unit: "second", burst: burst ?? pps, over: true, per: per ?? "all" };
  } else if (pps !== undefined || burst !== undefined || per !== undefined) {
    refuse("xdp rule: pps, burst and per belong to rate_limit");
  }
  const remove = o.remove;
  if (remove !== undefined && typeof remove !== "boolean") {
    refuse("xdp rule: remove must be true or false");
  }
  return { undo: remove === true, match: m, duration: int("duration", 1, maxTtl) ?? null };
}
