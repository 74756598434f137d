/**
 * The agent's stop as a list of named steps run one after another, each in its own `try`: a
 * step that throws is logged in one line and the next steps still run (mitigation is undone,
 * captures closed, the baseline saved and the database closed whatever failed before).
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** One step of a stop: a name for the log line and the work. */
export interface StopStep {
  /** What the step does, e.g. "undo mitigation". */
  name: string;
  /** The work; may be async; what it throws is logged, not passed on. */
  run: () => unknown;
}

/**
 * Runs every step in order; each failure is one error line naming the step. Returns the names
 * of the steps that failed (none: an empty list).
 */
export async function runStopSteps(log: Logger, steps: readonly StopStep[]): Promise<string[]> {
  const failed: string[] = [];
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      failed.push(step.name);
      const error = err instanceof Error ? err.message : String(err);
      log.error("stop: {step} failed, going on: {error}", {
        step: step.name,
        error: error.split("\n")[0],
      });
    }
  }
  return failed;
}
