import { flowMeta, FlowRecord } from "../../../core/flow/mod.ts";
import { IpProto, PacketMeta, parseAddress, TcpFlag, Vector } from "../../../core/packet/mod.ts";
import { assertEquals } from "../../support/assert.ts";

function record(protocol: number, flags: number): FlowRecord {
  const r = new FlowRecord();
  r.ipVersion = 4;
  r.protocol = protocol;
  r.tcpFlags = flags;
  r.srcPort = 40000;
  r.dstPort = 80;
  r.packets = 3;
  r.bytes = 200;
  r.firstUs = 1_700_000_000_000_000;
  r.lastUs = r.firstUs + 500_000;
  parseAddress("198.18.0.1", r.src);
  parseAddress("198.18.0.2", r.dst);
  return r;
}

Deno.test("flowMeta() gives a SYN flow's packet the SYN vector and the average length", () => {
  const meta = new PacketMeta();
  flowMeta(record(IpProto.TCP, TcpFlag.SYN), meta);
  assertEquals([meta.vector, meta.wireLen, meta.dstPort, meta.hasL4], [Vector.SYN, 67, 80, true]);
  assertEquals(meta.tsUs, 1_700_000_000_500_000);
});

Deno.test("flowMeta() counts a whole connection's flags as its data, not as anomalous flags", () => {
  const meta = new PacketMeta();
  const all = TcpFlag.SYN | TcpFlag.ACK | TcpFlag.PSH | TcpFlag.FIN;
  flowMeta(record(IpProto.TCP, all), meta);
  assertEquals([meta.tcpFlags, meta.vector], [TcpFlag.PSH | TcpFlag.ACK, Vector.PSH_ACK]);
  flowMeta(record(IpProto.TCP, TcpFlag.SYN | TcpFlag.ACK), meta); // SYN-ACKs stay SYN-ACKs
  assertEquals(meta.vector, Vector.SYN_ACK);
  flowMeta(record(IpProto.UDP, 0x1b), meta); // flags of a UDP record are ignored
  assertEquals([meta.tcpFlags, meta.vector], [0, Vector.UDP_PLAIN]);
});
