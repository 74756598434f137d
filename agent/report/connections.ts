/**
 * The host's open TCP connections (`conn_count` of the metrics report): ESTABLISHED entries
 * of /proc/net/tcp and /proc/net/tcp6.
 *
 * @module
 */

/** Established TCP connections of the host's network namespace (0 when /proc is unreadable). */
export async function establishedConnections(): Promise<number> {
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    // Columns: sl local_address rem_address st ...; state 01 is ESTABLISHED.
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "01") n++;
    }
  }
  return n;
}
