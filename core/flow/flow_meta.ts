/**
 * A NetFlow/IPFIX record as the packet the detector counts: the fields a flow keeps (addresses,
 * protocol, ports, flags, ICMP type) in a {@linkcode PacketMeta}, the average packet length as
 * its length.
 *
 * @module
 */

import { Fragment, IpProto, type PacketMeta, TcpFlag, vectorOf } from "../packet/mod.ts";
import type { FlowRecord } from "./flow_record.ts";

/** SYN with ACK and data or FIN: the OR of a whole connection's flags. */
const CONNECTION = TcpFlag.SYN | TcpFlag.ACK;

/**
 * Fills `meta` with the packet `record` stands for (time: its last packet): addresses,
 * protocol, ports, ICMP type and code, and its length the record's average (`bytes / packets`;
 * exporters count IP bytes, without the link header). TCP flags are the OR of the flow's: a
 * flow with SYN, ACK and PSH or FIN is a connection, counted as its data (`PSH|ACK`) rather
 * than as a packet with every flag. No TTL (0), no fragments, no payload.
 */
export function flowMeta(record: FlowRecord, meta: PacketMeta): void {
  meta.reset();
  meta.tsUs = record.lastUs;
  const packets = record.packets > 0 ? record.packets : 1;
  meta.wireLen = Math.min(0xffff, Math.round(record.bytes / packets));
  meta.capLen = 0;
  meta.ipVersion = record.ipVersion;
  meta.src.set(record.src);
  meta.dst.set(record.dst);
  const p = record.protocol;
  meta.protocol = p;
  meta.fragment = Fragment.NONE;
  meta.srcPort = record.srcPort;
  meta.dstPort = record.dstPort;
  let flags = record.tcpFlags & 0x3f;
  if (
    (flags & CONNECTION) === CONNECTION && (flags & (TcpFlag.PSH | TcpFlag.FIN)) !== 0
  ) flags = TcpFlag.PSH | TcpFlag.ACK;
  meta.tcpFlags = p === IpProto.TCP ? flags : 0;
  meta.icmpType = record.icmpType;
  meta.icmpCode = record.icmpCode;
  meta.hasL4 = p === IpProto.TCP || p === IpProto.UDP || p === IpProto.ICMP ||
    p === IpProto.ICMPV6;
  meta.vector = vectorOf(meta);
}
