/**
 * The project's own capture corpus (`corpus/`): real traffic made with real tools in network
 * namespaces by `corpus/make/*.sh`, each capture with a JSON file of its timeline, how it was
 * made, the config to replay it with and what a correct detector reports. This replays a case
 * through `ftagent replay` and lists where the result differs from the expectation.
 *
 * @module
 */

import { ftagent, jsonLines } from "./cli.ts";

/** Folder of the project's corpus. */
export const PROJECT_CORPUS = new URL("../../corpus/", import.meta.url).pathname;

/** The addresses the corpus host (namespace SRV of `corpus/make/lib.sh`) protects. */
export const CORPUS_NETWORKS = ["198.18.0.0/27", "2001:2::1/128"];

/** What a correct detector reports for a case. */
export interface Expectation {
  /** L3/L4 incidents opened, exactly. */
  incidents: number;
  /** The target of the one incident (`"interface"` or an address). */
  target?: string;
  /** Accepted attack families. */
  family?: string[];
  /** Accepted subtypes (any when absent). */
  subtype?: string[];
  /** The expected spoofing verdict. */
  spoofing?: boolean;
  /** Most seconds from the onset to the open. */
  open_within_s?: number;
  /** Why the detector does not get this case right yet (the test is reported ignored). */
  known_failure?: string;
}

/** One case of the corpus (its JSON file). */
export interface CorpusCase {
  name: string;
  pcap: string;
  how: string;
  description?: string;
  timeline: { start?: number; onset?: number | number[]; end?: number | number[] };
  config?: Record<string, unknown>;
  expect: Expectation;
}

/** What a replay of a case reported. */
export interface CaseResult {
  opens: Record<string, unknown>[];
  resolves: Record<string, unknown>[];
  held: Record<string, unknown>[];
}

/** Every case of the corpus, by name. */
export function corpusCases(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const entry of Deno.readDirSync(PROJECT_CORPUS)) {
    if (!entry.name.endsWith(".json")) continue;
    cases.push(JSON.parse(Deno.readTextFileSync(PROJECT_CORPUS + entry.name)));
  }
  return cases.sort((a, b) => a.name.localeCompare(b.name));
}

/** Replays `c` with its config (and the corpus host's protected networks) into `dir`. */
export async function replayCase(c: CorpusCase, dir: string): Promise<CaseResult> {
  const config = `${dir}/${c.name}.config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ ...c.config, protected_networks: CORPUS_NETWORKS }),
  );
  const out = await ftagent(["replay", PROJECT_CORPUS + c.pcap, "--json", "--config", config]);
  if (out.code !== 0) throw new Error(`replay ${c.name}: ${out.stderr}`);
  const lines = jsonLines(out.stdout);
  const incidents = lines.filter((l) => l.type === "incident");
  return {
    opens: incidents.filter((l) => l.event === "open"),
    resolves: incidents.filter((l) => l.event === "resolve"),
    held: lines.filter((l) => l.type === "held"),
  };
}

/** Seconds from the case's (first) onset to `iso`. */
export function afterOnset(c: CorpusCase, iso: unknown): number {
  const onset = Array.isArray(c.timeline.onset) ? c.timeline.onset[0] : c.timeline.onset;
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{6})\+00:00$/.exec(String(iso));
  if (!m || onset === undefined) return NaN;
  return Date.parse(m[1] + "Z") / 1000 + Number(m[2]) / 1e6 - onset;
}

/** How the result differs from the expectation, one line each (none: as expected). */
export function differences(c: CorpusCase, r: CaseResult): string[] {
  const e = c.expect;
  const problems: string[] = [];
  const describe = (l: Record<string, unknown>) =>
    `${l.target} ${l.attack_family}/${l.attack_subtype} at ${
      afterOnset(c, l.detected_at).toFixed(2)
    } s (${l.opened_by})`;
  if (r.opens.length !== e.incidents) {
    problems.push(
      `${r.opens.length} incidents, expected ${e.incidents}: ${r.opens.map(describe).join("; ")}`,
    );
    return problems;
  }
  const open = r.opens[0];
  if (!open) return problems;
  const final = r.resolves.find((l) => l.id === open.id) ?? open;
  if (e.target !== undefined && open.target !== e.target) {
    problems.push(`target ${open.target}, expected ${e.target}`);
  }
  if (e.family && !e.family.includes(String(final.attack_family))) {
    problems.push(`family ${final.attack_family}, expected ${e.family.join(" or ")}`);
  }
  if (e.subtype && !e.subtype.includes(String(final.attack_subtype))) {
    problems.push(`subtype ${final.attack_subtype}, expected ${e.subtype.join(" or ")}`);
  }
  if (e.spoofing !== undefined && final.spoofing_detected !== e.spoofing) {
    problems.push(`spoofing ${final.spoofing_detected}, expected ${e.spoofing}`);
  }
  const latency = afterOnset(c, open.detected_at);
  if (e.open_within_s !== undefined && !(latency >= -0.5 && latency <= e.open_within_s)) {
    problems.push(`opened ${latency.toFixed(2)} s after onset, expected <= ${e.open_within_s}`);
  }
  return problems;
}
