/**
 * Tables of the `Window` counters' layout that the window's code indexes by packet
 * field: the protocol class of an IP protocol number and the packet-length classes.
 *
 * @module
 */

/** Protocol class (0 TCP, 1 UDP, 2 ICMP, 3 GRE, 4 other) of each IP protocol number. */
export const PROTO_CLASS: Uint8Array = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256).fill(4);
  t[6] = 0;
  t[17] = 1;
  t[1] = 2;
  t[58] = 2;
  t[47] = 3;
  return t;
})();

/** Labels of the packet-length classes, in {@linkcode lenClass} order. */
export const LEN_LABELS = [
  "0-64",
  "65-128",
  "129-256",
  "257-512",
  "513-1024",
  "1025-1500",
  "1500+",
] as const;

/** The packet-length class (index into {@linkcode LEN_LABELS}) of a `len`-byte packet. */
export function lenClass(len: number): number {
  return len <= 256
    ? (len <= 64 ? 0 : len <= 128 ? 1 : 2)
    : len <= 1024
    ? (len <= 512 ? 3 : 4)
    : len <= 1500
    ? 5
    : 6;
}
