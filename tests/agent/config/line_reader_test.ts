import { LineReader } from "../../../agent/config/mod.ts";
import { assertEquals } from "../../support/assert.ts";

Deno.test("LineReader joins lines split across reads and keeps a last line without newline", async () => {
  const chunks = ["ab", "c\r\nde", "f\n\nlast"].map((s) => new TextEncoder().encode(s));
  const reader = new LineReader({
    read: (p) => {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      p.set(chunk);
      return Promise.resolve(chunk.length);
    },
  });
  const lines = [];
  for (let line = await reader.line(); line !== null; line = await reader.line()) lines.push(line);
  assertEquals(lines, ["abc", "def", "", "last"]);
});
