// Spoofing and botnet verdicts from a span's source statistics.
import {
  HIGH_ENTROPY_BITS,
  HIGH_ENTROPY_SOURCES,
  MANY_SOURCES,
  ONE_SHOT_SOURCES,
  TTL_CONCENTRATION,
} from "./_thresholds.ts";
import { sourcesText } from "./_evidence.ts";
import type { WindowStats } from "../traffic/mod.ts";

/** What the sources say about who sent the attack. */
export interface SourceVerdict {
  spoofing: boolean;
  botnet: boolean;
  spoofingReason?: string;
  botnetReason?: string;
}

/** Share of IP packets carrying the one or two most common TTL values (0 without IP). */
export function ttlTopShare(stats: WindowStats): number {
  const counts = Object.values(stats.ttl).sort((a, b) => b - a);
  const ip = stats.ipv4 + stats.ipv6;
  return ip > 0 ? ((counts[0] ?? 0) + (counts[1] ?? 0)) / ip : 0;
}

/**
 * Judges the sources of a span whose main part is `reflection` or not. Reflected traffic
 * comes from real reflectors: never spoofed, never a botnet. Sources that completed TCP
 * handshakes (`handshakes`, a connection flood) are real: never spoofed, a botnet when many.
 */
export function judgeSources(
  stats: WindowStats | undefined,
  reflection: boolean,
  handshakes = false,
): SourceVerdict {
  if (!stats) return { spoofing: false, botnet: false };
  const sources = stats.src_count;
  if (reflection) {
    const why = `reflection: ${sourcesText(sources)}, real reflectors answering spoofed requests`;
    return { spoofing: false, botnet: false, spoofingReason: why, botnetReason: why };
  }
  if (handshakes) {
    return {
      spoofing: false,
      botnet: sources >= MANY_SOURCES,
      spoofingReason: `handshakes completed: ${sourcesText(sources)} are real hosts`,
      botnetReason: sources >= MANY_SOURCES
        ? `${sources} real hosts completing handshakes`
        : `${sourcesText(sources)} (fewer than ${MANY_SOURCES})`,
    };
  }
  const ip = stats.ipv4 + stats.ipv6;
  const perPacket = ip > 0 ? sources / ip : 0;
  const ttl = ttlTopShare(stats);
  const ttlText = `${pct(ttl)}% on the top two TTL values`;
  const reasons: string[] = [];
  if (sources >= MANY_SOURCES) {
    if (ttl >= TTL_CONCENTRATION) {
      reasons.push(`${sources} sources but ${ttlText} (one sender behind random addresses)`);
    }
    if (perPacket >= ONE_SHOT_SOURCES) {
      reasons.push(`${sources} sources for ${ip} packets (each sends about one)`);
    } else if (
      stats.src_ip_entropy >= HIGH_ENTROPY_BITS && perPacket >= HIGH_ENTROPY_SOURCES
    ) {
      reasons.push(
        `source entropy ${stats.src_ip_entropy} bits, near the maximum, with ${sources} sources ` +
          `for ${ip} packets`,
      );
    }
  }
  if (reasons.length > 0) {
    return {
      spoofing: true,
      botnet: false,
      spoofingReason: reasons.join("; "),
      botnetReason: "sources are spoofed",
    };
  }
  const spoofingReason = sources < MANY_SOURCES
    ? `${sourcesText(sources)} (fewer than ${MANY_SOURCES})`
    : `${sources} sources averaging ${round1(ip / sources)} packets each, ${ttlText}`;
  if (sources >= MANY_SOURCES) {
    return {
      spoofing: false,
      botnet: true,
      spoofingReason,
      botnetReason: `${sources} real sources averaging ${round1(ip / sources)} packets each, ` +
        `TTLs spread (${ttlText})`,
    };
  }
  return {
    spoofing: false,
    botnet: false,
    spoofingReason,
    botnetReason: `${sourcesText(sources)} (fewer than ${MANY_SOURCES})`,
  };
}

function pct(x: number): number {
  return Math.round(x * 1000) / 10;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
