/**
 * `ftagent status`: asks the running agent's local endpoint (127.0.0.1:`metrics_port`,
 * `/status.json`) and prints its rates, baseline, thresholds, open incidents and counters.
 *
 * @module
 */

import { z } from "zod";
import {
  type AgentSnapshot,
  flowStatusLines,
  formatBps,
  formatDuration,
  formatPps,
  healthProblems,
  mirrorStatusLines,
} from "../core/report/mod.ts";
import { parseCommand, UsageError } from "./_args.ts";
import { agentEndpoint } from "./_config.ts";

/** Usage text of `status`. */
export const STATUS_USAGE = `ftagent status [--config PATH] [--json]

Asks the running agent (http://127.0.0.1:<metrics_port>/status.json) for its traffic rates,
baseline, thresholds, open incidents and counters.
  --json          the agent's snapshot as one JSON object`;

const Options = z.object({
  config: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

const TIMEOUT_MS = 3000;

/** Runs `status`; returns the process exit code. */
export async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    config: { type: "string" },
    json: { type: "boolean" },
  }, Options);
  if (positionals.length > 0) throw new UsageError(`unknown argument "${positionals[0]}"`);
  const { baseUrl, headers } = await agentEndpoint(values.config);
  const url = `${baseUrl}/status.json`;
  let snapshot: AgentSnapshot;
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    snapshot = await response.json();
    if (typeof snapshot?.capture !== "object" || typeof snapshot?.rates !== "object") {
      throw new Error("not an ftagent status");
    }
  } catch (err) {
    const reason = err instanceof TypeError ? "connection refused" : (err as Error).message;
    throw new Error(`no agent answering on ${url} (${reason}): is ftagent running?`);
  }
  if (values.json) console.log(JSON.stringify(snapshot));
  else console.log(statusText(snapshot));
  return 0;
}

function statusText(s: AgentSnapshot): string {
  const problems = healthProblems(s);
  const r = s.rates;
  const lines = [
    `ftagent ${s.version} on ${s.capture.source}: ${
      problems.length === 0 ? "healthy" : `UNHEALTHY (${problems.join("; ")})`
    }, up ${formatDuration((s.nowMs - s.startMs) / 1000)}`,
    `traffic     ${formatPps(r.pps)}, ${formatBps(r.bps)} (tcp ${formatPps(r.protocols.tcp)}, ` +
    `udp ${formatPps(r.protocols.udp)}, icmp ${formatPps(r.protocols.icmp)}, ` +
    `other ${formatPps(r.protocols.other)})`,
    `baseline    ${s.baseline.ready ? "ready" : "learning"} (${s.baseline.samples} s): ` +
    `${formatPps(s.baseline.levels.pps ?? 0)}, ${formatBps(s.baseline.levels.bps ?? 0)}`,
    `thresholds  ${
      Object.entries(s.thresholds)
        .map(([k, v]) => `${k} ${v === null ? "off" : k === "bps" ? formatBps(v) : formatPps(v)}`)
        .join(", ")
    }`,
    `incidents   ${s.incidents.open.length} open, ${
      Object.values(s.incidents.totalByFamily).reduce((a, b) => a + b, 0)
    } since start`,
  ];
  for (const i of s.incidents.open) {
    lines.push(
      `  ${i.family}/${i.subtype} on ${i.target} since ${
        i.startedAt.slice(0, 19).replace("T", " ")
      }` +
        ` UTC, peak ${formatPps(i.peakPps)} ${formatBps(i.peakBps)}  ${i.id}`,
    );
  }
  lines.push(
    `capture     ${s.capture.packets} packets, ${s.capture.malformed} malformed, kernel drops ` +
      `${s.capture.dropped + s.capture.ifDropped}`,
  );
  if (s.flow) lines.push(...flowStatusLines(s.flow, s.nowMs));
  if (s.mirror) lines.push(...mirrorStatusLines(s.mirror));
  const dropped = s.listeners.filter((l) => l.dropped > 0);
  if (dropped.length > 0) {
    lines.push(`listeners   dropped: ${dropped.map((l) => `${l.name} ${l.dropped}`).join(", ")}`);
  }
  if (s.reporting?.suspendedSince) {
    lines.push(
      `suspended   by the server since ${s.reporting.suspendedSince}: no incidents, metrics or ` +
        "mitigation sent or applied; detection goes on, heartbeats continue",
    );
  }
  if (s.reporting !== null) {
    const o = s.reporting.outbox;
    const drops = Object.entries(o.dropped).filter(([, n]) => n > 0);
    lines.push(
      `outbox      ${o.depth} waiting, dropped ${
        drops.length === 0 ? "none" : drops.map(([k, n]) => `${k} ${n}`).join(", ")
      }, API errors ${s.reporting.apiErrors}`,
    );
    for (const x of s.reporting.senders) {
      lines.push(
        `  ${x.channel}: sent ${x.sent}, failed ${x.failed}, dead ${x.dead}, breaker ${x.breaker}` +
          (x.lastError ? `, last error: ${x.lastError}` : ""),
      );
    }
  }
  if (s.state !== null && (s.state.pending > 0 || s.state.refused > 0 || s.state.fault !== null)) {
    lines.push(
      `state db    ${s.state.pending} writes waiting, ${s.state.refused} refused` +
        (s.state.fault ? `, waiting on: ${s.state.fault}` : ""),
    );
  }
  return lines.join("\n");
}
