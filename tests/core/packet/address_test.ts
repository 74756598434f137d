import {
  formatAddress,
  formatAddressWords,
  isAddress,
  parseAddress,
} from "../../../core/packet/mod.ts";
import { assertEquals, assertThrows } from "../../support/assert.ts";
import { xorshift32 } from "../../support/random.ts";

Deno.test("formatAddress() prints IPv4-mapped addresses as dotted quads", () => {
  assertEquals(formatAddress([0, 0, 0xffff, 0xc0000201]), "192.0.2.1");
  assertEquals(formatAddress([0, 0, 0xffff, 0]), "0.0.0.0");
  assertEquals(formatAddress([0, 0, 0xffff, 0xffffffff]), "255.255.255.255");
  assertEquals(formatAddress(new Uint32Array([0, 0, 0xffff, 0x0a000001])), "10.0.0.1");
  // Signed words (as the sketches hold them) print the same.
  assertEquals(formatAddressWords(0, 0, 0xffff, 0xc0000201 | 0), "192.0.2.1");
});

Deno.test("formatAddress() compresses IPv6 as RFC 5952 says", () => {
  assertEquals(formatAddress([0, 0, 0, 0]), "::");
  assertEquals(formatAddress([0, 0, 0, 1]), "::1");
  assertEquals(formatAddress([0x20010db8, 0, 0, 1]), "2001:db8::1");
  assertEquals(formatAddress([0x20010db8, 0, 0, 0]), "2001:db8::");
  // Longest run of zero groups wins; the first on a tie.
  assertEquals(formatAddress([0x20010db8, 0, 1, 1]), "2001:db8::1:0:1");
  assertEquals(
    formatAddress([0x20010db8, 0x00000000, 0x00010000, 0x00000001]),
    "2001:db8::1:0:0:1",
  );
  assertEquals(formatAddress([0x20010000, 0, 0x00010000, 0]), "2001::1:0:0:0");
  assertEquals(formatAddress([0x20010000, 0x00010000, 0, 0]), "2001:0:1::");
  // A single zero group is not compressed.
  assertEquals(
    formatAddress([0x20010db8, 0x00000001, 0x00010001, 0x00010001]),
    "2001:db8:0:1:1:1:1:1",
  );
  // Lowercase hex, no leading zeros.
  assertEquals(formatAddress([0xfe800000, 0, 0x02aabbff, 0xfecc0dde]), "fe80::2aa:bbff:fecc:dde");
  // Only ::ffff:0:0/96 is dotted; IPv4-compatible and other embeddings stay hex.
  assertEquals(formatAddress([0, 0, 0, 0xc0000201]), "::c000:201");
  assertEquals(formatAddress([0x0064ff9b, 0, 0, 0xc0000201]), "64:ff9b::c000:201");
  assertEquals(formatAddress([0, 0, 0xfffe, 0xc0000201]), "::fffe:c000:201");
});

Deno.test("parseAddress() reads IPv4 into the mapped form", () => {
  assertEquals([...parseAddress("192.0.2.1")], [0, 0, 0xffff, 0xc0000201]);
  assertEquals([...parseAddress("0.0.0.0")], [0, 0, 0xffff, 0]);
  assertEquals([...parseAddress("255.255.255.255")], [0, 0, 0xffff, 0xffffffff]);
});

Deno.test("parseAddress() reads IPv6 text in every form", () => {
  assertEquals([...parseAddress("::")], [0, 0, 0, 0]);
  assertEquals([...parseAddress("::1")], [0, 0, 0, 1]);
  assertEquals([...parseAddress("2001:db8::1")], [0x20010db8, 0, 0, 1]);
  assertEquals([...parseAddress("2001:0DB8:0000:0000:0000:0000:0000:0001")], [0x20010db8, 0, 0, 1]);
  assertEquals([...parseAddress("1::")], [0x00010000, 0, 0, 0]);
  assertEquals([...parseAddress("1:2:3:4:5:6:7::")], [
    0x00010002,
    0x00030004,
    0x00050006,
    0x00070000,
  ]);
  assertEquals([...parseAddress("::2:3:4:5:6:7:8")], [
    0x00000002,
    0x00030004,
    0x00050006,
    0x00070008,
  ]);
  assertEquals([...parseAddress("::ffff:192.0.2.1")], [0, 0, 0xffff, 0xc0000201]);
  assertEquals([...parseAddress("64:ff9b::192.0.2.1")], [0x0064ff9b, 0, 0, 0xc0000201]);
  assertEquals([...parseAddress("1:2:3:4:5:6:1.2.3.4")], [
    0x00010002,
    0x00030004,
    0x00050006,
    0x01020304,
  ]);
});

Deno.test("parseAddress() writes into a given array", () => {
  const out = new Uint32Array(4);
  assertEquals(parseAddress("10.0.0.1", out), out);
  assertEquals([...out], [0, 0, 0xffff, 0x0a000001]);
});

Deno.test("parseAddress() rejects what is not an address", () => {
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.-4",
    " 1.2.3.4",
    "a.b.c.d",
    ":",
    ":::",
    "1::2::3",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "12345::",
    "g::1",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "::ffff:1.2.3",
    "::1.2.3.4:5",
    "fe80::1%eth0",
    "[::1]",
    "10.0.0.0/8",
  ];
  for (const text of bad) {
    assertThrows(() => parseAddress(text), /invalid/);
    assertEquals(isAddress(text), false, text);
  }
  assertEquals(isAddress("::1"), true);
  assertEquals(isAddress("10.1.2.3"), true);
});

Deno.test("formatAddress() and parseAddress() round-trip", () => {
  const next = xorshift32(0x12345678);
  for (let i = 0; i < 20_000; i++) {
    // Random words with random zero groups, so every compression shape turns up.
    const words = [0, 1, 2, 3].map(() => {
      const mask = next() & 3;
      return (next() & (mask & 1 ? 0xffff0000 : 0) | next() & (mask & 2 ? 0xffff : 0)) >>> 0;
    });
    if (i % 4 === 0) words.splice(0, 3, 0, 0, 0xffff);
    const text = formatAddress(words);
    assertEquals([...parseAddress(text)], words, text);
    assertEquals(formatAddress(parseAddress(text)), text);
  }
});
