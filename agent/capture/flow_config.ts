/**
 * The `flow_*` config keys as the flow collector's options, and their application to a running
 * collector (the server's `flow` block, a reload).
 *
 * @module
 */

import type { FlowConfig } from "../../core/config/mod.ts";
import type { FlowSource, FlowSourceOptions } from "./flow_source.ts";

/** The collector options of the `flow_*` config keys. */
export function flowSourceOptions(c: FlowConfig): FlowSourceOptions {
  return {
    protocol: c.flow_protocol,
    bind: c.flow_bind,
    port: c.flow_port,
    sampleRate: c.flow_sample_rate,
    sourceIps: c.flow_source_ips,
  };
}

/**
 * Applies a merged config's `flow_*` keys to the running collector (`source`; null: the agent
 * captures instead), one line each through `say`: a `flow_enabled` that differs from what runs
 * applies at the next start; a failed rebind keeps the running socket.
 */
export async function applyFlowConfig(
  source: FlowSource | null,
  c: FlowConfig,
  say: { info(message: string): void; warn(message: string): void },
): Promise<void> {
  if (c.flow_enabled !== (source !== null)) {
    say.warn(
      `flow_enabled=${c.flow_enabled} applies at the next start (the agent now ${
        source === null ? "captures packets" : "collects flows"
      })`,
    );
  }
  if (source === null) return;
  try {
    const changed = await source.reconfigure(flowSourceOptions(c));
    if (changed.length > 0) say.info(`flow collector: ${changed.join(", ")}`);
  } catch (err) {
    say.warn(`flow collector keeps ${source.name}: ${(err as Error).message}`);
  }
}
