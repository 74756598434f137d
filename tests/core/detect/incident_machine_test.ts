import { defaultConfig, type DetectionConfig } from "../../../core/config/mod.ts";
import {
  IncidentMachine,
  MachineState,
  MachineStep,
  type TargetTraffic,
} from "../../../core/detect/mod.ts";
import { assertEquals, assertMatch } from "../../support/assert.ts";

const CFG: DetectionConfig = {
  ...defaultConfig(),
  fast_open_multiple: 3,
  confirm_seconds: 3,
  bulk_confirm_seconds: 15,
  attack_holddown: 10,
  attack_cooldown: 30,
  incident_update_seconds: 5,
};
const SYN = 2;

/** The traffic a machine is told about: set its fields to shape the next steps. */
class Traffic implements TargetTraffic {
  elsewhere = false;
  session: string | null = null;
  flow: string | null = null;
  short = 1.5;
  asked: string[] = [];
  explainedElsewhere(): boolean {
    this.asked.push("elsewhere");
    return this.elsewhere;
  }
  sessionShape(): string | null {
    this.asked.push("session");
    return this.session;
  }
  flowShape(): string | null {
    this.asked.push("flow");
    return this.flow;
  }
  shortRatio(): number {
    this.asked.push("short");
    return this.short;
  }
}

/** A machine stepped every 100 ms from `fromS` to `toS` (exclusive) at `ratio`; the steps taken. */
function run(
  m: IncidentMachine,
  traffic: Traffic,
  fromS: number,
  toS: number,
  ratio: number,
  cfg = CFG,
): [number, number][] {
  const steps: [number, number][] = [];
  for (let t = Math.round(fromS * 10); t < Math.round(toS * 10); t++) {
    const s = m.step(cfg, t * 100_000, ratio, SYN, traffic);
    if (s !== MachineStep.NONE) steps.push([t / 10, s]);
  }
  return steps;
}

Deno.test("IncidentMachine suspects a target when a rate goes over its threshold", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  assertEquals(run(m, traffic, 0, 1, 0.9), []);
  assertEquals(m.step(CFG, 1_000_000, 1.2, SYN, traffic), MachineStep.SUSPECT);
  assertEquals([m.state, m.overSinceUs, m.trigger], [MachineState.SUSPECTED, 1_000_000, SYN]);
});

Deno.test("IncidentMachine leaves a target idle when other targets explain its excess", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.elsewhere = true;
  assertEquals(run(m, traffic, 0, 5, 4), []);
  assertEquals(m.state, MachineState.IDLE);
});

Deno.test("IncidentMachine releases a suspected target as soon as no rate is over", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  run(m, traffic, 0, 1, 1.5);
  assertEquals(m.step(CFG, 1_000_000, 0.99, SYN, traffic), MachineStep.RELEASE);
  assertEquals(m.state, MachineState.IDLE);
});

Deno.test("IncidentMachine opens at once when the last 300 ms reach the fast multiple", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.short = 3 * 0.97; // the 3% allowance for slot edges
  assertEquals(run(m, traffic, 0, 0.2, 3), [[0, MachineStep.SUSPECT], [0.1, MachineStep.OPEN]]);
  assertEquals(m.state, MachineState.ACTIVE);
  assertMatch(m.rule, /^fast: syn_pps at 2\.9x threshold over the last 300 ms$/);
});

Deno.test("IncidentMachine opens once the excess over the threshold sums to confirm_seconds / 3", () => {
  const traffic = new Traffic();
  traffic.short = 2.8;
  // 1 threshold-second of excess: 2 s at 1.5x, 1 s at 2x.
  const slow = new IncidentMachine();
  assertEquals(run(slow, traffic, 0, 5, 1.5), [[0, MachineStep.SUSPECT], [2, MachineStep.OPEN]]);
  assertMatch(
    slow.rule,
    /^confirmed: syn_pps over threshold \(1\.5x\) for 2\.0 s, excess 1\.00 threshold-seconds$/,
  );
  const faster = new IncidentMachine();
  assertEquals(run(faster, traffic, 0, 5, 2), [[0, MachineStep.SUSPECT], [1, MachineStep.OPEN]]);
});

Deno.test("IncidentMachine opens after confirm_seconds over the threshold however small the excess", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  const steps = run(m, traffic, 0, 5, 1.05);
  assertEquals(steps, [[0, MachineStep.SUSPECT], [3, MachineStep.OPEN]]);
  assertMatch(m.rule, /^confirmed: syn_pps over threshold \(1\.1x\) for 3\.0 s/);
});

Deno.test("IncidentMachine never opens traffic shaped like legitimate sessions, and says why", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.session = "completed TCP sessions";
  traffic.short = 10;
  assertEquals(run(m, traffic, 0, 30, 10), [[0, MachineStep.SUSPECT]]);
  assertEquals(m.state, MachineState.SUSPECTED);
  assertMatch(m.held, /^not opened: syn_pps .* legitimate sessions \(completed TCP sessions\)$/);
});

Deno.test("IncidentMachine opens traffic shaped like legitimate flows only after bulk_confirm_seconds", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.flow = "97% TCP";
  traffic.short = 10; // far over the fast multiple: the shape decides
  const steps = run(m, traffic, 0, 20, 10);
  assertEquals(steps, [[0, MachineStep.SUSPECT], [15, MachineStep.OPEN]]);
  assertMatch(m.rule, /^sustained: .* although shaped like legitimate flows \(97% TCP\)$/);
});

Deno.test("IncidentMachine stays active while a rate is over and resolves attack_holddown after the last second over", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.short = 5;
  run(m, traffic, 0, 0.2, 5);
  assertEquals(m.state, MachineState.ACTIVE);
  run(m, traffic, 0.2, 4, 5);
  const under = run(m, traffic, 4, 20, 0.5);
  assertEquals(m.lastOverUs, 3_900_000);
  assertEquals(under.filter(([, s]) => s === MachineStep.RESOLVE), [[13.9, MachineStep.RESOLVE]]);
  assertEquals(m.state, MachineState.COOLDOWN);
});

Deno.test("IncidentMachine asks for an update every incident_update_seconds while open", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.short = 5;
  const steps = run(m, traffic, 0, 12.1, 5);
  assertEquals(steps, [
    [0, MachineStep.SUSPECT],
    [0.1, MachineStep.OPEN],
    [5.1, MachineStep.UPDATE],
    [
      10.1,
      MachineStep.UPDATE,
    ],
  ]);
});

Deno.test("IncidentMachine opens nothing during the cooldown, then suspects again", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.short = 5;
  run(m, traffic, 0, 1, 5);
  run(m, traffic, 1, 11, 0); // resolves at 10.9 s
  assertEquals(m.state, MachineState.COOLDOWN);
  assertEquals(run(m, traffic, 11, 40.9, 5), []);
  assertEquals(m.step(CFG, 40_900_000, 5, SYN, traffic), MachineStep.SUSPECT);
});

Deno.test("IncidentMachine.finish() resolves an open incident and releases a suspected target", () => {
  const open = new IncidentMachine();
  const traffic = new Traffic();
  traffic.short = 5;
  run(open, traffic, 0, 1, 5);
  assertEquals(open.finish(CFG, 2_000_000), MachineStep.RESOLVE);
  assertEquals([open.state, open.cooldownUntilUs], [MachineState.COOLDOWN, 32_000_000]);
  const suspected = new IncidentMachine();
  traffic.short = 1;
  run(suspected, traffic, 0, 1, 1.5);
  assertEquals(suspected.finish(CFG, 2_000_000), MachineStep.RELEASE);
  assertEquals(suspected.state, MachineState.IDLE);
  assertEquals(new IncidentMachine().finish(CFG, 2_000_000), MachineStep.NONE);
});

Deno.test("IncidentMachine asks about the traffic only when a rule needs it", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  run(m, traffic, 0, 1, 0.5);
  assertEquals(traffic.asked, []); // idle and under: nothing to ask
  m.step(CFG, 1_000_000, 1.5, SYN, traffic);
  assertEquals(traffic.asked, ["elsewhere"]);
  m.step(CFG, 1_100_000, 1.5, SYN, traffic);
  assertEquals(traffic.asked, ["elsewhere", "elsewhere", "session", "flow", "short"]);
});

Deno.test("IncidentMachine releases a suspected target once destinations explain its excess", () => {
  const m = new IncidentMachine();
  const traffic = new Traffic();
  traffic.short = 1; // below the fast multiple: confirmation takes a while
  assertEquals(m.step(CFG, 1_000_000, 1.5, SYN, traffic), MachineStep.SUSPECT);
  assertEquals(m.step(CFG, 1_100_000, 1.5, SYN, traffic), MachineStep.NONE);
  traffic.elsewhere = true; // the destinations' own rates rose: they carry it now
  assertEquals(m.step(CFG, 1_200_000, 1.5, SYN, traffic), MachineStep.RELEASE);
  assertEquals(m.state, MachineState.IDLE);
});
