// The evidence numbers and the one-sentence summary of a classification.
import type { Breakdown, Part } from "./_parts.ts";
import { Vector } from "../packet/mod.ts";
import type { WindowStats } from "../traffic/mod.ts";

/** A ratio as a percentage with one decimal. */
export function pct(ratio: number): number {
  return Number.isFinite(ratio) ? Math.round(ratio * 1000) / 10 : 0;
}

/** Rounds to three decimals (rates). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const SHARE_VECTORS: readonly (readonly [string, number])[] = [
  ["tcp", Vector.TCP],
  ["udp", Vector.UDP],
  ["icmp", Vector.ICMP],
  ["gre", Vector.GRE],
  ["other", Vector.OTHER],
  ["fragments", Vector.FRAGMENTS],
  ["frag_non_first", Vector.FRAG_NON_FIRST],
  ["syn", Vector.SYN],
  ["syn_ack", Vector.SYN_ACK],
  ["ack", Vector.ACK],
  ["psh_ack", Vector.PSH_ACK],
  ["rst", Vector.RST],
  ["fin", Vector.FIN],
  ["xmas", Vector.XMAS],
  ["null", Vector.NULL],
  ["tcp_anomalous", Vector.TCP_ANOMALOUS],
  ["udp_amp", Vector.UDP_AMP],
  ["dns_query", Vector.DNS_QUERY],
  ["quic", Vector.UDP_QUIC],
  ["icmp_echo", Vector.ICMP_ECHO],
  ["icmp_oversized", Vector.ICMP_OVERSIZED],
  ["small", Vector.SMALL],
  ["large", Vector.LARGE],
];

/**
 * Non-zero packet shares of the span's vectors (`amp_<service>` per amplification service,
 * `background` for ordinary TCP session traffic) and, with statistics, byte shares per
 * protocol (`bytes_udp`, ...).
 */
export function shares(
  v: ArrayLike<number>,
  bd: Breakdown,
  stats: WindowStats | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  const total = bd.packets;
  const put = (key: string, n: number) => {
    if (n > 0 && total > 0 && pct(n / total) > 0) out[key] = pct(n / total);
  };
  for (const [key, index] of SHARE_VECTORS) put(key, v[index]);
  for (const s of bd.services) put(`amp_${s.name}`, s.packets);
  put("background", bd.background.packets);
  if (stats && stats.bytes > 0) {
    for (const [name, c] of Object.entries(stats.protocols)) {
      if (pct(c.bytes / stats.bytes) > 0) out[`bytes_${name}`] = pct(c.bytes / stats.bytes);
    }
  }
  return out;
}

/** "93.3% UDP from source port 161 (snmp)"; "LABEL: x% of packets, y% of bytes" when bytes weigh more. */
function describePart(part: Part, bd: Breakdown): string {
  const byPackets = part.packets / bd.packets;
  const byBytes = Number.isFinite(part.bytes) && bd.bytes > 0 ? part.bytes / bd.bytes : 0;
  return byBytes > byPackets + 0.05
    ? `${part.label}: ${pct(byPackets)}% of packets, ${pct(byBytes)}% of bytes`
    : `${pct(byPackets)}% ${part.label}`;
}

/** The summary sentence: main parts, then port, sources, fragments, background and size. */
export function summarize(
  main: Part[],
  bd: Breakdown,
  v: ArrayLike<number>,
  stats: WindowStats | undefined,
): string {
  const pieces: string[] = [];
  if (main.length === 0) {
    const top = bd.parts.slice(0, 3).map((p) => describePart(p, bd));
    pieces.push(`no vector stands out${top.length ? ": " + top.join(", ") : ""}`);
  } else {
    pieces.push(main.map((p) => describePart(p, bd)).join(" + "));
  }
  const amp = main.find((p) => p.key === "udp_amp");
  if (amp && bd.services.length > 1) {
    const total = bd.services.reduce((n, s) => n + s.packets, 0);
    const list = bd.services.slice(0, 3).map((s) => `${pct(s.packets / total)}% ${s.name}`);
    pieces.push(`amplified packets ${list.join(", ")}`);
  }
  const dst = stats?.top_dst_ports[0];
  // Ports are counted in the statistics, over all of the span's packets.
  if (stats && dst && dst.count >= 0.5 * stats.packets) {
    pieces.push(`to port ${dst.port} (${pct(dst.count / stats.packets)}%)`);
  }
  if (stats) pieces.push(sourcesText(stats.src_count));
  const fragments = v[Vector.FRAGMENTS];
  if (fragments >= 0.1 * bd.packets) pieces.push(`${pct(fragments / bd.packets)}% fragments`);
  if (bd.background.packets > 0) {
    pieces.push(`beside ${pct(bd.background.packets / bd.packets)}% ordinary TCP session traffic`);
  }
  pieces.push(`mean ${bd.packets > 0 ? Math.round(bd.bytes / bd.packets) : 0} B`);
  return pieces.join(", ");
}

/** "1 source", "4285 sources". */
export function sourcesText(n: number): string {
  return `${n} source${n === 1 ? "" : "s"}`;
}
