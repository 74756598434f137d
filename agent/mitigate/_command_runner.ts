// One server command, all or nothing: every step is checked first (parse, protected flows,
// backend, settings in force, what an undo names), then applied in order; when a step fails
// the steps before it are put back as they were. Used by the Mitigator only.
import {
  actionKey,
  type CommandOp,
  describeAction,
  isServerObject,
  type MitigationAction,
  parseServerCommand,
  type ProtectedFlows,
  protectedRefusal,
} from "../../core/mitigate/mod.ts";
import type { ActionRecord, MitigationStore } from "../state/mod.ts";
import type { CommandOutcome, MitigatorOptions } from "./mitigator_types.ts";

/** What the runner needs from the Mitigator. */
export interface CommandContext {
  /** The Mitigator's options. */
  o: MitigatorOptions;
  /** The clock (ms). */
  now: () => number;
  /** Whether pushed commands are applied (else they are only recorded as dry runs). */
  applies: boolean;
  /** The flows no action may cut. */
  protection: () => Promise<ProtectedFlows> | ProtectedFlows;
  /** Makes the firewall table ready (the first command to need it). */
  ensureTable: () => Promise<void>;
  /** Records `actions` as proposed when every cap lets all of them through (ids), or the reason. */
  admitAll: (incident: string, actions: MitigationAction[]) => number[] | string;
  /** Records an action in a final state. */
  record: (
    incident: string,
    a: MitigationAction,
    state: "dry_run" | "refused",
    why: string,
  ) => void;
  /** Applies a recorded action; null or the error. */
  applyRow: (id: number) => Promise<string | null>;
  /** Undoes an applied action (never throws). */
  undoRow: (row: ActionRecord, why: string) => Promise<void>;
}

/** Runs one server command; never throws. */
export async function runCommand(command: unknown, ctx: CommandContext): Promise<CommandOutcome> {
  const { o } = ctx;
  const parsed = parseServerCommand(command, {
    ttlS: o.settings.ttl_seconds,
    allowlist: o.allowlist,
  });
  const incident = `command:${parsed.id ?? "?"}`;
  const refused = (reason: string): CommandOutcome => {
    o.log.warn("mitigation {incident}: refused: {reason}", { incident, reason });
    return { status: "failed", error: reason };
  };
  if (!parsed.ok) return refused(parsed.reason);
  const resolved = resolveSets(parsed.ops, o.store.active());
  if (typeof resolved === "string") return refused(resolved);
  const ops = resolved;
  const many = new Set(ops.map((op) => op.line)).size > 1;
  const at = (line: number) => (many ? `line ${line}: ` : "");
  const flows = await ctx.protection();
  const undone = new Map<number, ActionRecord[]>();
  const active = o.store.active();
  for (const [i, op] of ops.entries()) {
    if (op.undo) {
      const key = actionKey(op.action);
      const rows = active.filter((r) => r.incident.startsWith("command:") && r.key === key);
      if (rows.length === 0) {
        return refused(
          `${at(op.line)}no rule the server added is in force for this (${
            describeAction(op.action).replace(/ for \d+ s$/, "")
          }): never added, expired or deleted`,
        );
      }
      // A set goes with its elements.
      const a = op.action;
      const elements = a.type === "server_set"
        ? active.filter((r) => r.action.type === "set_element" && r.action.set === a.name)
        : [];
      undone.set(i, [...elements, ...rows]);
      continue;
    }
    const why = protectedRefusal(op.action, flows);
    if (why !== null) return refused(`${at(op.line)}${why}`);
    if (isServerObject(op.action) && o.enforcer.backend.name !== "nftables") {
      return refused(`${at(op.line)}this rule needs mitigation.backend nftables`);
    }
    const a = op.action;
    if (a.type === "sysctl") {
      const other = active.find((r) =>
        r.action.type === "sysctl" && r.action.key === a.key && r.action.value !== a.value
      );
      if (other !== undefined && other.action.type === "sysctl") {
        return refused(
          `${
            at(op.line)
          }${a.key} is set to ${other.action.value} by ${other.incident} until it ends`,
        );
      }
    }
  }
  const adds = ops.filter((op) => !op.undo);
  if (!ctx.applies) {
    const why = "mitigation.server_commands is dry_run: not applied";
    for (const op of adds) {
      ctx.record(incident, op.action, "dry_run", why);
      o.log.info("mitigation {incident}: dry run, would {action}", {
        incident,
        action: describeAction(op.action),
      });
    }
    return { status: "failed", error: why };
  }
  if (adds.some((op) => o.enforcer.backend.handles(op.action))) await ctx.ensureTable();
  const ids = ctx.admitAll(incident, adds.map((op) => op.action));
  if (typeof ids === "string") return refused(ids);
  // Applied in order; on a failure, everything before it is put back.
  const applied: number[] = [];
  const released: ActionRecord[] = [];
  let next = 0;
  for (const [i, op] of ops.entries()) {
    if (op.undo) {
      for (const row of undone.get(i)!) {
        await ctx.undoRow(row, `deleted by ${incident}`);
        released.push(row);
      }
      continue;
    }
    const id = ids[next++];
    const error = await ctx.applyRow(id);
    if (error === null) {
      applied.push(id);
      continue;
    }
    for (const rest of ids.slice(next)) o.store.failed(rest, `not applied: line ${op.line} failed`);
    await rollBack(ctx, o.store, applied, released, incident);
    const back = applied.length + released.length > 0
      ? " (the steps before it were rolled back)"
      : "";
    return { status: "failed", error: `${at(op.line)}${error}${back}` };
  }
  return { status: "applied", error: null };
}

/** Undoes what the command applied and re-applies what it deleted, newest first. */
async function rollBack(
  ctx: CommandContext,
  store: MitigationStore,
  applied: number[],
  released: ActionRecord[],
  incident: string,
): Promise<void> {
  for (const id of applied.toReversed()) {
    const row = store.get(id);
    if (row !== null) await ctx.undoRow(row, `rolled back: ${incident} failed`);
  }
  const now = ctx.now();
  for (const row of released.toReversed()) {
    const left = Math.ceil(((row.expires_at ?? now) - now) / 1000);
    if (left < 1) continue;
    try {
      const detail = await ctx.o.enforcer.apply({ ...row.action, ttl_s: left }, row.incident);
      store.applied(
        row.id,
        row.applied_at ?? now,
        row.expires_at ?? now,
        detail ?? row.detail,
        "restored",
      );
    } catch (err) {
      ctx.o.log.error("mitigation {incident}: restoring {action} failed: {error}", {
        incident: row.incident,
        action: describeAction(row.action),
        error: (err as Error).message,
      });
    }
  }
}

/**
 * Fills in what a step's sets mean now: an element of a set the server created (in force, or
 * earlier in the same command) takes the set's kind; an element of any other set is the
 * agent's own source drop (as `ipset add` always was); a rule may only match a server set that
 * exists, and a set may not be destroyed while a rule in force uses it. Steps, or the refusal.
 */
function resolveSets(ops: CommandOp[], active: ActionRecord[]): CommandOp[] | string {
  const many = new Set(ops.map((op) => op.line)).size > 1;
  const at = (line: number) => (many ? `line ${line}: ` : "");
  const sets = new Map<string, { kind: "ip" | "net"; family: "ip" | "ip6" }>();
  for (const r of active) if (r.action.type === "server_set") sets.set(r.action.name, r.action);
  const out: CommandOp[] = [];
  for (const op of ops) {
    const a = op.action;
    if (a.type === "server_set") {
      if (op.undo) {
        const user = active.find((r) =>
          r.action.type === "server_rule" && r.action.match_set?.name === a.name &&
          !ops.some((o) => o.undo && actionKey(o.action) === r.key)
        );
        if (user !== undefined) {
          return `${
            at(op.line)
          }set ${a.name} is used by a rule of ${user.incident}: delete the rule first`;
        }
        sets.delete(a.name);
      } else {
        const had = sets.get(a.name);
        if (had !== undefined && (had.kind !== a.kind || had.family !== a.family)) {
          return `${at(op.line)}set ${a.name} exists as hash:${had.kind} ${had.family}`;
        }
        sets.set(a.name, a);
      }
    } else if (a.type === "set_element") {
      const set = sets.get(a.set);
      if (set === undefined) {
        const action = { type: "drop_source", source: a.element, protocol: null, ttl_s: a.ttl_s };
        out.push({ ...op, action: action as MitigationAction });
        continue;
      }
      if ((set.family === "ip6") !== a.element.includes(":")) {
        return `${at(op.line)}${a.element} does not belong in the ${set.family} set ${a.set}`;
      }
      if (set.kind === "ip" && a.element.includes("/")) {
        return `${at(op.line)}set ${a.set} is hash:ip: no networks`;
      }
      out.push({ ...op, action: { ...a, kind: set.kind } });
      continue;
    } else if (a.type === "server_rule" && a.match_set !== null) {
      const set = sets.get(a.match_set.name);
      if (set === undefined && !op.undo) {
        return `${at(op.line)}set ${a.match_set.name} does not exist (ipset create it first)`;
      }
      if (set !== undefined && set.family !== a.family) {
        return `${at(op.line)}set ${a.match_set.name} is not an ${a.family} set`;
      }
    }
    out.push(op);
  }
  return out;
}
