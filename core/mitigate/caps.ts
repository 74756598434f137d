/**
 * Safety caps on mitigation: at most N actions applied per minute, at most M blocked sources in
 * force at once. Pure: the time and the count of entries in force are passed in.
 *
 * @module
 */

import type { MitigationAction } from "./action.ts";

/** Counts toward the blocked-entries cap: actions that block one source. */
function blocksSource(a: MitigationAction): boolean {
  return a.type === "drop_source" || a.type === "cloudflare_rule" || a.type === "set_element";
}

/** A sliding one-minute budget of actions. */
export class ActionBudget {
  readonly #times: number[] = [];

  /** `perMinute` actions may be taken in any 60 s. */
  constructor(readonly perMinute: number) {}

  /** Takes one action's worth at `nowMs`; false (and nothing taken) when the budget is spent. */
  take(nowMs: number): boolean {
    while (this.#times.length > 0 && this.#times[0] <= nowMs - 60_000) this.#times.shift();
    if (this.#times.length >= this.perMinute) return false;
    this.#times.push(nowMs);
    return true;
  }
}

/** The actions the caps let through, and the refused ones with the reason. */
export interface CappedActions {
  /** The actions within every cap. */
  allowed: MitigationAction[];
  /** The actions a cap refused, each with the reason. */
  refused: { action: MitigationAction; reason: string }[];
}

/**
 * Applies both caps to `actions`, in order: `blocked` sources are in force already, the budget
 * is charged for each allowed action.
 */
export function capActions(
  actions: readonly MitigationAction[],
  blocked: number,
  maxBlocked: number,
  budget: ActionBudget,
  nowMs: number,
): CappedActions {
  const out: CappedActions = { allowed: [], refused: [] };
  let inForce = blocked;
  for (const action of actions) {
    if (blocksSource(action) && inForce >= maxBlocked) {
      out.refused.push({ action, reason: `blocked entries cap (${maxBlocked}) reached` });
      continue;
    }
    if (!budget.take(nowMs)) {
      out.refused.push({ action, reason: `actions per minute cap (${budget.perMinute}) reached` });
      continue;
    }
    if (blocksSource(action)) inForce++;
    out.allowed.push(action);
  }
  return out;
}
