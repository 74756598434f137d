import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  iptablesKeepPlan,
  listeningPorts,
  type MitigationAction,
  nftApplyScript,
  nftCoveredScript,
  nftCovers,
  nftKeepRules,
  nftTable,
  nftUndoScript,
  parseNftSetElements,
  parseResolvConf,
  parseSshdPorts,
  type ProtectedFlows,
  protectedRefusal,
} from "../../../core/mitigate/mod.ts";

const FLOWS: ProtectedFlows = {
  controlPlane: [{ address: "198.18.0.1", port: 8080 }, { address: "2001:2::1", port: 443 }],
  sshPorts: [22, 2222],
  metricsPort: 9847,
  resolvers: ["198.18.0.53"],
  gateways: ["198.18.0.254", "fe80::1"],
};

function traffic(fields: Partial<MitigationAction & { type: "drop_traffic" }>): MitigationAction {
  return {
    type: "drop_traffic",
    target: null,
    protocol: 6,
    src_port: null,
    dst_port: null,
    pps: 0,
    ttl_s: 60,
    ...fields,
  } as MitigationAction;
}

Deno.test("protectedRefusal() refuses drops and limits on the SSH and metrics ports only", () => {
  assertMatch(protectedRefusal(traffic({ dst_port: 22 }), FLOWS)!, /SSH \(management\) port/);
  assertMatch(protectedRefusal(traffic({ dst_port: 2222 }), FLOWS)!, /SSH/);
  assertMatch(
    protectedRefusal({ type: "syn_rate_limit", target: null, dst_port: 9847, pps: 5, ttl_s: 9 }, {
      ...FLOWS,
    })!,
    /metrics listener/,
  );
  // Broad actions are narrowed by the firewall's exemptions, not refused.
  assertEquals(protectedRefusal(traffic({ src_port: 8080 }), FLOWS), null);
  assertEquals(protectedRefusal(traffic({ protocol: 17, src_port: 123 }), FLOWS), null);
  assertEquals(protectedRefusal(traffic({ protocol: 17, dst_port: 22 }), FLOWS), null);
  assertEquals(protectedRefusal(traffic({ protocol: 1 }), FLOWS), null);
});

Deno.test("nftKeepRules() accepts loopback, the control plane both ways, SSH, resolvers and gateways", () => {
  const rules = nftKeepRules(FLOWS);
  assertEquals(rules[0], `iif "lo" accept`);
  for (
    const want of [
      "ip saddr 198.18.0.1 tcp sport 8080 accept",
      "ip daddr 198.18.0.1 tcp dport 8080 accept",
      "ip6 saddr 2001:2::1 tcp sport 443 accept",
      "tcp dport { 22, 2222 } accept",
      "ip saddr 198.18.0.53 meta l4proto { tcp, udp } th sport 53 accept",
      "ip saddr 198.18.0.254 accept",
      "ip6 saddr fe80::1 accept",
    ]
  ) assert(rules.includes(want), `${want} in ${rules.join("; ")}`);
  // The base chain jumps to them before any drop.
  const table = nftTable(FLOWS);
  assert(table.indexOf("jump keep") < table.indexOf("drop"), table);
  const ipt = iptablesKeepPlan(FLOWS);
  assert(ipt.every((r) => r.rule.at(-1) === "RETURN" && r.rule.includes(r.tag)));
  assertEquals(new Set(ipt.map((r) => r.tag)).size, ipt.length, "tags are unique");
});

Deno.test("parseSshdPorts(), parseResolvConf() and listeningPorts() read the host's files", () => {
  assertEquals(
    parseSshdPorts("# Port 99\nPort 2222\n  port 22 # old\nMatch User x\n  Port 4444\n"),
    [22, 2222],
  );
  assertEquals(parseSshdPorts("PermitRootLogin no\n"), []);
  assertEquals(
    parseResolvConf("nameserver 127.0.0.53\nnameserver fe80::1%eth0\n# nameserver 9.9.9.9\n"),
    ["127.0.0.53", "fe80::1"],
  );
  const tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid" +
    "  timeout inode\n" +
    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234\n" +
    "   1: 0100007F:2677 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999\n" +
    "   2: 0200A8C0:0016 0100A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 1234\n";
  assertEquals(listeningPorts(tcp, new Set(["1234"])), [22]);
});

const src = (source: string, ttl_s = 60): MitigationAction => ({
  type: "drop_source",
  source,
  protocol: null,
  ttl_s,
});

Deno.test("nftCoveredScript() and nftApplyScript() replace a blocked host with its network", () => {
  const present = new Map([["src4", ["198.19.5.7", "198.19.6.0/24"]]]);
  const wide = [src("198.19.5.0/24")];
  assertEquals(
    nftCoveredScript(wide, present),
    "add element inet ftagent src4 { 198.19.5.7 timeout 1s }\n" +
      "delete element inet ftagent src4 { 198.19.5.7 }\n",
  );
  assertMatch(nftApplyScript(wide, present), /add element inet ftagent src4 \{ 198\.19\.5\.0\/24/);
  // A host inside a blocked network: nothing to add, nothing to delete on undo.
  assertEquals(nftApplyScript([src("198.19.6.7")], present), "");
  assertEquals(nftCoveredScript([src("198.19.6.7")], present), "");
  assertEquals(nftUndoScript([src("198.19.6.7")], present), "");
  assert(nftCovers(src("198.19.6.0/24"), src("198.19.6.7")));
  assert(!nftCovers(src("198.19.6.7"), src("198.19.6.0/24")));
  assert(
    !nftCovers(src("198.19.6.0/24"), {
      type: "drop_source",
      source: "198.19.6.7",
      protocol: 6,
      ttl_s: 60,
    }),
  );
});

Deno.test("parseNftSetElements() reads hosts and prefixes with their time left", () => {
  const json = JSON.stringify({
    nftables: [{ metainfo: {} }, {
      set: {
        elem: [
          { elem: { val: { prefix: { addr: "0.0.0.0", len: 1 } }, timeout: 20, expires: 19 } },
          { elem: { val: "198.18.5.7", timeout: 60, expires: 59 } },
          "198.18.9.9",
        ],
      },
    }],
  });
  assertEquals(parseNftSetElements(json), [
    { element: "0.0.0.0/1", expiresS: 19 },
    { element: "198.18.5.7", expiresS: 59 },
    { element: "198.18.9.9", expiresS: null },
  ]);
  assertEquals(parseNftSetElements("not json"), []);
});
