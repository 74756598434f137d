// The verdict of a soak run: each planned flood matched to the incident calls the stand-in
// control plane accepted (create by its started_at, update and resolve by the uuid the create
// answered) and to the store's rows; the RSS curve and whether it is flat; /health during
// each fault; the agent's log lines about the faults.
import type { HealthProbe, InjectedFault, Sample, SoakObservation } from "./soak.ts";
import { type FaultKind, fmtMin, plannedFloods, type SoakPlan } from "./soak_plan.ts";
import { T0 } from "./traffic.ts";

/** What became of one planned flood. */
export interface FloodOutcome {
  fromS: number;
  toS: number;
  during: FaultKind | null;
  /** Incident creates, resolves and store rows matched to it (1, 1, 1 when all is well). */
  creates: number;
  resolves: number;
  rows: number;
  /** States of its store rows. */
  states: string[];
}

/** /health while one fault lasted. */
export interface FaultHealth extends InjectedFault {
  answered: number;
  unanswered: number;
  slowestMs: number;
}

/** The judged soak run. */
export interface SoakReport {
  plan: SoakPlan;
  wallS: number;
  exitCode: number | null;
  floods: FloodOutcome[];
  expected: number;
  created: number;
  resolved: number;
  stored: number;
  /** Floods without a create, a resolve or a resolved store row. */
  lost: number;
  /** Extra creates, resolves or rows of a flood, and update bodies delivered twice. */
  duplicates: number;
  /** Incidents matching no planned flood (server creates plus store rows). */
  unexpected: number;
  faults: FaultHealth[];
  health: { probes: number; unanswered: number; slowestMs: number };
  /** Largest `ftagent_loop_last_tick_age_seconds` read (seconds). */
  maxTickAgeS: number;
  rss: {
    samples: number;
    warmMedianMiB: number;
    lastMedianMiB: number;
    maxMiB: number;
    /** Least-squares slope after warm-up, MiB per hour. */
    slopeMiBPerHour: number;
    flat: boolean;
    curve: string[];
  };
  /** Agent log lines: state faults said, writes resumed, warnings and errors. */
  log: { stateFaults: string[]; resumed: number; problems: string[] };
}

/** RSS may grow this much (last 20% median over the post-warm-up median) and still be flat. */
export const FLAT_TOLERANCE = 0.15;

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** Capture second of an ISO time or epoch ms. */
function captureS(t: string | number): number {
  const ms = typeof t === "number" ? t : Date.parse(t);
  return ms / 1000 - T0;
}

/** Judges what a soak run observed. */
export function judgeSoak(o: SoakObservation): SoakReport {
  const planned = plannedFloods(o.plan);
  const match = (s: number) => planned.findIndex((f) => s >= f.fromS - 2 && s <= f.toS + 2);
  const floods: FloodOutcome[] = planned.map((f) => ({
    ...f,
    creates: 0,
    resolves: 0,
    rows: 0,
    states: [],
  }));
  let unexpected = 0;
  const uuidFlood = new Map<string, number>();
  o.server.accepted(/^\/agent\/incidents$/).forEach((r, i) => {
    const started = (r.body as { started_at?: string })?.started_at ?? "";
    const k = match(captureS(started));
    if (k < 0) unexpected++;
    else {
      floods[k].creates++;
      uuidFlood.set(`srv-${i + 1}`, k);
    }
  });
  for (const r of o.server.accepted(/^\/agent\/incidents\/[^/]+\/resolve$/)) {
    const k = uuidFlood.get(r.path.split("/")[3]);
    if (k !== undefined) floods[k].resolves++;
  }
  const updates = o.server.accepted(/^\/agent\/incidents\/[^/]+$/);
  const updateKeys = updates.map((r) => `${r.path} ${JSON.stringify(r.body)}`);
  const twice = updateKeys.length - new Set(updateKeys).size;
  for (const row of o.stored) {
    const k = match(captureS(row.started_ms));
    if (k < 0) unexpected++;
    else {
      floods[k].rows++;
      floods[k].states.push(row.state);
    }
  }
  const ok = (f: FloodOutcome) => f.creates > 0 && f.resolves > 0 && f.states.includes("resolved");
  const extra = (n: number) => Math.max(0, n - 1);
  return {
    plan: o.plan,
    wallS: Math.round(o.wallS),
    exitCode: o.exitCode,
    floods,
    expected: floods.length,
    created: floods.filter((f) => f.creates > 0).length,
    resolved: floods.filter((f) => f.resolves > 0).length,
    stored: floods.filter((f) => f.states.includes("resolved")).length,
    lost: floods.filter((f) => !ok(f)).length,
    duplicates: twice +
      floods.reduce((n, f) => n + extra(f.creates) + extra(f.resolves) + extra(f.rows), 0),
    unexpected,
    faults: o.faults.map((f) => faultHealth(f, o.health)),
    health: {
      probes: o.health.length,
      unanswered: o.health.filter((h) => h.status === 0).length,
      slowestMs: o.health.reduce((m, h) => Math.max(m, h.ms), 0),
    },
    maxTickAgeS: o.samples.reduce(
      (m, s) => Number.isNaN(s.tickAgeS) ? m : Math.max(m, s.tickAgeS),
      0,
    ),
    rss: rssVerdict(o.samples, o.plan),
    log: {
      stateFaults: o.logLines.filter((l) => /cannot write/.test(l)),
      resumed: o.logLines.filter((l) => /writing again/.test(l)).length,
      problems: o.logLines.filter((l) => /\[(WRN|ERR|FTL)\]/.test(l)),
    },
  };
}

function faultHealth(f: InjectedFault, probes: HealthProbe[]): FaultHealth {
  const during = probes.filter((p) => p.t >= f.fromS && p.t <= f.toS);
  return {
    ...f,
    answered: during.filter((p) => p.status !== 0).length,
    unanswered: during.filter((p) => p.status === 0).length,
    slowestMs: during.reduce((m, p) => Math.max(m, p.ms), 0),
  };
}

function rssVerdict(samples: Sample[], plan: SoakPlan): SoakReport["rss"] {
  const warm = samples.filter((s) => s.t >= plan.warmupS);
  const last = warm.slice(Math.floor(warm.length * 0.8));
  const warmMedian = median(warm.map((s) => s.rssKiB));
  const lastMedian = median(last.map((s) => s.rssKiB));
  // Least squares of RSS over time after warm-up.
  const n = warm.length;
  const mt = warm.reduce((a, s) => a + s.t, 0) / n;
  const mr = warm.reduce((a, s) => a + s.rssKiB, 0) / n;
  const cov = warm.reduce((a, s) => a + (s.t - mt) * (s.rssKiB - mr), 0);
  const vt = warm.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const slope = vt > 0 ? (cov / vt) * 3600 : 0;
  const curve: string[] = [];
  const end = samples.at(-1)?.t ?? 0;
  for (let from = 0; from < end; from += plan.curveStepS) {
    const part = samples.filter((s) => s.t >= from && s.t < from + plan.curveStepS);
    if (part.length === 0) continue;
    const rss = part.map((s) => s.rssKiB);
    const heap = part.map((s) => s.heapBytes).filter((h) => !Number.isNaN(h));
    curve.push(
      `${fmtMin(from)}  RSS ${mib(Math.min(...rss)).toFixed(1)}-${
        mib(Math.max(...rss)).toFixed(1)
      } MiB` +
        (heap.length > 0
          ? `  heap ${(Math.min(...heap) / 2 ** 20).toFixed(1)}-${
            (Math.max(...heap) / 2 ** 20).toFixed(1)
          } MiB`
          : ""),
    );
  }
  return {
    samples: samples.length,
    warmMedianMiB: mib(warmMedian),
    lastMedianMiB: mib(lastMedian),
    maxMiB: mib(samples.reduce((m, s) => Math.max(m, s.rssKiB), 0)),
    slopeMiBPerHour: Math.round(mib(slope) * 10) / 10,
    flat: lastMedian <= warmMedian * (1 + FLAT_TOLERANCE),
    curve,
  };
}

/** The report as text lines (what `deno task bench:soak` prints). */
export function formatSoak(r: SoakReport): string[] {
  const out: string[] = [];
  out.push(
    `soak: ${r.wallS} s wall, ${r.plan.slots} fault slots of ${r.plan.slotS} s, agent exit ${r.exitCode}`,
  );
  out.push(
    `incidents: expected ${r.expected}, created ${r.created}, resolved ${r.resolved}, ` +
      `stored resolved ${r.stored}; lost ${r.lost}, duplicates ${r.duplicates}, ` +
      `unexpected ${r.unexpected}`,
  );
  for (const f of r.floods.filter((f) => f.creates !== 1 || f.resolves !== 1 || f.rows !== 1)) {
    out.push(
      `  flood ${fmtMin(f.fromS)}-${fmtMin(f.toS)} (${f.during ?? "no fault"}): creates ` +
        `${f.creates}, resolves ${f.resolves}, rows ${f.rows} [${f.states.join(",")}]`,
    );
  }
  const kinds = new Map<string, FaultHealth[]>();
  for (const f of r.faults) kinds.set(f.kind, [...(kinds.get(f.kind) ?? []), f]);
  out.push(
    `faults injected: ${r.faults.length} (${
      [...kinds].map(([k, fs]) => `${k} x${fs.length}`).join(", ")
    })`,
  );
  for (const [kind, fs] of kinds) {
    out.push(
      `  ${kind.padEnd(9)} /health answered ${fs.reduce((n, f) => n + f.answered, 0)}, ` +
        `unanswered ${fs.reduce((n, f) => n + f.unanswered, 0)}, slowest ${
          Math.max(...fs.map((f) => f.slowestMs))
        } ms; took hold ${fs.filter((f) => f.tookHold).length}/${fs.length} (${fs[0].effect})`,
    );
  }
  out.push(
    `/health: ${r.health.probes} probes, ${r.health.unanswered} unanswered, slowest ` +
      `${r.health.slowestMs} ms; largest capture-progress age read ` +
      `${r.maxTickAgeS.toFixed(2)} s (checked every 1 s)`,
  );
  out.push(
    `state faults logged ${r.log.stateFaults.length}, writes resumed ${r.log.resumed}; ` +
      `warning/error lines ${r.log.problems.length}`,
  );
  // The warnings, alike ones (numbers aside) counted together.
  const alike = new Map<string, number>();
  for (const line of r.log.problems) {
    const key = line.replace(/^\S+ /, "").replace(/\d+(\.\d+)?/g, "N").slice(0, 160);
    alike.set(key, (alike.get(key) ?? 0) + 1);
  }
  for (const [line, n] of [...alike].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    out.push(`  ${n} x ${line}`);
  }
  out.push(`RSS curve (${r.rss.samples} samples, 1 s apart; min-max per ${r.plan.curveStepS} s):`);
  for (const line of r.rss.curve) out.push(`  ${line}`);
  out.push(
    `RSS: median after ${r.plan.warmupS} s warm-up ${r.rss.warmMedianMiB} MiB, last 20% ` +
      `${r.rss.lastMedianMiB} MiB, max ${r.rss.maxMiB} MiB, slope ${r.rss.slopeMiBPerHour} ` +
      `MiB/h: ${r.rss.flat ? "flat" : "GROWING"} (tolerance ${FLAT_TOLERANCE * 100}%)`,
  );
  return out;
}
