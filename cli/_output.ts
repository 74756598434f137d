// Human and JSON-lines output shared by `replay` and `capture`.
import type { HeldNotice, IncidentEvent } from "../core/detect/mod.ts";
import type { WindowStats } from "../core/traffic/mod.ts";

/** Totals printed after the last window. */
export interface Summary {
  packets: number;
  bytes: number;
  malformed: number;
  seconds: number;
  windows: number;
  pps_processed: number;
  [extra: string]: unknown;
}

/** Writes window and summary lines to stdout, as JSON lines or a table. */
export class WindowPrinter {
  readonly #json: boolean;
  readonly #encoder = new TextEncoder();
  #rows = 0;

  constructor(json: boolean) {
    this.#json = json;
  }

  window(stats: WindowStats): void {
    if (this.#json) {
      this.#write(JSON.stringify({ type: "window", ...stats }));
      return;
    }
    if (this.#rows++ % 40 === 0) this.#write(HEADER);
    this.#write(tableRow(stats));
  }

  incident(event: IncidentEvent): void {
    if (this.#json) {
      this.#write(JSON.stringify(event));
      return;
    }
    const e = event as Record<string, unknown> & { evidence?: { summary?: string } };
    const parts = [
      `INCIDENT ${String(e.event).toUpperCase()}`,
      String(e.detected_at).slice(0, 23).replace("T", " "),
      `${e.attack_family}/${e.attack_subtype}`,
      `target ${e.target}`,
      `peak ${formatRate(e.peak_pps as number, "pps")} ${formatRate(e.peak_bps as number, "b/s")}`,
      `confidence ${e.confidence}`,
    ];
    if (e.event === "open") parts.push(`(${e.opened_by})`);
    if (e.event === "resolve") parts.push(`after ${e.duration_seconds} s`);
    if (e.evidence?.summary) parts.push(`- ${e.evidence.summary}`);
    this.#write(parts.join("  "));
    this.#rows = 0; // repeat the table header after an incident line
  }

  /** A suspected target held back: its traffic looked legitimate. */
  held(notice: HeldNotice): void {
    if (this.#json) {
      this.#write(JSON.stringify(notice));
      return;
    }
    this.#write(
      `HELD  ${notice.at.slice(0, 23).replace("T", " ")}  target ${notice.target}  ` +
        `- ${notice.reason}`,
    );
    this.#rows = 0;
  }

  summary(summary: Summary): void {
    if (this.#json) {
      this.#write(JSON.stringify({ type: "summary", ...summary }));
      return;
    }
    const parts = [
      `packets ${summary.packets}`,
      `bytes ${summary.bytes}`,
      `malformed ${summary.malformed}`,
      `seconds ${summary.seconds.toFixed(3)}`,
      `windows ${summary.windows}`,
      `processed ${formatRate(summary.pps_processed, "pps")}`,
    ];
    for (const [key, value] of Object.entries(summary)) {
      if (!(key in SUMMARY_KEYS)) parts.push(`${key.replaceAll("_", " ")} ${value}`);
    }
    this.#write(parts.join("  "));
  }

  #write(line: string): void {
    Deno.stdout.writeSync(this.#encoder.encode(line + "\n"));
  }
}

const SUMMARY_KEYS = {
  packets: 1,
  bytes: 1,
  malformed: 1,
  seconds: 1,
  windows: 1,
  pps_processed: 1,
};

const HEADER = [
  "time (UTC)".padEnd(20),
  "pps".padStart(10),
  "bps".padStart(12),
  "tcp%".padStart(6),
  "udp%".padStart(6),
  "icmp%".padStart(6),
  "srcs".padStart(8),
  "  top source".padEnd(28),
  "top dport".padEnd(16),
  "malf".padStart(6),
].join(" ");

function tableRow(s: WindowStats): string {
  const pct = (n: number) => (s.packets ? (100 * n) / s.packets : 0).toFixed(1).padStart(6);
  const src = s.top_src_ips[0];
  const port = s.top_dst_ports[0];
  return [
    new Date(s.t * 1000).toISOString().slice(0, 19).replace("T", " ").padEnd(20),
    formatCount(s.pps).padStart(10),
    formatRate(s.bps, "b/s").padStart(12),
    pct(s.protocols.tcp.packets),
    pct(s.protocols.udp.packets),
    pct(s.protocols.icmp.packets),
    String(s.src_count).padStart(8),
    ("  " + (src ? `${src.ip} (${src.count})` : "-")).padEnd(28),
    (port ? `${port.port} (${port.count})` : "-").padEnd(16),
    String(s.malformed).padStart(6),
  ].join(" ");
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Formats a rate with a metric prefix: 1234567 -> "1.23 Mb/s". */
export function formatRate(n: number, unit: string): string {
  const prefixes = ["", "k", "M", "G", "T"];
  let i = 0;
  while (n >= 1000 && i < prefixes.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 2)} ${prefixes[i]}${unit}`;
}
