import { FlowDecoder, type FlowDecoderOptions, FlowDrop } from "../../../core/flow/mod.ts";
import { formatAddress, TcpFlag } from "../../../core/packet/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import { Bytes, flowDatagrams, ipv4 } from "../../support/flow_fixtures.ts";

const T = 1_700_000_000;
const EXPORTER = Uint32Array.of(0, 0, 0xffff, ipv4("198.18.0.9"));

function collector(options: FlowDecoderOptions = {}) {
  const seen: string[] = [];
  const decoder = new FlowDecoder({
    flow(r) {
      seen.push(
        `flow ${formatAddress(r.src)}>${formatAddress(r.dst)}:${r.dstPort} p${r.protocol} ` +
          `${r.packets}/${r.bytes} x${r.samplingRate} ${r.firstUs - T * 1e6}..${
            r.lastUs - T * 1e6
          }`,
      );
    },
    sample(m, s) {
      seen.push(
        `sample ${formatAddress(m.src)}>${formatAddress(m.dst)}:${m.dstPort} p${m.protocol} ` +
          `f${m.tcpFlags} frag${m.fragment} wire${m.wireLen} x${s.samplingRate} in${s.inputIf} ` +
          `t${m.tsUs - T * 1e6}`,
      );
    },
    counters(c) {
      seen.push(`counters if${c.ifIndex} in${c.inOctets} out${c.outOctets}`);
    },
  }, options);
  const feed = (bytes: Uint8Array) => decoder.decode(bytes, 0, bytes.length, EXPORTER, T * 1e6);
  return { decoder, seen, feed, drops: (r: number) => decoder.stats.drops[r] };
}

/** A NetFlow v5 datagram at uptime 10 s, export T, with `records` (first, last ms). */
function v5(records: [string, string, number, number, number][], count = records.length) {
  const b = new Bytes().u16(5, count).u32(10_000, T, 0, 1).u8(1, 2).u16(0x4000 | 50);
  for (const [src, dst, dport, first, last] of records) {
    b.u32(ipv4(src), ipv4(dst), 0).u16(1, 2).u32(3, 300, first, last).u16(1234, dport)
      .u8(0, TcpFlag.SYN, 6, 0).u16(0, 0).u8(24, 24).u16(0);
  }
  return b.bytes;
}

Deno.test("decodeNetflowV5 reads fixed records with times from sysUptime and the header's rate", () => {
  const c = collector();
  c.feed(v5([["198.18.0.1", "198.18.0.2", 80, 9_000, 9_500]]));
  assertEquals(c.seen, ["flow 198.18.0.1>198.18.0.2:80 p6 3/300 x50 -1000000..-500000"]);
});

Deno.test("decodeNetflowV5 drops a datagram whose count runs past it, and short or foreign ones", () => {
  const c = collector();
  c.feed(v5([["198.18.0.1", "198.18.0.2", 80, 1, 1]], 2));
  assertEquals(c.drops(FlowDrop.BAD_LENGTH), 1);
  c.feed(v5([]).subarray(0, 20));
  assertEquals(c.drops(FlowDrop.TRUNCATED_HEADER), 1);
  const only9 = collector({ protocol: "netflow_v9" });
  only9.feed(v5([["198.18.0.1", "198.18.0.2", 80, 1, 1]]));
  assertEquals([only9.seen.length, only9.drops(FlowDrop.BAD_VERSION)], [0, 1]);
  const limited = collector({ maxRecordsPerDatagram: 1 });
  limited.feed(
    v5([["198.18.0.1", "198.18.0.2", 80, 1, 1], ["198.18.0.1", "198.18.0.2", 81, 1, 1]]),
  );
  assertEquals([limited.seen.length, limited.drops(FlowDrop.RECORD_LIMIT)], [1, 1]);
  assertEquals(c.seen.length, 0);
});

/** An IPv4 UDP packet 198.18.0.1:5000 -> 198.18.0.2:53 (raw, no link header), `mf` a first fragment. */
function udpPacket(mf = false): Uint8Array {
  return new Bytes().u8(0x45, 0).u16(36, 0, mf ? 0x2000 : 0).u8(64, 17).u16(0)
    .u32(ipv4("198.18.0.1"), ipv4("198.18.0.2")).u16(5000, 53, 16, 0).raw(new Uint8Array(8)).bytes;
}

/** An sFlow v5 datagram (IPv4 agent) of `samples` ([format, body]). */
function sflow(samples: [number, Uint8Array][]): Uint8Array {
  const b = new Bytes().u32(5, 1, ipv4("198.18.0.9"), 3, 1, 1000, samples.length);
  for (const [format, body] of samples) b.u32(format, body.length).raw(body);
  return b.bytes;
}

/** A raw packet header record (format 1): protocol, frame length, stripped, header. */
function rawHeader(proto: number, frame: number, header: Uint8Array): Uint8Array {
  const pad = (4 - header.length % 4) % 4;
  return new Bytes().u32(1, 16 + header.length + pad, proto, frame, 4, header.length).raw(header)
    .raw(new Uint8Array(pad)).bytes;
}

/** A flow sample (format 1) of rate 512 with `records`. */
function flowSample(...records: Uint8Array[]): Uint8Array {
  const b = new Bytes().u32(1, 7, 512, 5120, 0, 3, 4, records.length);
  for (const r of records) b.raw(r);
  return b.bytes;
}

Deno.test("decodeSflow decodes raw headers with the packet decoder, weighted by the sampling rate", () => {
  const c = collector();
  const unknown = new Bytes().u32(1001, 4, 0).bytes; // Extended switch: skipped.
  c.feed(sflow([[1, flowSample(unknown, rawHeader(11, 40, udpPacket(true)))]]));
  assertEquals(c.seen, ["sample 198.18.0.1>198.18.0.2:53 p17 f0 frag1 wire36 x512 in3 t0"]);
  assertEquals(c.decoder.stats.skipped, 1);
});

Deno.test("decodeSflow reads expanded flow samples and both kinds of counter samples", () => {
  const c = collector();
  const expanded = new Bytes().u32(1, 0, 7, 100, 1000, 0, 0, 9, 0, 4, 1)
    .raw(rawHeader(11, 40, udpPacket())).bytes;
  const generic = new Bytes().u32(1, 88, 5, 6, 0, 1e9, 1, 3, 0, 123456).raw(new Uint8Array(24))
    .u32(0, 654321).raw(new Uint8Array(24)).bytes;
  const counters = new Bytes().u32(1, 5, 1).raw(generic).bytes;
  const expandedCounters = new Bytes().u32(2, 0, 5, 1).raw(generic).bytes;
  c.feed(sflow([[3, expanded], [2, counters], [4, expandedCounters], [0x123 << 12 | 1, counters]]));
  assertEquals(c.seen, [
    "sample 198.18.0.1>198.18.0.2:53 p17 f0 frag0 wire36 x100 in9 t0",
    "counters if5 in123456 out654321",
    "counters if5 in123456 out654321",
  ]);
  assertEquals(c.decoder.stats.skipped, 1); // The enterprise sample.
});

Deno.test("decodeSflow counts bad samples, address types and header protocols, and stops at the datagram's end", () => {
  const c = collector();
  c.feed(sflow([[1, flowSample(rawHeader(99, 40, udpPacket()))]]));
  assertEquals(c.drops(FlowDrop.UNKNOWN_HEADER_PROTOCOL), 1);
  const long = sflow([[1, flowSample(rawHeader(11, 40, udpPacket()))]]);
  c.feed(long.subarray(0, long.length - 8)); // The sample's length runs past the datagram.
  assertEquals(c.drops(FlowDrop.BAD_SAMPLE), 1);
  const badType = sflow([]);
  badType[7] = 3;
  c.feed(badType);
  assertEquals(c.drops(FlowDrop.BAD_ADDRESS_TYPE), 1);
  c.feed(new Bytes().u32(5, 1, 0).bytes);
  assertEquals(c.drops(FlowDrop.TRUNCATED_HEADER), 1);
  const lying = rawHeader(11, 40, udpPacket());
  lying[23] = 200; // Header length past its record.
  c.feed(sflow([[1, flowSample(lying)]]));
  assertEquals(c.drops(FlowDrop.BAD_SAMPLE), 2);
  assertEquals(c.seen, []);
});

Deno.test("FlowDecoder with a fixed protocol refuses the others as BAD_VERSION", () => {
  const c = collector({ protocol: "ipfix" });
  for (const d of flowDatagrams("sflow").slice(0, 3)) c.feed(d.bytes);
  assertEquals([c.seen.length, c.drops(FlowDrop.BAD_VERSION)], [0, 3]);
});
