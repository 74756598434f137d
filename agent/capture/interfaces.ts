/**
 * The machine's network interfaces: the list the setup wizard offers, and the one to watch
 * when the config says "auto".
 *
 * @module
 */

/** Interface name prefixes that are never the uplink (bridges, containers, tunnels, veths). */
const SKIPPED_PREFIXES: readonly string[] = [
  "lo",
  "docker",
  "br-",
  "veth",
  "virbr",
  "tun",
  "tap",
  "cni",
  "flannel",
  "cali",
];

/**
 * The interface to capture on: `override` (a flag) when given, else the config's `interface`,
 * where `"auto"` means {@linkcode chooseInterface}.
 */
export function captureDevice(configured: string, override?: string): string {
  return override ?? (configured === "auto" ? chooseInterface() : configured);
}

/**
 * The interface carrying the IPv4 default route, else the one with the most received bytes
 * (skipping {@linkcode SKIPPED_PREFIXES}). Throws a one-line error when there is none.
 */
export function chooseInterface(
  routeTable: string = readOr("/proc/net/route"),
  devTable: string = readOr("/proc/net/dev"),
): string {
  for (const line of routeTable.split("\n").slice(1)) {
    const [name, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (destination === "00000000" && mask === "00000000" && !skipped(name)) return name;
  }
  let best = "";
  let bestBytes = -1;
  for (const line of devTable.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const rxBytes = Number(line.slice(colon + 1).trim().split(/\s+/)[0]);
    if (!skipped(name) && rxBytes > bestBytes) {
      best = name;
      bestBytes = rxBytes;
    }
  }
  if (best === "") {
    throw new Error(
      'no interface to capture on: pass --interface or set "interface" in the config',
    );
  }
  return best;
}

/** Names of the interfaces under `dir` (`/sys/class/net`), sorted; empty when unreadable. */
export function listInterfaces(dir: string = "/sys/class/net"): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

function skipped(name: string): boolean {
  return SKIPPED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/**
 * The host's own addresses (IPv6 zone ids dropped): of interface `device`, of every interface
 * but loopback for `"any"`, of every interface when no device is given; none when they cannot
 * be read. The agent protects them when the config names no networks, and never blocks them.
 */
export function interfaceAddresses(device?: string): string[] {
  try {
    return Deno.networkInterfaces()
      .filter((i) =>
        device === undefined || (device === "any" ? !i.name.startsWith("lo") : i.name === device)
      )
      .map((i) => i.address.replace(/%.*$/, ""));
  } catch {
    return [];
  }
}
