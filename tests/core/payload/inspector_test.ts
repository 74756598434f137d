import { IpProto, PacketMeta, parseAddress } from "../../../core/packet/mod.ts";
import {
  HISTORY_SECONDS,
  MAX_BYTES_PER_SECOND,
  MAX_PAYLOADS_PER_SECOND,
  MAX_SCAN_BYTES,
  MAX_WATCHED,
  PayloadInspector,
} from "../../../core/payload/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";

const T = 1_800_000_000;
const enc = new TextEncoder();
const MIRAI = { pattern: "/bin/busybox MIRAI", attack_name: "mirai", attack_family: "botnet" };
const LOIC = { pattern: "LOIC", attack_name: "loic", attack_family: "tool" };

/** A frame buffer holding `payload` at offset 42, and a meta describing it as UDP. */
function packet(payload: Uint8Array, dst = "198.18.0.1", srcPort = 40000) {
  const buf = new Uint8Array(42 + payload.length);
  buf.set(payload, 42);
  const meta = new PacketMeta();
  meta.ipVersion = 4;
  meta.protocol = IpProto.UDP;
  meta.hasL4 = true;
  meta.srcPort = srcPort;
  meta.dstPort = 80;
  meta.payloadOffset = 42;
  meta.payloadLen = payload.length;
  meta.wireLen = buf.length;
  parseAddress("198.18.5.5", meta.src);
  parseAddress(dst, meta.dst);
  return { buf, meta };
}

/** Feeds `count` copies of a packet spread evenly over second `s` (epoch seconds). */
function feed(ins: PayloadInspector, p: ReturnType<typeof packet>, s: number, count: number) {
  for (let i = 0; i < count; i++) {
    p.meta.tsUs = Math.floor((s + i / count) * 1e6);
    ins.inspect(p.buf, p.meta);
  }
}

Deno.test("PayloadInspector inspects every payload while the traffic stays under the per-second bound", () => {
  const ins = new PayloadInspector([MIRAI]);
  feed(ins, packet(enc.encode("xx /bin/busybox MIRAI yy")), T, 500);
  assertEquals(ins.inspected, 500);
  assertEquals(ins.current().inspected, 500);
  assertEquals(ins.current().ioc, [{
    hit: "mirai:botnet",
    name: "mirai",
    family: "botnet",
    hits: 500,
  }]);
});

Deno.test("PayloadInspector inspects at most MAX_PAYLOADS_PER_SECOND payloads a second, spread over the whole second", () => {
  const ins = new PayloadInspector([MIRAI]);
  const p = packet(enc.encode("/bin/busybox MIRAI"));
  const rate = 50 * MAX_PAYLOADS_PER_SECOND;
  feed(ins, p, T, rate); // the first second: no step known yet, the bound cuts it
  assert(ins.inspected <= MAX_PAYLOADS_PER_SECOND, `${ins.inspected}`);
  // The next second: one in about 50, over the whole second.
  const before = ins.inspected;
  let firstHalf = 0;
  for (let i = 0; i < rate; i++) {
    p.meta.tsUs = Math.floor((T + 1 + i / rate) * 1e6);
    const was = ins.inspected;
    ins.inspect(p.buf, p.meta);
    if (ins.inspected > was && i < rate / 2) firstHalf++;
  }
  const second = ins.inspected - before;
  assert(second <= MAX_PAYLOADS_PER_SECOND && second >= 0.9 * MAX_PAYLOADS_PER_SECOND, `${second}`);
  assert(
    Math.abs(firstHalf - second / 2) < 0.1 * second,
    `${firstHalf} of ${second} in the first half`,
  );
  assertEquals(ins.current().ioc[0].hits, second);
});

Deno.test("PayloadInspector scans at most MAX_BYTES_PER_SECOND bytes a second and MAX_SCAN_BYTES of a payload", () => {
  const ins = new PayloadInspector([LOIC]);
  const big = new Uint8Array(9000);
  big.set(enc.encode("LOIC"), 8000); // past the scanned part of the payload
  const p = packet(big);
  feed(ins, p, T, 900);
  feed(ins, p, T + 1, 900);
  assert(ins.scannedBytes <= 2 * MAX_BYTES_PER_SECOND, `${ins.scannedBytes}`);
  assert(
    ins.inspected <= 2 * Math.ceil(MAX_BYTES_PER_SECOND / MAX_SCAN_BYTES) + 2,
    `${ins.inspected}`,
  );
  assertEquals(ins.current().ioc, []);
});

Deno.test("PayloadInspector counts a watched destination's payloads only, and the interface all of them", () => {
  const ins = new PayloadInspector([MIRAI, LOIC]);
  assert(ins.watch("198.18.0.1", T * 1e6));
  assert(ins.watch("interface", T * 1e6));
  feed(ins, packet(enc.encode("/bin/busybox MIRAI"), "198.18.0.1"), T, 100);
  feed(ins, packet(enc.encode("LOIC LOIC"), "198.18.0.2"), T, 40);
  const one = ins.findings("198.18.0.1")!;
  assertEquals([one.inspected, one.ioc.map((f) => [f.hit, f.hits])], [100, [[
    "mirai:botnet",
    100,
  ]]]);
  const all = ins.findings("interface")!;
  assertEquals(all.inspected, 140);
  assertEquals(all.ioc.map((f) => [f.hit, f.hits]), [["mirai:botnet", 100], ["loic:tool", 40]]);
  ins.unwatch("198.18.0.1");
  assertEquals(ins.findings("198.18.0.1"), null);
});

Deno.test("PayloadInspector.watch() seeds a target with the interface's counts of the seconds since its start", () => {
  const ins = new PayloadInspector([MIRAI]);
  const p = packet(enc.encode("/bin/busybox MIRAI"));
  feed(ins, p, T, 10);
  feed(ins, p, T + 1, 20);
  feed(ins, p, T + 2, 30);
  ins.watch("198.18.0.1", (T + 1.5) * 1e6);
  assertEquals(ins.findings("198.18.0.1")!.inspected, 50);
  // HISTORY_SECONDS later, second T + 2's counts make room for the new second's.
  feed(ins, p, T + 2 + HISTORY_SECONDS, 5);
  ins.watch("interface", T * 1e6);
  assertEquals(ins.findings("interface")!.inspected, 10 + 20 + 5);
});

Deno.test("PayloadInspector watches at most MAX_WATCHED targets and refuses what is not an address", () => {
  const ins = new PayloadInspector();
  for (let i = 0; i < MAX_WATCHED; i++) assert(ins.watch(`198.18.0.${i + 1}`, 0));
  assert(!ins.watch("198.18.1.1", 0));
  assert(ins.watch("198.18.0.1", 0)); // already watched
  ins.unwatch("198.18.0.3");
  assert(!ins.watch("not an address", 0));
  assert(ins.watch("2001:2::1", 0));
});

Deno.test("PayloadInspector.setPatterns() swaps the set at runtime and watched targets keep the hits of the old one", () => {
  const ins = new PayloadInspector([MIRAI]);
  ins.watch("198.18.0.1", T * 1e6);
  feed(ins, packet(enc.encode("/bin/busybox MIRAI LOIC")), T, 10);
  assertEquals(ins.setPatterns([MIRAI]), null);
  assertEquals(ins.setPatterns([LOIC]), []);
  assertEquals(ins.patterns, 1);
  feed(ins, packet(enc.encode("/bin/busybox MIRAI LOIC")), T + 1, 4);
  const f = ins.findings("198.18.0.1")!;
  assertEquals(f.inspected, 14);
  assertEquals(f.ioc.map((x) => [x.hit, x.hits]), [["mirai:botnet", 10], ["loic:tool", 4]]);
  assertEquals(ins.current().ioc.map((x) => x.hit), ["loic:tool"]);
});

Deno.test("PayloadInspector counts the built-in signatures of UDP answers beside the patterns", () => {
  const ins = new PayloadInspector();
  ins.watch("interface", T * 1e6);
  const monlist = new Uint8Array(440);
  monlist.set([0xd7, 0x00, 0x03, 0x2a]);
  feed(ins, packet(monlist, "198.18.0.1", 123), T, 90);
  feed(ins, packet(enc.encode("GET / HTTP/1.1\r\n")), T, 10);
  const f = ins.findings("interface")!;
  assertEquals(f.inspected, 100);
  assertEquals(f.signatures.map((s) => [s.name, s.service, s.hits]), [["ntp_monlist", "ntp", 90]]);
});

Deno.test("PayloadInspector leaves out outbound, malformed and empty packets", () => {
  const ins = new PayloadInspector([MIRAI]);
  const p = packet(enc.encode("/bin/busybox MIRAI"));
  p.meta.outbound = true;
  feed(ins, p, T, 10);
  p.meta.outbound = false;
  p.meta.malformed = 5;
  feed(ins, p, T, 10);
  p.meta.malformed = 0;
  p.meta.payloadLen = 0;
  feed(ins, p, T, 10);
  assertEquals(ins.inspected, 0);
});

Deno.test("PayloadInspector.setPatterns() leaves out a pattern over 512 bytes of UTF-8 with a line saying so, and keeps the others", () => {
  const ins = new PayloadInspector();
  const wide = { pattern: "ж".repeat(300), attack_name: "wide" }; // 300 chars, 600 bytes
  const refused = ins.setPatterns([wide, MIRAI])!;
  assertEquals(refused.length, 1);
  assertMatch(refused[0], /left out: 600 bytes of UTF-8 \(1 to 512\)/);
  assertEquals(ins.patterns, 1);
  feed(ins, packet(enc.encode("/bin/busybox MIRAI")), T, 3);
  assertEquals(ins.current().ioc.map((f) => f.hit), ["mirai:botnet"]);
  const many = Array.from({ length: 1001 }, (_, i) => ({ pattern: `p${i}` }));
  assertEquals(ins.setPatterns(many)!.length, 1);
  assertEquals(ins.patterns, 1000);
  assertEquals(ins.current().ioc, []);
});
