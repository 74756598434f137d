// Deterministic UUIDs: the same input gives the same id, so a replay gives the same incidents.
import { fmix32 } from "./hash.ts";

/** A version-8 (custom) UUID from 122 bits of a hash of `text`. */
export function deterministicUuid(text: string): string {
  const words = new Uint32Array(4);
  for (let lane = 0; lane < 4; lane++) {
    let h = 0x9e3779b9 ^ Math.imul(lane + 1, 0x85ebca6b);
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    words[lane] = fmix32(h ^ text.length) >>> 0;
  }
  words[1] = (words[1] & 0xffff0fff) | 0x00008000; // version 8
  words[2] = (words[2] & 0x3fffffff) | 0x80000000; // RFC 9562 variant
  const hex = Array.from(words, (w) => w.toString(16).padStart(8, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}
