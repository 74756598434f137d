/**
 * `ftagent classify FILE`: reads a capture as one attack and prints what kind it is (family,
 * subtype, confidence, spoofing/botnet and the evidence), through the pipeline replay uses.
 *
 * @module
 */

import { z } from "zod";
import { FileSource } from "../agent/capture/mod.ts";
import { type Classification, classify } from "../core/classify/mod.ts";
import {
  completeVectors,
  countVectors,
  type PacketSink,
  VECTOR_COUNT,
} from "../core/packet/mod.ts";
import { Pipeline, Window } from "../core/traffic/mod.ts";
import { formatRate } from "./_output.ts";
import { parseCommand, UsageError } from "./_args.ts";

/** Usage text of `classify`. */
export const CLASSIFY_USAGE = `ftagent classify FILE [--json]

Reads a pcap or pcapng capture as one attack and prints its family, subtype, confidence,
spoofing and botnet verdicts and the numbers that decided.
  --json          one JSON object: {"attack_family":...,"attack_subtype":...,"evidence":{...}}`;

const Options = z.object({ json: z.boolean().default(false) });

/** Runs `classify`; returns the process exit code. */
export async function classifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { json: { type: "boolean" } }, Options);
  if (positionals.length !== 1) throw new UsageError("classify takes exactly one capture file");
  const total = new Window();
  let windows = 0;
  const pipeline = new Pipeline((window) => {
    if (windows++ === 0) total.reset(window.start, window.seconds);
    total.merge(window);
  });
  const vectors = new Float64Array(VECTOR_COUNT);
  const ipProtocols = new Float64Array(256);
  const sink: PacketSink = {
    packet(buf, offset, capLen, wireLen, tsUs, linktype) {
      pipeline.packet(buf, offset, capLen, wireLen, tsUs, linktype);
      const meta = pipeline.meta;
      countVectors(meta, vectors, 0);
      if (meta.malformed === 0 && meta.ipVersion !== 0) ipProtocols[meta.protocol & 0xff]++;
    },
  };
  const source = new FileSource(positionals[0]);
  let failure: unknown = null;
  try {
    await source.run(sink);
  } catch (err) {
    failure = err;
  } finally {
    source.close();
  }
  pipeline.flush();
  const span = pipeline.packets > 0 ? (pipeline.lastTsUs - pipeline.firstTsUs) / 1e6 : 0;
  completeVectors(vectors, 0);
  const result = classify({
    vectors,
    seconds: Math.max(span, 1e-3),
    stats: total.snapshot(),
    ipProtocols,
  });
  const text = values.json ? JSON.stringify(result) : describe(result, span);
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (failure !== null) throw failure;
  return 0;
}

function describe(c: Classification, seconds: number): string {
  const e = c.evidence;
  const shares = Object.entries(e.shares)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([key, value]) => `${key} ${value}%`)
    .join("  ");
  const yesNo = (flag: boolean, reason?: string) =>
    `${flag ? "yes" : "no"}${reason ? ` (${reason})` : ""}`;
  const lines = [
    `attack      ${c.attack_family} / ${c.attack_subtype}`,
    `confidence  ${c.confidence}`,
    `evidence    ${e.summary}`,
    `rule        ${e.rule}`,
    `shares      ${shares}`,
    `spoofing    ${yesNo(c.spoofing_detected, e.spoofing_reason)}`,
    `botnet      ${yesNo(c.botnet_detected, e.botnet_reason)}`,
    `traffic     ${e.packets} packets, ${formatRate(e.bytes, "B")}, mean ${
      Math.round(e.mean_packet_bytes)
    } B, ${formatRate(e.pps, "pps")}, ${formatRate(e.bps, "b/s")} over ${seconds.toFixed(3)} s`,
  ];
  if (e.parts) {
    const parts = e.parts.map((p) => `${p.subtype} ${p.share}%`).join(", ");
    lines.splice(2, 0, `parts       ${parts}`);
  }
  return lines.join("\n");
}
