// A small synthetic capture for the self-test: benign web and DNS traffic, then a SYN flood
// from spoofed sources on one address, then benign traffic again. Hand-built Ethernet / IPv4 /
// TCP / UDP frames (product code does not use the test builders), deterministic.
import { PcapBuilder } from "../core/packet/mod.ts";

/** LINKTYPE_ETHERNET. */
const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const TCP_PSH_ACK = 0x18;

/** Shape of the synthetic capture. */
export interface SyntheticPlan {
  /** Packet time of the first frame (µs since the epoch). */
  startUs: number;
  /** Benign seconds before the flood. */
  benignBefore: number;
  /** Flood seconds. */
  floodSeconds: number;
  /** Benign seconds after the flood. */
  benignAfter: number;
  /** Benign packets per second. */
  benignPps: number;
  /** SYN packets per second during the flood. */
  floodPps: number;
  /** The flooded address. */
  target: string;
}

/** The capture and the moment the flood starts. */
export interface SyntheticCapture {
  bytes: Uint8Array;
  onsetUs: number;
  frames: number;
}

/** Builds the capture described by `plan`. */
export function syntheticCapture(plan: SyntheticPlan): SyntheticCapture {
  const pcap = new PcapBuilder(LINKTYPE_ETHERNET);
  const target = ip4(plan.target);
  const client = ip4("192.0.2.10");
  const resolver = ip4("192.0.2.53");
  let t = plan.startUs;
  const benign = (seconds: number) => {
    const step = 1e6 / plan.benignPps;
    const n = Math.round(seconds * plan.benignPps);
    for (let i = 0; i < n; i++, t += step) {
      const frame = i % 4 === 3
        ? udp(resolver, target, 53, 40000 + (i % 1000), 80)
        : tcp(client, target, 50000 + (i % 64), 443, i % 2 ? TCP_ACK : TCP_PSH_ACK, 200);
      pcap.add(frame, Math.round(t));
    }
  };
  benign(plan.benignBefore);
  const onsetUs = Math.round(t);
  // The flood, with benign packets mixed in at their usual rate.
  const step = 1e6 / plan.floodPps;
  const n = Math.round(plan.floodSeconds * plan.floodPps);
  const benignEvery = Math.max(1, Math.round(plan.floodPps / plan.benignPps));
  let seed = 0x2545f491;
  for (let i = 0; i < n; i++, t += step) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const spoofed = [10 + (seed >>> 28), (seed >>> 16) & 0xff, (seed >>> 8) & 0xff, seed & 0xff];
    pcap.add(tcp(spoofed, target, 1024 + (seed % 60000), 80, TCP_SYN, 0), Math.round(t));
    if (i % benignEvery === 0) {
      pcap.add(tcp(client, target, 50000, 443, TCP_ACK, 200), Math.round(t) + 1);
    }
  }
  benign(plan.benignAfter);
  return { bytes: pcap.bytes(), onsetUs, frames: pcap.count };
}

function ip4(addr: string): number[] {
  return addr.split(".").map(Number);
}

function ethernetIpv4(proto: number, src: number[], dst: number[], l4: Uint8Array): Uint8Array {
  const frame = new Uint8Array(14 + 20 + l4.length);
  frame.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02], 0);
  frame[12] = ETHERTYPE_IPV4 >> 8;
  frame[13] = ETHERTYPE_IPV4 & 0xff;
  const ip = frame.subarray(14, 34);
  const total = 20 + l4.length;
  ip.set([0x45, 0, total >> 8, total & 0xff, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
  ip.set(src, 12);
  ip.set(dst, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~sum & 0xffff;
  ip[10] = sum >> 8;
  ip[11] = sum & 0xff;
  frame.set(l4, 34);
  return frame;
}

function tcp(
  src: number[],
  dst: number[],
  sport: number,
  dport: number,
  flags: number,
  payload: number,
): Uint8Array {
  const seg = new Uint8Array(20 + payload);
  seg.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0]);
  seg[12] = 5 << 4;
  seg[13] = flags;
  seg[14] = 0xff;
  seg[15] = 0xff;
  return ethernetIpv4(PROTO_TCP, src, dst, seg);
}

function udp(src: number[], dst: number[], sport: number, dport: number, payload: number) {
  const len = 8 + payload;
  const dgram = new Uint8Array(len);
  dgram.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, len >> 8, len & 0xff]);
  return ethernetIpv4(PROTO_UDP, src, dst, dgram);
}
