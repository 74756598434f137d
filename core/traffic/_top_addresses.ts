// The top-address lists of a window's snapshot: guaranteed counts of a Space-Saving table.
import type { SpaceSaving, SpaceSavingEntry } from "../sketch/mod.ts";
import { formatAddressWords } from "../packet/mod.ts";
import { traitsAt } from "./_source_traits.ts";
import type { TopAddress } from "./window_stats.ts";

/**
 * The `n` keys with the highest guaranteed counts (Space-Saving's count minus its error): a
 * listed count is evidence ("at least this many"), never an estimate inflated by evictions, and
 * keys that cannot be shown to have sent anything are left out.
 */
function guaranteedTop(table: SpaceSaving, n: number): SpaceSavingEntry[] {
  return table.top(table.capacity)
    .map((e) => ({ key: e.key, count: e.count - e.error, error: 0 }))
    .filter((e) => e.count > 0)
    .sort((a, b) => b.count - a.count || compareKeys(a.key, b.key))
    .slice(0, n);
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3];
}

/** The `n` top keys as addresses, with their traits when `traits` (a table of source traits). */
export function topAddresses(table: SpaceSaving, n: number, traits = false): TopAddress[] {
  return guaranteedTop(table, n).map((e) => {
    const [w0, w1, w2, w3] = e.key;
    const out: TopAddress = { ip: formatAddressWords(w0, w1, w2, w3), count: e.count };
    if (traits && table.sideWidth > 0) {
      out.traits = traitsAt(table.side, table.slotOf(w0, w1, w2, w3));
    }
    return out;
  });
}
