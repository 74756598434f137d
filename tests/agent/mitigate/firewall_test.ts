import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  type MitigationAction,
  nftApplyScript,
  nftTable,
  nftUndoScript,
} from "../../../core/mitigate/mod.ts";
import {
  createNetnsPair,
  hasCommand,
  netnsAvailable,
  type NetnsPair,
} from "../../support/netns.ts";

const netnsReason = await netnsAvailable();
const DRIVER = new URL("../../support/firewall_driver.ts", import.meta.url).pathname;

/** One action of every kind, both families, one host and every destination. */
function everyKind(target: string): MitigationAction[] {
  return [
    { type: "drop_source", source: "198.19.200.0/24", protocol: null, ttl_s: 60 },
    { type: "drop_source", source: "2001:db8::7", protocol: null, ttl_s: 60 },
    { type: "drop_source", source: "198.19.201.5", protocol: 6, ttl_s: 60 },
    {
      type: "drop_traffic",
      target,
      protocol: 17,
      src_port: 123,
      dst_port: null,
      pps: 0,
      ttl_s: 60,
    },
    {
      type: "drop_traffic",
      target,
      protocol: 47,
      src_port: null,
      dst_port: null,
      pps: 0,
      ttl_s: 60,
    },
    {
      type: "drop_traffic",
      target: null,
      protocol: 17,
      src_port: null,
      dst_port: 19,
      pps: 0,
      ttl_s: 60,
    },
    { type: "rate_limit", target, protocol: 1, src_port: null, dst_port: null, pps: 50, ttl_s: 60 },
    {
      type: "rate_limit",
      target: null,
      protocol: 17,
      src_port: 53,
      dst_port: null,
      pps: 500,
      ttl_s: 60,
    },
    { type: "drop_fragments", target, ttl_s: 60 },
    { type: "syn_rate_limit", target, dst_port: 443, pps: 200, ttl_s: 60 },
    { type: "syn_rate_limit", target: "2001:db8::2", dst_port: null, pps: 200, ttl_s: 60 },
  ];
}

async function drive(
  pair: NetnsPair,
  backend: string,
  op: string,
  actions: MitigationAction[] = [],
) {
  const r = await pair.exec(pair.b, [Deno.execPath(), "run", "-A", DRIVER], {
    stdin: JSON.stringify({ backend, op, actions }),
  });
  assertEquals(r.code, 0, `${backend} ${op}: ${r.stderr}`);
}

/** IP datagrams that reached the target's protocols (after the firewall, after reassembly). */
async function delivered(pair: NetnsPair): Promise<number> {
  const snmp = await pair.run(pair.b, ["cat", "/proc/net/snmp"]);
  const lines = snmp.split("\n").filter((l) => l.startsWith("Ip:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/).map(Number);
  // Unknown protocols (GRE without a tunnel) are not "delivered" but did get past the firewall.
  return values[names.indexOf("InDelivers")] + values[names.indexOf("InUnknownProtos")];
}

/** Sends `count` packets with hping3 `args` and returns how many the target delivered. */
async function through(pair: NetnsPair, args: string[], count = 50): Promise<number> {
  const before = await delivered(pair);
  await pair.exec(pair.a, [
    "timeout",
    "5",
    "hping3",
    "-q",
    ...args,
    "-c",
    String(count),
    "-i",
    "u2000",
    pair.addrB,
  ]);
  return (await delivered(pair)) - before;
}

const PROBES: { name: string; args: string[] }[] = [
  { name: "UDP from port 123", args: ["--udp", "-s", "123", "-k", "-p", "9000"] },
  { name: "GRE", args: ["--rawip", "-H", "47", "-d", "20"] },
  { name: "UDP fragments", args: ["--udp", "-p", "7000", "-d", "1200", "-m", "400"] },
];

Deno.test("the nftables text declares only the agent's table and loads every action kind", () => {
  const text = nftTable();
  assertEquals([...text.matchAll(/^table (\S+ \S+)/gm)].map((m) => m[1]), ["inet ftagent"]);
  const apply = nftApplyScript(everyKind("198.18.0.2"));
  const undo = nftUndoScript(everyKind("198.18.0.2"));
  for (const line of (apply + undo).trim().split("\n")) {
    assertMatch(line, /^(add|delete|flush) (element|chain|rule) inet ftagent /);
    assert(!/[;`$|&]/.test(line), line);
  }
  assertMatch(
    apply,
    /add element inet ftagent sport4 \{ 198\.18\.0\.2 \. 17 \. 123 timeout 60s \}/,
  );
  assertMatch(
    apply,
    /add element inet ftagent rlproto6 \{ ::\/0 \. 17|add element inet ftagent rlsport6 \{ ::\/0 \. 17 \. 53/,
  );
  assertMatch(undo, /delete chain inet ftagent rl_[0-9a-f]{8}/);
});

for (const backend of ["nftables", "iptables"] as const) {
  Deno.test({
    name:
      `${backend}: every action kind installs, renews and undoes in a namespace, and drops what it names`,
    async fn() {
      assert(netnsReason === null, netnsReason ?? "");
      for (const tool of ["hping3", "nft", "iptables", "ipset"]) {
        assert(await hasCommand(tool), `${tool} missing`);
      }
      const pair = await createNetnsPair({ prefix: "ftm" });
      try {
        // Someone else's firewall state in the same namespace must survive everything.
        await pair.run(pair.b, ["nft", "add", "table", "inet", "other"]);
        await pair.run(pair.b, ["nft", "add", "chain", "inet", "other", "c"]);
        await pair.run(pair.b, [
          "nft",
          "add",
          "rule",
          "inet",
          "other",
          "c",
          "tcp",
          "dport",
          "22",
          "accept",
        ]);
        await pair.run(pair.b, [
          "iptables",
          "-A",
          "INPUT",
          "-p",
          "tcp",
          "--dport",
          "2222",
          "-j",
          "ACCEPT",
        ]);
        const foreign = async () =>
          (await pair.run(pair.b, ["nft", "list", "table", "inet", "other"])).includes(
            "tcp dport 22 accept",
          ) &&
          (await pair.run(pair.b, ["iptables", "-S", "INPUT"])).includes("--dport 2222 -j ACCEPT");

        await drive(pair, backend, "reset");
        for (const p of PROBES) {
          assert((await through(pair, p.args)) >= 45, `${p.name} flows before`);
        }
        const actions = everyKind(pair.addrB);
        await drive(pair, backend, "apply", actions);
        await drive(pair, backend, "apply", actions); // renews, no duplicates
        for (const p of PROBES) assertEquals(await through(pair, p.args), 0, `${p.name} dropped`);
        if (backend === "iptables") {
          const rules = await pair.run(pair.b, ["iptables", "-t", "raw", "-S", "FTAGENT"]);
          assertEquals(rules.split("\n").filter((l) => l.endsWith("-j DROP")).length, 9, rules);
          assertMatch(
            await pair.run(pair.b, ["ipset", "list"]),
            /198\.19\.200\.0\/24 timeout (5\d|60)/,
          );
        } else {
          assertMatch(
            await pair.run(pair.b, ["nft", "list", "set", "inet", "ftagent", "src4"]),
            /198\.19\.200\.0\/24 timeout 1m expires/,
          );
        }
        await drive(pair, backend, "undo", actions);
        await drive(pair, backend, "undo", actions); // already gone: still fine
        for (const p of PROBES) {
          assert((await through(pair, p.args)) >= 45, `${p.name} flows after undo`);
        }
        await drive(pair, backend, "remove");
        const left = backend === "nftables"
          ? (await pair.exec(pair.b, ["nft", "list", "table", "inet", "ftagent"])).code
          : (await pair.exec(pair.b, ["iptables", "-t", "raw", "-S", "FTAGENT"])).code;
        assert(left !== 0, "the agent's table/chain is gone");
        assert(await foreign(), "other tables and chains untouched");
      } finally {
        await pair.destroy();
      }
    },
  });
}
