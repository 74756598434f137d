import { DnsQuestion, LinkType, readDnsQuestion } from "../../../core/packet/mod.ts";
import { DnsNames, Pipeline, type WindowStats } from "../../../core/traffic/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { eth, EtherType, ipv4, udp } from "../../support/frames.ts";

/** A DNS message: a query for `name` of type `qtype`, or a response with `response`. */
function dns(name: string, qtype = 1, response = false): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  return new Uint8Array([
    0x12,
    0x34,
    response ? 0x81 : 0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    ...labels,
    0,
    qtype >> 8,
    qtype & 255,
    0,
    1,
  ]);
}

Deno.test("readDnsQuestion() reads the name's hashes, its zone and the query type", () => {
  const q = new DnsQuestion();
  const a = dns("Www.Example.TEST", 28);
  assertEquals(readDnsQuestion(a, 0, a.length, q), true);
  assertEquals(q.qtype, 28);
  const { nameHash, zoneHash } = q;
  const b = dns("www.example.test");
  readDnsQuestion(b, 0, b.length, q);
  assertEquals([q.nameHash, q.zoneHash], [nameHash, zoneHash]); // case does not matter
  const c = dns("x1y2.example.test");
  readDnsQuestion(c, 0, c.length, q);
  assertEquals(q.zoneHash, zoneHash);
  assertEquals(q.nameHash === nameHash, false);
});

Deno.test("readDnsQuestion() refuses responses, cut messages and compressed names", () => {
  const q = new DnsQuestion();
  const response = dns("www.example.test", 1, true);
  assertEquals(readDnsQuestion(response, 0, response.length, q), false);
  const query = dns("www.example.test");
  assertEquals(readDnsQuestion(query, 0, query.length - 3, q), false);
  const pointer = new Uint8Array([...query.slice(0, 12), 0xc0, 0x0c, 0, 1, 0, 1]);
  assertEquals(readDnsQuestion(pointer, 0, pointer.length, q), false);
});

/** Window statistics of DNS queries to 198.18.0.1 for `names`, through a pipeline. */
function statsOf(names: string[]): WindowStats {
  let stats: WindowStats | null = null;
  const pipeline = new Pipeline((w) => stats = w.snapshot(3));
  names.forEach((name, i) => {
    const frame = eth(
      EtherType.IPV4,
      ipv4(17, udp(40000 + i, 53, dns(name)), { src: "198.18.17.1", dst: "198.18.0.1" }),
    );
    pipeline.packet(frame, 0, frame.length, frame.length, 1e15 + i, LinkType.EN10MB);
  });
  pipeline.flush();
  return stats!;
}

Deno.test("Window counts the DNS queries of its packets: total, distinct names, top names and zones", () => {
  const names = [...Array(30).fill("www.example.test"), ...Array(10).fill("mail.example.test")];
  const dnsStats = statsOf(names).dns;
  assertEquals(dnsStats.total, 40);
  assertEquals(dnsStats.unique, 2);
  assertEquals(dnsStats.top, [["www.example.test", 30], ["mail.example.test", 10]]);
  assertEquals(dnsStats.top_zones, [["example.test", 40]]);
  assertEquals(dnsStats.qtypes, { A: 40 });
});

Deno.test("DnsNames shows random-subdomain queries as distinct names under one zone", () => {
  const names = Array.from({ length: 200 }, (_, i) => `r${i * 7919}q.example.test`);
  const dnsStats = statsOf(names).dns;
  assertEquals(dnsStats.total, 200);
  assertEquals(Math.abs(dnsStats.unique - 200) <= 6, true); // HyperLogLog estimate
  assertEquals(dnsStats.top_zones[0], ["example.test", 200]);
});

Deno.test("DnsNames.merge() adds queries and keeps the union of names", () => {
  const a = new DnsNames();
  const b = new DnsNames();
  const q = new DnsQuestion();
  for (
    const [set, name] of [[a, "www.example.test"], [b, "www.example.test"], [
      b,
      "x.example.test",
    ]] as const
  ) {
    const m = dns(name);
    readDnsQuestion(m, 0, m.length, q);
    set.add(m, q);
  }
  a.merge(b);
  const s = a.snapshot();
  assertEquals([s.total, s.unique], [3, 2]);
  assertEquals(s.top[0], ["www.example.test", 2]);
});
