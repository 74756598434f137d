import {
  FlowDecoder,
  type FlowDecoderOptions,
  FlowDrop,
  type FlowRecord,
} from "../../../core/flow/mod.ts";
import { formatAddress } from "../../../core/packet/mod.ts";
import { assertEquals } from "../../support/assert.ts";
import {
  Bytes,
  flowSet,
  ipfix,
  ipv4,
  netflowV9,
  optionsRecord,
  templateRecord,
  v9OptionsRecord,
} from "../../support/flow_fixtures.ts";

const T = 1_700_000_000;
const EXPORTER = Uint32Array.of(0, 0, 0xffff, ipv4("198.18.0.9"));
const OTHER = Uint32Array.of(0, 0, 0xffff, ipv4("198.18.0.10"));

/** src, dst, protocol, ports, packets, bytes: the template of most tests. */
const FIELDS: [number, number][] = [[8, 4], [12, 4], [4, 1], [7, 2], [11, 2], [2, 4], [1, 4]];

/** A data record of FIELDS. */
function flow(src: string, dst: string, proto: number, sport: number, dport: number, pkts = 1) {
  return new Bytes().u32(ipv4(src), ipv4(dst)).u8(proto).u16(sport, dport).u32(pkts, pkts * 100)
    .bytes;
}

function collector(options: FlowDecoderOptions = {}) {
  const flows: {
    src: string;
    dst: string;
    dport: number;
    packets: number;
    rate: number;
    r: FlowRecord;
  }[] = [];
  const decoder = new FlowDecoder({
    flow(r) {
      flows.push({
        src: formatAddress(r.src),
        dst: formatAddress(r.dst),
        dport: r.dstPort,
        packets: r.packets,
        rate: r.samplingRate,
        r: { ...r, src: r.src.slice(), dst: r.dst.slice() } as FlowRecord,
      });
    },
    sample() {},
    counters() {},
  }, options);
  const feed = (bytes: Uint8Array, nowUs = T * 1e6, from = EXPORTER) =>
    decoder.decode(bytes, 0, bytes.length, from, nowUs);
  return { decoder, flows, feed, drops: (r: number) => decoder.stats.drops[r] };
}

const tpl = (id = 256, fields = FIELDS) => flowSet(2, templateRecord(id, fields));
const data = (id: number, ...records: Uint8Array[]) => {
  const b = new Bytes();
  for (const r of records) b.raw(r);
  return flowSet(id, b.bytes);
};

Deno.test("TemplateDecoder decodes IPFIX data after its template, in the same or a later message", () => {
  const c = collector();
  c.feed(ipfix(T, 1, tpl(), data(256, flow("198.18.0.1", "198.18.0.2", 17, 5000, 53, 3))));
  c.feed(ipfix(T, 1, data(256, flow("198.18.0.3", "198.18.0.2", 6, 4000, 80))));
  assertEquals(c.flows.map((f) => [f.src, f.dst, f.dport, f.packets]), [
    ["198.18.0.1", "198.18.0.2", 53, 3],
    ["198.18.0.3", "198.18.0.2", 80, 1],
  ]);
  const r = c.flows[0].r;
  assertEquals([r.version, r.domain, r.ipVersion, r.protocol, r.bytes], [10, 1, 4, 17, 300]);
  assertEquals([r.firstUs, r.lastUs, r.samplingRate], [T * 1e6, T * 1e6, 1]);
  assertEquals(formatAddress(r.exporter), "198.18.0.9");
});

Deno.test("TemplateDecoder holds data sent before its template and decodes it when the template comes", () => {
  const c = collector();
  c.feed(ipfix(T, 1, data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53))));
  assertEquals([c.flows.length, c.decoder.heldSets, c.decoder.stats.held], [0, 1, 1]);
  c.feed(ipfix(T, 1, tpl()), T * 1e6 + 1e6);
  assertEquals(c.flows.map((f) => f.src), ["198.18.0.1"]);
  assertEquals([c.decoder.heldSets, c.decoder.stats.released], [0, 1]);
  // Data ahead of its template inside one message too.
  c.feed(ipfix(T, 1, data(257, flow("198.18.0.4", "198.18.0.2", 6, 1, 80)), tpl(257)));
  assertEquals(c.flows.map((f) => f.src), ["198.18.0.1", "198.18.0.4"]);
});

Deno.test("TemplateDecoder drops held data past its age or its bounds, counting UNKNOWN_TEMPLATE", () => {
  const c = collector({ maxHeldAgeUs: 2e6, maxHeldSets: 2 });
  const orphan = ipfix(T, 1, data(300, flow("198.18.0.1", "198.18.0.2", 17, 1, 53)));
  c.feed(orphan);
  c.feed(orphan);
  c.feed(orphan); // Third: past maxHeldSets.
  assertEquals([c.decoder.heldSets, c.drops(FlowDrop.UNKNOWN_TEMPLATE)], [2, 1]);
  c.feed(ipfix(T, 1), T * 1e6 + 3e6); // Any later message ages them out.
  assertEquals([c.decoder.heldSets, c.drops(FlowDrop.UNKNOWN_TEMPLATE)], [0, 3]);
  c.feed(ipfix(T, 1, tpl(300)), T * 1e6 + 3e6);
  assertEquals(c.flows.length, 0);
  const small = collector({ maxHeldBytes: 10 });
  small.feed(orphan);
  assertEquals([small.decoder.heldSets, small.drops(FlowDrop.UNKNOWN_TEMPLATE)], [0, 1]);
});

Deno.test("TemplateDecoder keeps templates apart per exporter and per observation domain", () => {
  const c = collector();
  c.feed(ipfix(T, 1, tpl()));
  c.feed(ipfix(T, 2, data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53)))); // Domain 2: unknown.
  c.feed(ipfix(T, 1, data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53))), T * 1e6, OTHER);
  assertEquals([c.flows.length, c.decoder.heldSets, c.decoder.exporters], [0, 2, 2]);
});

Deno.test("TemplateDecoder withdraws one IPFIX template, or all of a domain with id 2", () => {
  const c = collector();
  c.feed(ipfix(T, 1, tpl(256), tpl(257), flowSet(3, optionsRecord(258, 1, [[149, 4], [34, 4]]))));
  assertEquals(c.decoder.templates, 3);
  c.feed(ipfix(T, 1, flowSet(2, new Bytes().u16(256, 0).bytes)));
  assertEquals([c.decoder.templates, c.decoder.stats.withdrawals], [2, 1]);
  c.feed(ipfix(T, 1, data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53))));
  assertEquals([c.flows.length, c.decoder.heldSets], [0, 1]);
  c.feed(ipfix(T, 1, flowSet(2, new Bytes().u16(2, 0).bytes))); // All data templates.
  assertEquals(c.decoder.templates, 1); // The options template stays.
  c.feed(ipfix(T, 1, flowSet(3, new Bytes().u16(3, 0).bytes))); // All options templates.
  assertEquals(c.decoder.templates, 0);
});

Deno.test("TemplateDecoder skips IPFIX enterprise fields by their length", () => {
  const c = collector();
  const fields: [number, number][] = [[8, 4], [0x8000 | 12, 6], [12, 4], [11, 2], [2, 4]];
  c.feed(ipfix(T, 1, tpl(256, fields)));
  const rec = new Bytes().u32(ipv4("198.18.0.1")).raw([1, 2, 3, 4, 5, 6]).u32(ipv4("198.18.0.2"))
    .u16(53).u32(7).bytes;
  c.feed(ipfix(T, 1, data(256, rec, rec)));
  assertEquals(c.flows.map((f) => [f.src, f.dst, f.dport, f.packets]), [
    ["198.18.0.1", "198.18.0.2", 53, 7],
    ["198.18.0.1", "198.18.0.2", 53, 7],
  ]);
});

Deno.test("TemplateDecoder reads IPFIX variable-length fields, short and long (255) form", () => {
  const c = collector();
  c.feed(ipfix(T, 1, tpl(256, [[8, 4], [82, 65535], [12, 4], [2, 4]])));
  const short = new Bytes().u32(ipv4("198.18.0.1")).u8(3).raw([97, 98, 99]).u32(ipv4("198.18.0.2"))
    .u32(5).bytes;
  const long = new Bytes().u32(ipv4("198.18.0.3")).u8(255).u16(300).raw(new Uint8Array(300)).u32(
    ipv4("198.18.0.2"),
  ).u32(6).bytes;
  const cut = new Bytes().u32(ipv4("198.18.0.5")).u8(255).u16(2000).raw(new Uint8Array(10)).bytes; // Runs past the set.
  c.feed(ipfix(T, 1, data(256, short, long, cut)));
  assertEquals(c.flows.map((f) => [f.src, f.packets]), [["198.18.0.1", 5], ["198.18.0.3", 6]]);
  assertEquals(c.drops(FlowDrop.TRUNCATED_RECORD), 1);
});

Deno.test("TemplateDecoder applies IPFIX options sampling (IE 34, 305/306) to that domain's data", () => {
  const c = collector();
  const opt = flowSet(3, optionsRecord(400, 1, [[149, 4], [34, 4]]));
  c.feed(ipfix(T, 1, tpl(), opt, data(400, new Bytes().u32(1, 100).bytes)));
  c.feed(ipfix(T, 1, data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53))));
  c.feed(ipfix(T, 2, tpl(), data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53))));
  assertEquals(c.flows.map((f) => f.rate), [100, 1]);
  // samplingPacketInterval 1, samplingPacketSpace 9: one packet in 10 (softflowd's form).
  const opt2 = flowSet(3, optionsRecord(401, 1, [[149, 4], [305, 4], [306, 4]]));
  c.feed(ipfix(T, 2, opt2, data(401, new Bytes().u32(1, 1, 9).bytes)));
  c.feed(ipfix(T, 2, data(256, flow("198.18.0.1", "198.18.0.2", 17, 1, 53))));
  assertEquals(c.flows.at(-1)!.rate, 10);
});

Deno.test("TemplateDecoder maps v9 sampler ids (48) to their FLOW_SAMPLER_RANDOM_INTERVAL (50)", () => {
  const c = collector();
  const opts = flowSet(1, v9OptionsRecord(300, [[1, 4]], [[48, 1], [50, 4]]));
  const samplers = flowSet(300, new Bytes().u32(0).u8(1).u32(64).u32(0).u8(2).u32(1000).bytes);
  const fields: [number, number][] = [[8, 4], [12, 4], [48, 1], [2, 4]];
  const t = flowSet(0, templateRecord(256, fields));
  const rec = (sampler: number) =>
    new Bytes().u32(ipv4("198.18.0.1"), ipv4("198.18.0.2")).u8(sampler).u32(1).bytes;
  c.feed(
    netflowV9(
      1000,
      T,
      5,
      t,
      opts,
      samplers,
      flowSet(256, new Bytes().raw(rec(1)).raw(rec(2)).raw(rec(3)).bytes),
    ),
  );
  assertEquals(c.flows.map((f) => f.rate), [64, 1000, 1]);
  assertEquals(c.flows[0].r.version, 9);
  assertEquals(c.flows[0].r.domain, 5);
});

Deno.test("TemplateDecoder places v9 uptime times on the Unix clock, across the 2^32 ms wrap", () => {
  const c = collector();
  const fields: [number, number][] = [[8, 4], [12, 4], [22, 4], [21, 4]];
  const t = flowSet(0, templateRecord(256, fields));
  const rec = (first: number, last: number) =>
    new Bytes().u32(ipv4("198.18.0.1"), ipv4("198.18.0.2"), first, last).bytes;
  // Export at uptime 5000 ms: a flow 4000-4500 ms; one that began before the wrap.
  c.feed(
    netflowV9(
      5000,
      T,
      0,
      t,
      flowSet(256, new Bytes().raw(rec(4000, 4500)).raw(rec(0xffffff00, 1000)).bytes),
    ),
  );
  assertEquals(c.flows.map((f) => [f.r.firstUs - T * 1e6, f.r.lastUs - T * 1e6]), [
    [-1_000_000, -500_000],
    [-(5000 + 256) * 1000, -4_000_000],
  ]);
});

Deno.test("TemplateDecoder places IPFIX uptime times through systemInitTimeMilliseconds (160)", () => {
  const c = collector();
  const opt = flowSet(3, optionsRecord(400, 1, [[149, 4], [160, 8]]));
  const init = T * 1000 - 60_000; // Booted a minute before export.
  const optData = flowSet(400, new Bytes().u32(1, Math.floor(init / 2 ** 32), init >>> 0).bytes);
  const t = tpl(256, [[8, 4], [12, 4], [22, 4], [21, 4]]);
  const rec = new Bytes().u32(ipv4("198.18.0.1"), ipv4("198.18.0.2"), 50_000, 59_000).bytes;
  c.feed(ipfix(T, 1, opt, optData, t, data(256, rec)));
  assertEquals([c.flows[0].r.firstUs, c.flows[0].r.lastUs], [
    (init + 50_000) * 1000,
    (init + 59_000) * 1000,
  ]);
});

Deno.test("TemplateDecoder keeps its bounds: exporters, templates, fields and records", () => {
  const c = collector({
    maxExporters: 2,
    maxTemplatesPerExporter: 2,
    maxFieldsPerTemplate: 8,
    maxRecordsPerDatagram: 3,
  });
  c.feed(ipfix(T, 1, tpl(256), tpl(257), tpl(258)));
  assertEquals([c.decoder.templates, c.drops(FlowDrop.TEMPLATE_LIMIT)], [2, 1]);
  c.feed(ipfix(T, 1, tpl(256))); // Redefining a known template is always allowed.
  assertEquals(c.drops(FlowDrop.TEMPLATE_LIMIT), 1);
  c.feed(ipfix(T, 1, tpl(259, Array.from({ length: 9 }, (): [number, number] => [1, 4]))));
  assertEquals(c.drops(FlowDrop.TEMPLATE_TOO_LARGE), 1);
  const r = flow("198.18.0.1", "198.18.0.2", 17, 1, 53);
  c.feed(ipfix(T, 1, data(256, r, r, r, r, r)));
  assertEquals([c.flows.length, c.drops(FlowDrop.RECORD_LIMIT)], [3, 1]);
  c.feed(ipfix(T, 1), T * 1e6, OTHER);
  c.feed(ipfix(T, 1), T * 1e6, Uint32Array.of(0x20010002, 0, 0, 1));
  assertEquals([c.decoder.exporters, c.drops(FlowDrop.EXPORTER_LIMIT)], [2, 1]);
  // An exporter silent for the idle time gives its place.
  c.feed(ipfix(T, 1), T * 1e6 + 3600e6 + 1, Uint32Array.of(0x20010002, 0, 0, 1));
  assertEquals([c.decoder.exporters, c.drops(FlowDrop.EXPORTER_LIMIT)], [2, 1]);
});

Deno.test("TemplateDecoder counts malformed datagrams by reason and reads nothing past them", () => {
  const c = collector();
  c.feed(new Uint8Array([0, 10, 0, 16, 0, 0])); // IPFIX header cut.
  assertEquals(c.drops(FlowDrop.TRUNCATED_HEADER), 1);
  const msg = ipfix(T, 1, tpl());
  c.feed(msg.subarray(0, msg.length - 1)); // Length says one byte more than there is.
  assertEquals(c.drops(FlowDrop.BAD_LENGTH), 1);
  const badSet = msg.slice();
  badSet[18] = 0xff; // Set length past the message.
  c.feed(badSet);
  assertEquals(c.drops(FlowDrop.BAD_SET_LENGTH), 1);
  c.feed(ipfix(T, 1, tpl(12))); // Template id below 256.
  c.feed(ipfix(T, 1, tpl(256, [[8, 0]]))); // Records of zero length.
  c.feed(ipfix(T, 1, flowSet(2, new Bytes().u16(256, 3).u16(8, 4).bytes))); // Field list cut.
  c.feed(ipfix(T, 1, flowSet(3, optionsRecord(256, 0, [[34, 4]])))); // No scope field.
  c.feed(ipfix(T, 1, flowSet(3, optionsRecord(256, 2, [[34, 4]])))); // More scope than fields.
  const v9Opt = new Bytes().u16(256, 6, 4).u16(1, 4, 34, 4).bytes; // Scope length 6.
  c.feed(netflowV9(0, T, 0, flowSet(1, v9Opt)));
  c.feed(netflowV9(0, T, 0, flowSet(0, templateRecord(256, [[82, 65535]])))); // v9 length 65535.
  assertEquals(c.drops(FlowDrop.BAD_TEMPLATE), 7);
  c.feed(new Uint8Array([0, 7, 0, 0, 0, 0, 0, 0]));
  assertEquals(c.drops(FlowDrop.BAD_VERSION), 1);
  assertEquals([c.flows.length, c.decoder.templates], [0, 0]);
});

Deno.test("TemplateDecoder reads absolute, delta and ICMP fields, and a redefined template replaces the old", () => {
  const c = collector();
  const start = T * 1000 + 250;
  const abs = tpl(256, [[8, 4], [12, 4], [152, 8], [153, 8], [4, 1], [176, 1], [177, 1]]);
  const absRec = new Bytes().u32(ipv4("198.18.0.1"), ipv4("198.18.0.2"))
    .u32(Math.floor(start / 2 ** 32), start >>> 0, Math.floor(start / 2 ** 32), (start + 500) >>> 0)
    .u8(1, 8, 0).bytes;
  c.feed(ipfix(T, 1, abs, data(256, absRec)));
  const r = c.flows[0].r;
  assertEquals([r.firstUs, r.lastUs, r.icmpType, r.icmpCode], [
    start * 1000,
    (start + 500) * 1000,
    8,
    0,
  ]);
  // Same id, new fields: deltas before the export time (µs).
  c.feed(ipfix(T, 1, tpl(256, [[27, 16], [28, 16], [158, 4], [159, 4], [139, 2]])));
  const v6 = new Bytes().u32(0x20010002, 0, 0, 1, 0x20010002, 0, 0, 2, 3_000_000, 1_000_000).u16(
    0x8000,
  ).bytes;
  c.feed(ipfix(T, 1, data(256, v6)));
  const r6 = c.flows[1].r;
  assertEquals([c.flows[1].src, c.flows[1].dst, r6.ipVersion], ["2001:2::1", "2001:2::2", 6]);
  assertEquals([r6.firstUs, r6.lastUs, r6.icmpType], [T * 1e6 - 3e6, T * 1e6 - 1e6, 128]);
  assertEquals(c.decoder.templates, 1);
});
