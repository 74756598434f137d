/**
 * The machine's network interfaces, as the setup wizard offers them.
 *
 * @module
 */

/** Names of the interfaces under `dir` (`/sys/class/net`), sorted; empty when unreadable. */
export function listInterfaces(dir: string = "/sys/class/net"): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}
