// A capture for watching the agent live (dashboard, `ftagent top`): web, DNS and ping traffic
// to 10.10.10.10 throughout, and the corpus SYN flood at 2500 pps from the 6th second on.
import { eth, EtherType, icmp, ipv4, udp } from "./frames.ts";
import { CORPUS } from "./cli.ts";
import { framesOf, webFrames, writeSplice } from "./splice.ts";

/** The attacked address in {@linkcode writeAttackCapture}'s capture. */
export const VICTIM = "10.10.10.10";

/** Writes the capture (`seconds` long, the flood from 6 s to the end) to `path`. */
export async function writeAttackCapture(path: string, seconds = 50): Promise<void> {
  const dns = Array.from({ length: 20 }, (_, i) =>
    eth(
      EtherType.IPV4,
      ipv4(17, udp(33000 + i, 53, new Uint8Array(40)), { src: `198.19.3.${i}`, dst: VICTIM }),
    ));
  const ping = [eth(
    EtherType.IPV4,
    ipv4(1, icmp(8, 0, new Uint8Array(56)), {
      src: "198.19.4.1",
      dst: VICTIM,
    }),
  )];
  const syn = await framesOf(`${CORPUS}pkt.TCP.synflood.spoofed.pcap`);
  await writeSplice(path, [
    { frames: webFrames(VICTIM), fromS: 0, toS: seconds, pps: 150 },
    { frames: dns, fromS: 0, toS: seconds, pps: 40 },
    { frames: ping, fromS: 0, toS: seconds, pps: 10 },
    { frames: syn, fromS: 6, toS: seconds, pps: 2500 },
  ]);
}
