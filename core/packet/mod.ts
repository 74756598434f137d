/**
 * Frames and packets: the decoder into one reused {@linkcode PacketMeta}, the attack vectors a
 * packet counts in, addresses and CIDRs, the pcap and pcapng formats (reading and writing) and the
 * pre-attack ring of recent frames.
 *
 * @module
 */

export * from "./address.ts";
export * from "./byte_copier.ts";
export * from "./cidr.ts";
export * from "./decode.ts";
export * from "./dns_question.ts";
export * from "./fragment_overlap.ts";
export * from "./local_networks.ts";
export * from "./packet.ts";
export * from "./packet_ring.ts";
export * from "./pcap_format.ts";
export * from "./pcap_writer.ts";
export * from "./vectors.ts";
