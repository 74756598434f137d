import { IpBlocklist, MAX_BLOCKLIST_INDICATORS } from "../../../core/classify/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";

Deno.test("IpBlocklist.match() finds addresses and the most specific network holding them", () => {
  const list = new IpBlocklist([
    "198.18.0.7",
    "198.19.0.0/16",
    "198.19.4.0/24",
    "2001:2::/48",
    "2001:2:0:1::5",
    "bad",
    "198.18.0.0/33",
  ]);
  assertEquals(list.size, 5);
  assertEquals(list.invalid, 2);
  assertEquals(list.firstInvalid, "bad");
  assertEquals(list.match("198.18.0.7"), "198.18.0.7");
  assertEquals(list.match("198.18.0.8"), null);
  assertEquals(list.match("198.19.4.200"), "198.19.4.0/24");
  assertEquals(list.match("198.19.77.1"), "198.19.0.0/16");
  assertEquals(list.match("2001:2:0:1::5"), "2001:2:0:1::5");
  assertEquals(list.match("2001:2:0:ffff::1"), "2001:2::/48");
  assertEquals(list.match("2001:3::1"), null);
  assertEquals(list.match("not an ip"), null);
  // An IPv6 network never holds IPv4 addresses, and the other way round.
  assertEquals(new IpBlocklist(["::/0"]).match("198.18.0.1"), null);
  assertEquals(new IpBlocklist(["0.0.0.0/0"]).match("2001:2::1"), null);
  assertEquals(new IpBlocklist(["0.0.0.0/0"]).match("198.18.0.1"), "0.0.0.0/0");
});

Deno.test("IpBlocklist keeps at most 50,000 indicators and looks up without scanning them", () => {
  const many: string[] = [];
  for (let i = 0; i < MAX_BLOCKLIST_INDICATORS + 10; i++) {
    many.push(
      i % 2 === 0
        ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
        : `2001:2::${i.toString(16)}`,
    );
  }
  const t0 = performance.now();
  const list = new IpBlocklist(many);
  const built = performance.now() - t0;
  assertEquals(list.size, MAX_BLOCKLIST_INDICATORS);
  assertEquals(list.invalid, 10);
  assertEquals(list.match("10.0.0.2"), "10.0.0.2");
  assertEquals(list.match("2001:2::3"), "2001:2::3");
  const t1 = performance.now();
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (list.match(`198.18.${(i >> 8) & 255}.${i & 255}`)) hits++;
  const perLookupUs = ((performance.now() - t1) * 1000) / 100_000;
  assertEquals(hits, 0);
  console.log(
    `50,000 indicators: built in ${built.toFixed(0)} ms, ${perLookupUs.toFixed(2)} us a lookup`,
  );
  // One probe per prefix length present (two here): microseconds, never a scan of 50,000.
  assert(perLookupUs < 50, `${perLookupUs} us a lookup`);
  assert(built < 5000, `${built} ms to build`);
});

Deno.test("IpBlocklist.flag() marks listed top sources and adds the evidence, without changing the event", () => {
  const list = new IpBlocklist(["198.18.0.0/24"]);
  const event: Record<string, unknown> & { top_src_ips: unknown[]; evidence: unknown } = {
    type: "incident",
    event: "open",
    id: "x",
    top_src_ips: [
      { ip: "198.18.0.9", count: 600 },
      { ip: "198.19.0.1", count: 300 },
      { ip: "198.18.0.10", count: 100 },
    ],
    evidence: { summary: "udp flood" },
  };
  const flagged = list.flag(event);
  assertEquals(flagged.top_src_ips, [
    { ip: "198.18.0.9", count: 600, threat_intel: true },
    { ip: "198.19.0.1", count: 300 },
    { ip: "198.18.0.10", count: 100, threat_intel: true },
  ]);
  assertEquals(flagged.evidence, {
    summary: "udp flood",
    threat_intel: { sources: 2, packets: 700, pct: 70, listed: ["198.18.0.9", "198.18.0.10"] },
  });
  assertEquals(event.top_src_ips[0], { ip: "198.18.0.9", count: 600 });
  assertEquals(event.evidence, { summary: "udp flood" });
  // Nothing listed: the same event.
  assert(new IpBlocklist(["203.0.113.0/24"]).flag(event) === event);
  assert(new IpBlocklist([]).flag(event) === event);
});
