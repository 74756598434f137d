// The Mitigator's options and the outcome of a server command (see mitigator.ts).
import type { Logger } from "@logtape/logtape";
import type { Allowlist, ProtectedFlows } from "../../core/mitigate/mod.ts";
import type { MitigationSettings } from "../../core/config/mod.ts";
import type { Enforcer } from "./enforcer.ts";
import type { MitigationStore } from "../state/mod.ts";

/** Outcome of a server command, as acknowledged to the server. */
export interface CommandOutcome {
  /** What the acknowledgement says. */
  status: "applied" | "failed";
  /** Why it failed, or null. */
  error: string | null;
}

/** What {@linkcode Mitigator} works with. */
export interface MitigatorOptions {
  /** The config's `mitigation` section. */
  settings: MitigationSettings;
  /** Applies and undoes actions (firewall, Cloudflare). */
  enforcer: Enforcer;
  /** Where every action is recorded. */
  store: MitigationStore;
  /** Addresses never blocked. */
  allowlist: Allowlist;
  /** Where every step is told. */
  log: Logger;
  /** Clock in ms (tests may pass their own). */
  now?: () => number;
  /**
   * Whether a control plane may push commands (the node reports to one: an `api_key`); with
   * `settings.server_commands` "apply" the firewall is then made ready at start. False if left out.
   */
  reporting?: boolean;
  /**
   * The flows no action may cut (read again before each firewall change, so addresses learnt
   * later are exempted too); none but loopback and neighbour discovery when left out.
   */
  protection?: () => Promise<ProtectedFlows> | ProtectedFlows;
}
