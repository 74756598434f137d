// LineSplitter: lines across chunk and decoding-piece boundaries, long and binary lines,
// UTF-8 split between chunks, holes of NUL bytes.
import { assertEquals } from "../../support/assert.ts";
import { LineSplitter } from "../../../core/l7/mod.ts";

function split(chunks: Uint8Array[], max?: number): { lines: string[]; s: LineSplitter } {
  const s = new LineSplitter(max);
  const lines: string[] = [];
  for (const c of chunks) s.push(c, (l) => lines.push(l));
  s.flush((l) => lines.push(l));
  return { lines, s };
}

const enc = (t: string) => new TextEncoder().encode(t);

Deno.test("LineSplitter gives every line once, whatever the chunking", () => {
  const want: string[] = [];
  for (let i = 0; i < 3000; i++) want.push(`line ${i} ` + "é".repeat(i % 50) + "x".repeat(i % 97));
  want.push("y".repeat(40_000)); // longer than a decoding piece, shorter than the limit
  want.push("last");
  const all = enc(want.join("\n") + "\n");
  for (const size of [1, 7, 4096, 16385, 100_000, all.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size));
    const { lines } = split(chunks);
    assertEquals(lines.length, want.length, `chunks of ${size}`);
    assertEquals(lines, want, `chunks of ${size}`);
  }
});

Deno.test("LineSplitter skips and counts long lines, binary lines and holes", () => {
  const { lines, s } = split(
    [
      enc("a\r\n" + "z".repeat(200) + "\nb\n"),
      new Uint8Array([0, 0, 0, 0]),
      enc("after hole\nbad\u0000line\nc"),
    ],
    100,
  );
  assertEquals(lines, ["a", "b", "after hole", "c"]);
  assertEquals([s.tooLong, s.binary, s.holeBytes], [1, 1, 4]);
});
