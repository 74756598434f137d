import {
  FlowDecoder,
  type FlowRecord,
  type FlowSample,
  type InterfaceCounters,
} from "../../../core/flow/mod.ts";
import { formatAddress, type PacketMeta, TcpFlag } from "../../../core/packet/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import {
  type Datagram,
  flowDatagrams,
  hasTshark,
  tsharkFields,
} from "../../support/flow_fixtures.ts";

/** What the decoder gave for a list of datagrams. */
interface Decoded {
  decoder: FlowDecoder;
  flows: {
    src: string;
    dst: string;
    srcPort: number;
    dstPort: number;
    protocol: number;
    tcpFlags: number;
    packets: number;
    bytes: number;
    firstUs: number;
    lastUs: number;
    rate: number;
    ipVersion: number;
  }[];
  samples: { src: string; dst: string; protocol: number; flags: number; rate: number }[];
  agents: Set<string>;
  counters: { ifIndex: number; inOctets: number; outOctets: number; speed: number }[];
}

function decodeAll(datagrams: Datagram[]): Decoded {
  const out: Decoded = {
    decoder: null!,
    flows: [],
    samples: [],
    agents: new Set(),
    counters: [],
  };
  out.decoder = new FlowDecoder({
    flow(r: FlowRecord) {
      out.flows.push({
        src: formatAddress(r.src),
        dst: formatAddress(r.dst),
        srcPort: r.srcPort,
        dstPort: r.dstPort,
        protocol: r.protocol,
        tcpFlags: r.tcpFlags,
        packets: r.packets,
        bytes: r.bytes,
        firstUs: r.firstUs,
        lastUs: r.lastUs,
        rate: r.samplingRate,
        ipVersion: r.ipVersion,
      });
    },
    sample(m: PacketMeta, s: FlowSample) {
      out.agents.add(`${formatAddress(s.agent)}/${s.subAgent}`);
      out.samples.push({
        src: formatAddress(m.src),
        dst: formatAddress(m.dst),
        protocol: m.protocol,
        flags: m.tcpFlags,
        rate: s.samplingRate,
      });
    },
    counters(c: InterfaceCounters) {
      out.counters.push({
        ifIndex: c.ifIndex,
        inOctets: c.inOctets,
        outOctets: c.outOctets,
        speed: c.ifSpeed,
      });
    },
  });
  for (const d of datagrams) out.decoder.decode(d.bytes, 0, d.bytes.length, d.src, d.tsUs);
  return out;
}

const sorted = (values: (string | number)[]) => values.map(String).sort();
const tshark = await hasTshark();

for (
  const [name, port, rate] of [
    ["netflow_v5", 2055, 1],
    ["netflow_v9", 2055, 1],
    ["ipfix", 4739, 1],
    ["netflow_v9_sampled", 2055, 4],
    ["ipfix_sampled", 4739, 4],
  ] as const
) {
  Deno.test(`FlowDecoder reads softflowd's ${name} datagrams as tshark does`, {
    ignore: !tshark,
  }, async () => {
    const got = decodeAll(flowDatagrams(name));
    assertEquals(got.decoder.stats.dropped, 0);
    const fields = await tsharkFields(name, port, "cflow", [
      "cflow.srcaddr",
      "cflow.dstaddr",
      "cflow.srcaddrv6",
      "cflow.dstaddrv6",
      "cflow.srcport",
      "cflow.dstport",
      "cflow.protocol",
      "cflow.packets",
      "cflow.octets",
    ]);
    const v4 = got.flows.filter((f) => f.ipVersion === 4);
    const v6 = got.flows.filter((f) => f.ipVersion === 6);
    assertEquals(v4.length + v6.length, got.flows.length);
    assertEquals(fields.get("cflow.packets")!.length, got.flows.length);
    assertEquals(sorted(v4.map((f) => f.src)), sorted(fields.get("cflow.srcaddr")!));
    assertEquals(sorted(v4.map((f) => f.dst)), sorted(fields.get("cflow.dstaddr")!));
    assertEquals(sorted(v6.map((f) => f.src)), sorted(fields.get("cflow.srcaddrv6")!));
    assertEquals(sorted(v6.map((f) => f.dst)), sorted(fields.get("cflow.dstaddrv6")!));
    assertEquals(sorted(got.flows.map((f) => f.packets)), sorted(fields.get("cflow.packets")!));
    assertEquals(sorted(got.flows.map((f) => f.bytes)), sorted(fields.get("cflow.octets")!));
    assertEquals(sorted(got.flows.map((f) => f.protocol)), sorted(fields.get("cflow.protocol")!));
    // v5 has ports in every record (ICMP type/code in the destination port); softflowd's v9
    // and IPFIX ICMP templates have none.
    const ported = name === "netflow_v5" ? got.flows : got.flows.filter((f) =>
      f.protocol !== 1 &&
      f.protocol !== 58
    );
    assertEquals(sorted(ported.map((f) => f.srcPort)), sorted(fields.get("cflow.srcport")!));
    assertEquals(sorted(ported.map((f) => f.dstPort)), sorted(fields.get("cflow.dstport")!));
    // What make_flows.sh sent: 200 SYNs to :80 from source ports 40000-40199 (one flow each, SYN
    // set; the sender's RST to the SYN-ACK joins it),
    // every record sampled at the exporter's rate, times within the capture.
    const syns = got.flows.filter((f) =>
      f.dstPort === 80 && f.src === "198.18.0.1" && f.srcPort >= 40000 && f.srcPort < 40200 &&
      (f.tcpFlags & TcpFlag.SYN) !== 0
    );
    assert(syns.length > (rate === 1 ? 190 : 20), `SYN flows: ${syns.length}`);
    assert(got.flows.every((f) => f.rate === rate));
    const datagrams = flowDatagrams(name);
    const first = datagrams[0].tsUs - 120e6;
    const last = datagrams.at(-1)!.tsUs + 1e6;
    assert(got.flows.every((f) => f.firstUs >= first && f.lastUs <= last && f.firstUs <= f.lastUs));
    if (name !== "netflow_v5") assert(v6.some((f) => f.protocol === 58 && f.src === "2001:2::1"));
  });
}

Deno.test("FlowDecoder reads pmacct sfprobe's sFlow datagrams as tshark does", {
  ignore: !tshark,
}, async () => {
  const got = decodeAll(flowDatagrams("sflow"));
  assertEquals(got.decoder.stats.dropped, 0);
  assertEquals([...got.agents], ["198.18.0.2/7"]);
  const fields = await tsharkFields("sflow", 6343, "sflow", [
    "sflow.flow_sample.sampling_rate",
    "sflow_245.header.frame_length",
    "sflow_245.ifinoct",
    "sflow_245.ifspeed",
    "tcp.flags",
  ]);
  const rates = fields.get("sflow.flow_sample.sampling_rate")!;
  assertEquals(got.samples.length, rates.length);
  assertEquals(sorted(got.samples.map((s) => s.rate)), sorted(rates));
  // Every TCP header tshark saw inside the samples, with the same flags.
  const flags = got.samples.filter((s) => s.protocol === 6).map((s) => s.flags);
  assertEquals(sorted(flags), sorted(fields.get("tcp.flags")!.map((f) => parseInt(f, 16))));
  assertEquals(got.counters.map((c) => String(c.inOctets)), fields.get("sflow_245.ifinoct"));
  assertEquals(got.counters.map((c) => String(c.speed)), fields.get("sflow_245.ifspeed"));
  assert(got.samples.some((s) => s.flags === TcpFlag.SYN && s.dst === "198.18.0.2"));
  assert(got.samples.some((s) => s.protocol === 58 && s.src === "2001:2::1"));
});

Deno.test("FlowDecoder counts pmacct's malformed IPv6-agent sFlow datagrams and survives them", () => {
  // pmacct 1.7.7 writes the IPv6 agent address two bytes short (tshark: "Malformed Packet").
  const got = decodeAll(flowDatagrams("sflow_agent6"));
  assertEquals(got.decoder.stats.datagrams, 47);
  assert(got.decoder.stats.dropped > 0);
  assertEquals(got.flows.length, 0);
});

Deno.test("FlowDecoder reads an IPv6 agent address (pmacct's datagrams with the address fixed)", () => {
  // The real IPv4-agent datagrams, re-addressed as agent 2001:2::2 (type 2, 16 bytes).
  const fixed = flowDatagrams("sflow").map((d) => {
    const bytes = new Uint8Array(d.bytes.length + 12);
    bytes.set([0, 0, 0, 5, 0, 0, 0, 2, 0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    bytes.set(d.bytes.subarray(12), 24);
    return { ...d, bytes };
  });
  const got = decodeAll(fixed);
  const plain = decodeAll(flowDatagrams("sflow"));
  assertEquals(got.decoder.stats.dropped, 0);
  assertEquals([...got.agents], ["2001:2::2/7"]);
  assertEquals(got.samples, plain.samples);
  assertEquals(got.counters, plain.counters);
});
