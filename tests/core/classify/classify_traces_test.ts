// Labelled traces made with real tools: each flood is sent with hping3 between two network
// namespaces, captured by tcpdump on the receiving side, and classified by `ftagent classify`.
import type { Classification } from "../../../core/classify/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { ftagent } from "../../support/cli.ts";
import {
  createNetnsPair,
  hasCommand,
  netnsAvailable,
  type NetnsPair,
} from "../../support/netns.ts";

/** One labelled flood: hping3 arguments (target appended) and the expected verdict. */
interface Trace {
  name: string;
  /** hping3 runs, sent at the same time; each bounded by its `-c` count and `timeout`. */
  floods: string[][];
  family: string;
  subtype: string;
  spoofing?: boolean;
}

const COUNT = "2000";
const GAP = "u150"; // about 6,700 packets per second: a 2000-packet flood takes 0.3 s

const TRACES: Trace[] = [
  { name: "SYN", floods: [["-S", "-p", "80"]], family: "syn_flood", subtype: "syn_flood" },
  {
    name: "SYN from random spoofed sources",
    floods: [["-S", "-p", "80", "--rand-source"]],
    family: "syn_flood",
    subtype: "syn_flood",
    spoofing: true,
  },
  { name: "ACK", floods: [["-A", "-p", "80"]], family: "tcp_flood", subtype: "ack_flood" },
  { name: "RST", floods: [["-R", "-p", "80"]], family: "tcp_flood", subtype: "rst_flood" },
  { name: "FIN", floods: [["-F", "-p", "80"]], family: "tcp_flood", subtype: "fin_flood" },
  {
    name: "FIN+PSH+URG",
    floods: [["-F", "-P", "-U", "-p", "80"]],
    family: "tcp_flood",
    subtype: "xmas_flood",
  },
  { name: "no-flag TCP", floods: [["-p", "80"]], family: "tcp_flood", subtype: "null_flood" },
  ...[["123", "ntp"], ["1900", "ssdp"], ["11211", "memcached"], ["4500", "isakmp"]].map((
    [port, name],
  ): Trace => ({
    name: `UDP from source port ${port}`,
    floods: [["--udp", "-s", port, "-k", "-p", "40000", "-d", "400"]],
    family: "udp_flood",
    subtype: `${name}_amplification`,
    spoofing: false,
  })),
  {
    name: "UDP from source port 53",
    floods: [["--udp", "-s", "53", "-k", "-p", "40000", "-d", "1200"]],
    family: "dns_flood",
    subtype: "dns_amplification",
  },
  {
    name: "UDP queries to port 53",
    floods: [["--udp", "-p", "53", "-d", "40"]],
    family: "dns_flood",
    subtype: "dns_query_flood",
  },
  {
    name: "empty UDP",
    floods: [["--udp", "-p", "27015"]],
    family: "udp_flood",
    subtype: "small_packet_flood",
  },
  {
    name: "large UDP",
    floods: [["--udp", "-p", "27015", "-d", "1200"]],
    family: "udp_flood",
    subtype: "volumetric",
  },
  {
    name: "ICMP echo",
    floods: [["--icmp", "-d", "56"]],
    family: "icmp_flood",
    subtype: "ping_flood",
  },
  {
    // 100 datagrams of 408 bytes cut into 16-byte fragments: about 2,600 packets.
    name: "UDP cut into tiny fragments",
    floods: [["--udp", "-f", "-p", "9999", "-d", "400", "-c", "100"]],
    family: "fragment_flood",
    subtype: "udp_fragment_flood",
  },
  {
    // 3000-byte echo requests: three fragments each on a 1500-byte link.
    name: "fragmented ICMP echo",
    floods: [["--icmp", "-d", "3000", "-c", "600"]],
    family: "fragment_flood",
    subtype: "ip_fragment_flood",
  },
  {
    name: "GRE",
    floods: [["--rawip", "-H", "47", "-d", "100"]],
    family: "protocol_flood",
    subtype: "gre_flood",
  },
  {
    name: "IP protocol 253",
    floods: [["--rawip", "-H", "253", "-d", "64"]],
    family: "protocol_flood",
    subtype: "ip_proto_253_flood",
  },
  {
    name: "SYN and empty UDP at once",
    floods: [["-S", "-p", "443", "-c", "3000"], ["--udp", "-p", "27015", "-c", "1500"]],
    family: "multi_vector",
    subtype: "multi_syn_flood",
  },
];

const netnsReason = await netnsAvailable();
const missing = [];
for (const tool of ["hping3", "tcpdump"]) {
  if (!(await hasCommand(tool))) missing.push(tool);
}
const ignoreReason = netnsReason ??
  (missing.length ? `${missing.join(" and ")} not installed` : null);
if (ignoreReason) console.warn(`classify_traces_test: ${ignoreReason}; ignored`);

/** Captures what `floods` send to namespace b into `file`; returns the packets tcpdump saw. */
async function captureFloods(pair: NetnsPair, floods: string[][], file: string): Promise<number> {
  const dump = pair.spawn(pair.b, [
    "timeout",
    "30",
    "tcpdump",
    "-n",
    "-i",
    pair.ifB,
    "-w",
    file,
    "dst",
    "host",
    pair.addrB,
  ]);
  dump.stdin.close();
  const stderr = dump.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  try {
    while (!log.includes("listening on")) {
      const { value, done } = await stderr.read();
      if (done) throw new Error(`tcpdump did not start: ${log}`);
      log += value;
    }
    // Bounded floods: a packet count each, a 20 s timeout, only to 198.18.x.2.
    const runs = await Promise.all(floods.map((args) =>
      pair.exec(pair.a, [
        "timeout",
        "20",
        "hping3",
        "-q",
        "-c",
        COUNT,
        "-i",
        GAP,
        ...args,
        pair.addrB,
      ])
    ));
    // hping3 prints its statistics header once every packet is sent; Debian's hping3 sometimes
    // aborts right after it ("free(): double free detected"), before the counts.
    for (const r of runs) {
      assert(/hping statistic/.test(r.stdout + r.stderr), `hping3: ${r.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    dump.kill("SIGINT");
    while (true) {
      const { value, done } = await stderr.read();
      if (done) break;
      log += value;
    }
    await dump.status;
  } finally {
    try {
      dump.kill("SIGKILL");
    } catch { /* already gone */ }
    await dump.status;
    stderr.releaseLock();
    await dump.stderr.cancel().catch(() => {});
    await dump.stdout.cancel().catch(() => {});
  }
  const m = log.match(/(\d+) packets? captured/);
  assert(m, `tcpdump: ${log}`);
  return Number(m[1]);
}

Deno.test({
  name: "ftagent classify names real hping3 floods captured by tcpdump",
  ignore: ignoreReason !== null,
  async fn(t) {
    const pair = await createNetnsPair();
    const dir = await Deno.makeTempDir({ prefix: "ftagent-traces-" });
    try {
      for (const trace of TRACES) {
        await t.step(`${trace.name} is ${trace.family}/${trace.subtype}`, async () => {
          const file = `${dir}/${trace.name.replaceAll(/\W+/g, "_")}.pcap`;
          const captured = await captureFloods(pair, trace.floods, file);
          assert(captured >= 1000, `only ${captured} packets captured`);
          const out = await ftagent(["classify", file, "--json"]);
          assertEquals(out.code, 0, out.stderr);
          const c = JSON.parse(out.stdout) as Classification;
          assertEquals(c.evidence.packets, captured);
          assertEquals(
            [c.attack_family, c.attack_subtype],
            [trace.family, trace.subtype],
            `${c.evidence.rule}: ${c.evidence.summary}`,
          );
          assertEquals(c.spoofing_detected, trace.spoofing ?? false, c.evidence.spoofing_reason);
          assertEquals(c.botnet_detected, false, c.evidence.botnet_reason);
          assert(c.confidence >= 90, `confidence ${c.confidence}`);
        });
      }
    } finally {
      await pair.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
