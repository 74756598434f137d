// The schedule of a soak run: a paced capture of web traffic with SYN floods at known times,
// and the faults injected around them (API answering 503, API port closed, the state database
// held by another process, the state disk full), cycled slot after slot.
import { CORPUS } from "./cli.ts";
import { framesOf, webFrames, writeSplice } from "./splice.ts";

/** The faults a soak cycles through, in this order. */
export const FAULT_CYCLE = ["api-503", "db-lock", "api-down", "disk-full"] as const;

/** One kind of fault. */
export type FaultKind = typeof FAULT_CYCLE[number];

/** Times are seconds of the capture (after T0), which the agent plays at the recorded pace. */
export interface SoakPlan {
  /** Quiet traffic before the first slot (the agent warms up). */
  leadS: number;
  /** Number of slots; slot k starts at leadS + k * slotS and injects FAULT_CYCLE[k % 4]. */
  slots: number;
  slotS: number;
  /** When the fault starts in its slot, and how long it lasts (the DB lock: dbLockS). */
  faultAtS: number;
  faultS: number;
  dbLockS: number;
  /** Floods of each slot, [from, to) seconds after the slot's start. */
  floods: [number, number][];
  floodPps: number;
  backgroundPps: number;
  /** Quiet traffic after the last slot (deliveries catch up before the capture ends). */
  tailS: number;
  /** RSS samples before this are warm-up (not judged for flatness). */
  warmupS: number;
  /** Width of one line of the printed RSS curve. */
  curveStepS: number;
}

/** The bench's plan: `minutes` of capture, one-minute slots, two floods per slot. */
export function soakPlan(minutes: number): SoakPlan {
  const leadS = 10;
  const tailS = 90;
  return {
    leadS,
    slots: Math.max(4, Math.floor((minutes * 60 - leadS - tailS) / 60)),
    slotS: 60,
    faultAtS: 5,
    faultS: 20,
    dbLockS: 12,
    // One flood inside the fault, one in the quiet half of the slot.
    floods: [[8, 20], [36, 46]],
    floodPps: 3000,
    backgroundPps: 100,
    tailS,
    warmupS: 120,
    curveStepS: 60,
  };
}

/** The CI form: one slot per fault kind, a flood inside each fault (about 90 s of capture). */
export function shortSoakPlan(): SoakPlan {
  return {
    leadS: 6,
    slots: FAULT_CYCLE.length,
    slotS: 16,
    faultAtS: 1,
    faultS: 12,
    dbLockS: 12,
    floods: [[3, 9]],
    floodPps: 3000,
    backgroundPps: 100,
    tailS: 24,
    warmupS: 20,
    curveStepS: 15,
  };
}

/** Seconds of capture the plan plays. */
export function planSeconds(plan: SoakPlan): number {
  return plan.leadS + plan.slots * plan.slotS + plan.tailS;
}

/** One flood of the plan (capture seconds) and the fault it overlaps, if any. */
export interface PlannedFlood {
  fromS: number;
  toS: number;
  during: FaultKind | null;
}

/** One fault of the plan (capture seconds). */
export interface PlannedFault {
  kind: FaultKind;
  fromS: number;
  toS: number;
}

/** The faults of the plan, in order. */
export function plannedFaults(plan: SoakPlan): PlannedFault[] {
  return Array.from({ length: plan.slots }, (_, k) => {
    const kind = FAULT_CYCLE[k % FAULT_CYCLE.length];
    const fromS = plan.leadS + k * plan.slotS + plan.faultAtS;
    return { kind, fromS, toS: fromS + (kind === "db-lock" ? plan.dbLockS : plan.faultS) };
  });
}

/** The floods of the plan, in order. */
export function plannedFloods(plan: SoakPlan): PlannedFlood[] {
  const faults = plannedFaults(plan);
  const out: PlannedFlood[] = [];
  for (let k = 0; k < plan.slots; k++) {
    for (const [from, to] of plan.floods) {
      const fromS = plan.leadS + k * plan.slotS + from;
      const toS = plan.leadS + k * plan.slotS + to;
      const f = faults.find((f) => f.fromS < toS && fromS < f.toS);
      out.push({ fromS, toS, during: f?.kind ?? null });
    }
  }
  return out;
}

/**
 * Writes the plan's capture to `path`: web traffic to `victim` throughout and the corpus SYN
 * flood in each planned flood. Written slot by slot (a long capture never sits in memory).
 */
export async function writeSoakCapture(
  path: string,
  plan: SoakPlan,
  victim: string,
): Promise<void> {
  const syn = await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`);
  const web = webFrames(victim);
  const floods = plannedFloods(plan);
  const segment = `${path}.part`;
  const out = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const edges = [0, plan.leadS];
    for (let k = 1; k <= plan.slots; k++) edges.push(plan.leadS + k * plan.slotS);
    edges.push(planSeconds(plan));
    for (let i = 0; i + 1 < edges.length; i++) {
      const [fromS, toS] = [edges[i], edges[i + 1]];
      await writeSplice(segment, [
        { frames: web, fromS, toS, pps: plan.backgroundPps },
        ...floods.filter((f) => f.fromS >= fromS && f.fromS < toS).map((f) => ({
          frames: syn,
          fromS: f.fromS,
          toS: f.toS,
          pps: plan.floodPps,
        })),
      ]);
      const bytes = await Deno.readFile(segment);
      // Every segment after the first goes on without its 24-byte file header.
      const body = i === 0 ? bytes : bytes.subarray(24);
      for (let at = 0; at < body.length;) at += await out.write(body.subarray(at));
    }
  } finally {
    out.close();
    await Deno.remove(segment).catch(() => {});
  }
}

/** "mm:ss" of a soak time in seconds. */
export function fmtMin(s: number): string {
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, "0")}:${String(Math.floor(s - m * 60)).padStart(2, "0")}`;
}
