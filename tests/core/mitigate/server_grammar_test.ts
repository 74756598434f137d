import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import {
  Allowlist,
  type MitigationAction,
  nftServerRuleApplyScript,
  nftServerRuleUndoScript,
  type ParsedCommand,
  parseServerChain,
  parseServerCommand,
  protectedRefusal,
  type ServerRule,
  serverRuleExpr,
} from "../../../core/mitigate/mod.ts";

const options = {
  ttlS: 300,
  allowlist: new Allowlist([{ cidr: "198.18.0.2", why: "own address" }]),
};

function parse(text: string, extra: Record<string, unknown> = {}): ParsedCommand {
  return parseServerCommand(
    { id: 9, command_type: "iptables", command_text: text, ...extra },
    options,
  );
}

function ops(text: string) {
  const r = parse(text);
  assert(r.ok, `${JSON.stringify(text)}: ${JSON.stringify(r)}`);
  return r.ops;
}

function rule(text: string): ServerRule {
  const o = ops(text);
  assertEquals(o.length, 1, text);
  assertEquals(o[0].action.type, "server_rule", `${text}: ${JSON.stringify(o[0].action)}`);
  return o[0].action as ServerRule;
}

function refused(text: string, reason: RegExp, extra: Record<string, unknown> = {}): void {
  const r = parse(text, extra);
  assert(!r.ok, `${JSON.stringify(text)} was accepted: ${JSON.stringify(r)}`);
  assertEquals(r.id, 9);
  assertMatch(r.reason, reason);
}

const base = {
  type: "server_rule",
  hook: "input",
  family: "ip",
  first: true,
  source: null,
  target: null,
  protocol: null,
  sport: null,
  dport: null,
  syn: false,
  fragment: false,
  ctstate: null,
  length: null,
  limit: null,
  match_set: null,
  verdict: "drop",
  reject_with: null,
  ttl_s: 300,
} as const;

Deno.test("parseServerCommand() reads a source drop with a port as a server rule, not a source drop", () => {
  assertEquals(rule("iptables -I INPUT -s 203.0.113.9 -p tcp --dport 80 -j DROP"), {
    ...base,
    source: "203.0.113.9",
    protocol: 6,
    dport: { from: 80, to: 80 },
  });
});

Deno.test("parseServerCommand() reads limit, hashlimit per source, conntrack and length matches", () => {
  assertEquals(
    rule("iptables -A INPUT -p udp --dport 27015 -m limit --limit 50/s --limit-burst 100 -j DROP"),
    {
      ...base,
      first: false,
      protocol: 17,
      dport: { from: 27015, to: 27015 },
      limit: { rate: 50, unit: "second", burst: 100, over: false, per: "all" },
    },
  );
  assertEquals(
    rule(
      "iptables -I INPUT -p tcp --syn --dport 443 -m hashlimit --hashlimit-above 20/sec --hashlimit-burst 40 --hashlimit-mode srcip --hashlimit-name syn443 -j DROP",
    ).limit,
    { rate: 20, unit: "second", burst: 40, over: true, per: "src" },
  );
  assertEquals(
    rule("iptables -I INPUT -m conntrack --ctstate INVALID,UNTRACKED -j DROP").ctstate,
    ["invalid", "untracked"],
  );
  const len = rule("iptables -t raw -I PREROUTING -p udp -m length --length 1200:65535 -j DROP");
  assertEquals([len.hook, len.length, len.protocol], ["prerouting", { from: 1200, to: 65535 }, 17]);
  assertEquals(
    rule("iptables -I FORWARD -d 198.51.100.0/24 -p udp --sport 1900 -j DROP").hook,
    "forward",
  );
  assertEquals(rule("iptables -I INPUT -p tcp --dport 6000:6010 -j DROP").dport, {
    from: 6000,
    to: 6010,
  });
});

Deno.test("parseServerCommand() reads REJECT with the sane --reject-with answers only", () => {
  assertEquals(
    rule("iptables -I INPUT -p tcp --dport 25 -j REJECT --reject-with tcp-reset").reject_with,
    "tcp-reset",
  );
  assertEquals(rule("iptables -I INPUT -s 203.0.113.9 -j REJECT").reject_with, "port-unreachable");
  assertEquals(
    rule("ip6tables -I INPUT -s 2001:db8::9 -j REJECT --reject-with icmp6-adm-prohibited")
      .reject_with,
    "admin-prohibited",
  );
  refused(
    "iptables -I INPUT -p udp --dport 53 -j REJECT --reject-with tcp-reset",
    /tcp-reset needs -p tcp/,
  );
  refused(
    "iptables -I INPUT -s 203.0.113.9 -j REJECT --reject-with echo-reply",
    /--reject-with echo-reply is not supported/,
  );
  refused(
    "iptables -I INPUT -s 203.0.113.9 -j DROP --reject-with tcp-reset",
    /--reject-with needs -j REJECT/,
  );
  refused(
    "iptables -t raw -I PREROUTING -s 203.0.113.9 -j REJECT",
    /REJECT is only valid in INPUT and FORWARD/,
  );
});

Deno.test("parseServerCommand() keeps plain drops and aggregate limits in the agent's fixed sets", () => {
  assertEquals(
    ops("iptables -I INPUT -p udp --dport 53 -m hashlimit --hashlimit-above 100/sec -j DROP")[0]
      .action.type,
    "rate_limit",
  );
  assertEquals(
    ops("iptables -I INPUT -d 198.51.100.7 -p udp --sport 123 -j DROP")[0].action.type,
    "drop_traffic",
  );
});

Deno.test("parseServerCommand() reads -D and nft delete rule as the undo of the same rule", () => {
  const add = rule("iptables -I INPUT -s 203.0.113.9 -p tcp --dport 80 -j DROP");
  const del = ops("iptables -D INPUT -s 203.0.113.9 -p tcp --dport 80 -j DROP")[0];
  assertEquals(del.undo, true);
  assertEquals(del.action, { ...add, first: false });
  const nftDel = ops("nft delete rule ip filter input ip saddr 203.0.113.9 tcp dport 80 drop")[0];
  assertEquals(nftDel.undo, true);
  assertEquals(nftDel.action, { ...add, first: false });
});

Deno.test("parseServerCommand() reads nft rules with reject, ct state, meta length and limits", () => {
  const r = rule(
    "nft add rule ip filter input udp dport 5060 meta length 1000-1500 limit rate 10/second burst 20 packets reject",
  );
  assertEquals([r.length, r.limit, r.verdict], [
    { from: 1000, to: 1500 },
    { rate: 10, unit: "second", burst: 20, over: false, per: "all" },
    "reject",
  ]);
  const inet = ops("nft add rule inet filter input ct state invalid drop");
  assertEquals(inet.map((o) => (o.action as ServerRule).family), ["ip", "ip6"]);
});

Deno.test("parseServerCommand() reads the safe sysctl keys within their ranges", () => {
  assertEquals(ops("sysctl -w net.ipv4.tcp_synack_retries=2")[0].action, {
    type: "sysctl",
    key: "net.ipv4.tcp_synack_retries",
    value: 2,
    ttl_s: 300,
  });
  assertEquals(ops("sysctl net/ipv4/conf/all/rp_filter=1")[0].action.type, "sysctl");
  refused("sysctl -w net.ipv4.tcp_synack_retries=0", /tcp_synack_retries must be 1-5/);
  refused("sysctl -w net.ipv4.conf.all.rp_filter=0", /rp_filter must be 1-2/);
  refused("sysctl -w net.ipv4.icmp_echo_ignore_broadcasts=0", /must be 1$/);
  refused("sysctl -w net.core.netdev_max_backlog=5000", /not accepted \(only/);
  refused("sysctl -w net.ipv4.tcp_syn_retries=x", /must be a number/);
});

Deno.test("parseServerCommand() reads a playbook line by line and refuses all of it for one bad line", () => {
  const text = [
    "# SYN flood playbook",
    "sysctl -w net.ipv4.tcp_syncookies=1",
    "iptables -I INPUT -p tcp --syn --dport 443 -m hashlimit --hashlimit-above 50/sec --hashlimit-mode srcip --hashlimit-name s -j DROP",
    "",
    "iptables -I INPUT -m conntrack --ctstate INVALID -j DROP",
  ].join("\n");
  assertEquals(ops(text).map((o) => [o.line, o.action.type]), [
    [2, "syn_cookies"],
    [3, "server_rule"],
    [5, "server_rule"],
  ]);
  refused(`${text}\nreboot`, /^line 6: unknown command "reboot"$/);
  refused(`${text}\niptables -F`, /^line 6: iptables option -F is not accepted/);
  refused(
    `${text}\niptables -I INPUT -s 198.18.0.2 -j DROP`,
    /^line 6: .*allowlisted \(own address/,
  );
  refused(
    `iptables -I INPUT -s 203.0.113.9 -j DROP\niptables -I INPUT -s 203.0.113.9 -j DROP; reboot`,
    /^line 2: forbidden character ";"/,
  );
  refused(
    Array(65).fill("iptables -I INPUT -s 203.0.113.9 -j DROP").join("\n"),
    /at most 64 lines/,
  );
});

Deno.test("parseServerCommand() reads the xdp rule spec and refuses unknown fields precisely", () => {
  const xdp = (spec: unknown) =>
    parseServerCommand({ id: 9, command_type: "xdp", command_text: JSON.stringify(spec) }, options);
  const r = xdp({
    action: "rate_limit",
    dst: "198.51.100.7",
    protocol: "udp",
    dst_port: 27015,
    pps: 5000,
    per: "src",
    duration: 120,
  });
  assert(r.ok, JSON.stringify(r));
  assertEquals(r.ops[0].action, {
    ...base,
    hook: "prerouting",
    target: "198.51.100.7",
    protocol: 17,
    dport: { from: 27015, to: 27015 },
    limit: { rate: 5000, unit: "second", burst: 5000, over: true, per: "src" },
    ttl_s: 120,
  });
  const drop = xdp({ action: "drop", src: "203.0.113.0/24", duration: 60 });
  assert(drop.ok && drop.ops[0].action.type === "drop_source" && drop.ops[0].action.ttl_s === 60);
  const remove = xdp({ action: "drop", src: "203.0.113.0/24", remove: true });
  assert(remove.ok && remove.ops[0].undo);
  const bad: [unknown, RegExp][] = [
    [{ action: "drop", src: "203.0.113.9", ttl: 60 }, /unknown field "ttl"/],
    [{ action: "redirect", src: "203.0.113.9" }, /action must be "drop" or "rate_limit"/],
    [{ action: "rate_limit", protocol: "udp", dst_port: 53 }, /rate_limit needs pps/],
    [{ action: "drop", protocol: "udp" }, /every TCP or UDP packet/],
    [{ action: "drop" }, /would drop all traffic/],
    [{ action: "drop", src: "0.0.0.0/0" }, /wider than/],
    [{ action: "drop", src: "198.18.0.2" }, /allowlisted/],
    [
      { action: "drop", src: "203.0.113.9", duration: 999999 },
      /duration must be an integer 1-86400/,
    ],
    [[1, 2], /must be a JSON object/],
  ];
  for (const [spec, reason] of bad) {
    const b = xdp(spec);
    assert(!b.ok, JSON.stringify(spec));
    assertMatch(b.reason, reason);
  }
  const notJson = parseServerCommand(
    { id: 9, command_type: "xdp", command_text: "drop all" },
    options,
  );
  assert(!notJson.ok && /JSON rule spec/.test(notJson.reason));
});

Deno.test("parseServerCommand() reads iptables_unblock as the undo of iptables_block", () => {
  const r = parseServerCommand({
    id: 4,
    action: "iptables_unblock",
    source_ip: "203.0.113.9",
    protocol: "icmp",
  }, options);
  assert(r.ok);
  assertEquals(r.ops, [{
    undo: true,
    line: 1,
    action: { type: "drop_source", source: "203.0.113.9", protocol: 1, ttl_s: 300 },
  }]);
  const other = parseServerCommand({ id: 4, action: "iptables_flush" }, options);
  assert(!other.ok && /unknown command action "iptables_flush"/.test(other.reason));
});

Deno.test("parseServerCommand() refuses rules that would drop everything, mixed tables and unknown matches", () => {
  refused("iptables -I INPUT -m conntrack --ctstate NEW -j DROP", /every packet in state new/);
  refused("iptables -I INPUT -p tcp --syn -j REJECT", /every new connection/);
  refused(
    "iptables -I INPUT -p udp -m conntrack --ctstate ESTABLISHED -j DROP",
    /state established/,
  );
  refused("iptables -I PREROUTING -s 203.0.113.9 -j DROP", /PREROUTING is in the raw table/);
  refused("iptables -t raw -I INPUT -s 203.0.113.9 -j DROP", /chain INPUT is not in the raw table/);
  refused(
    "iptables -t raw -I PREROUTING -m conntrack --ctstate INVALID -j DROP",
    /not known yet in raw PREROUTING/,
  );
  refused("iptables -I INPUT -m conntrack --ctstate SNAT -j DROP", /conntrack state SNAT/);
  refused("iptables -I INPUT -p udp -m length --length 70000 -j DROP", /invalid length/);
  refused(
    "iptables -I INPUT -p udp --dport 53 -m limit --limit 5/fortnight -j DROP",
    /N\/sec, N\/minute or N\/hour/,
  );
  refused(
    "iptables -I INPUT -p udp --dport 53 -m limit --limit 5/s -m hashlimit --hashlimit-above 5/s -j DROP",
    /one of -m limit and -m hashlimit/,
  );
  refused(
    "iptables -I INPUT -p tcp --dport 80 -m hashlimit --hashlimit-above 5/s --hashlimit-mode srcip,dstport -j DROP",
    /mode srcip,dstport is not supported/,
  );
  refused("iptables -I INPUT -p tcp --dport 80 --limit 5/s -j DROP", /--limit needs -m limit/);
  refused("iptables -I INPUT -p tcp --dport 80:70 -j DROP", /invalid port range/);
  refused("ip6tables -I INPUT -f -d 2001:db8::1/64 -j DROP", /ip6tables has no -f/);
  refused(
    "iptables -I INPUT -m multiport --dports 80,443 -j DROP",
    /module multiport is not supported/,
  );
  refused("nft add rule inet filter input ip saddr 203.0.113.9 accept", /ending in drop or reject/);
  refused("nft add rule inet filter input ct state new drop", /every packet in state new/);
});

Deno.test("protectedRefusal() refuses a server rule on exactly the SSH port and lets a range through", () => {
  const flows = { controlPlane: [], sshPorts: [22], metricsPort: 0, resolvers: [], gateways: [] };
  const on = (text: string) => protectedRefusal(ops(text)[0].action as MitigationAction, flows);
  assertMatch(on("iptables -I INPUT -s 203.0.113.9 -p tcp --dport 22 -j REJECT") ?? "", /SSH/);
  assertEquals(on("iptables -I INPUT -s 203.0.113.9 -p tcp --dport 1:1024 -j DROP"), null);
});

Deno.test("serverRuleExpr() writes the nft match, limit and verdict of each rule shape", () => {
  const expr = (t: string) => serverRuleExpr(rule(t), "m_x");
  assertEquals(
    expr(
      "iptables -I INPUT -s 203.0.113.9 -p tcp --dport 1000:2000 -j REJECT --reject-with tcp-reset",
    ),
    "ip saddr 203.0.113.9 tcp dport 1000-2000 counter reject with tcp reset",
  );
  assertEquals(
    expr(
      "iptables -I INPUT -p tcp --syn --dport 443 -m hashlimit --hashlimit-above 20/sec --hashlimit-burst 40 --hashlimit-mode srcip --hashlimit-name x -j DROP",
    ),
    "tcp dport 443 tcp flags & (fin | syn | rst | ack) == syn update @m_x { ip saddr limit rate over 20/second burst 40 packets } counter drop",
  );
  assertEquals(
    expr("iptables -I INPUT -f -d 198.51.100.0/24 -m length --length 0:100 -j DROP"),
    "ip daddr 198.51.100.0/24 ip frag-off & 0x1fff != 0 meta length 0-100 counter drop",
  );
  assertEquals(
    expr("ip6tables -I FORWARD -m conntrack --ctstate INVALID,UNTRACKED -p icmp -j REJECT"),
    "meta l4proto 58 ct state { invalid, untracked } counter reject with icmpx type port-unreachable",
  );
});

Deno.test("the nft scripts of a server rule add its chain, timed map element and hook rule once, and undo all of them", () => {
  const r = rule("iptables -I INPUT -s 203.0.113.9 -p tcp --dport 80 -j DROP");
  const listing = parseServerChain(
    "table inet ftagent {\n\tchain cmd_in { # handle 40\n\t\tjump keep # handle 41\n\t\tmeta nfproto vmap @g_0000abcd # handle 42\n\t}\n}\n",
  );
  assertEquals(listing, { keep: 41, rules: new Map([["g_0000abcd", 42]]) });
  const add = nftServerRuleApplyScript("inet ftagent", r, "12345678", listing);
  assertMatch(add, /add element inet ftagent g_12345678 \{ ipv4 timeout 300s : jump s_12345678 \}/);
  assertMatch(add, /add rule inet ftagent cmd_in position 41 meta nfproto vmap @g_12345678\n$/);
  const renew = nftServerRuleApplyScript("inet ftagent", r, "0000abcd", listing);
  assert(!renew.includes("cmd_in"), renew);
  const undo = nftServerRuleUndoScript("inet ftagent", r, "0000abcd", listing);
  assertEquals(undo.split("\n").filter((l) => l !== ""), [
    "delete rule inet ftagent cmd_in handle 42",
    "add map inet ftagent g_0000abcd { type nf_proto : verdict; flags timeout; }",
    "delete map inet ftagent g_0000abcd",
    "add chain inet ftagent s_0000abcd",
    "flush chain inet ftagent s_0000abcd",
    "delete chain inet ftagent s_0000abcd",
  ]);
});

Deno.test("parseServerCommand() reads ipset create, add, del and destroy of the server's own sets", () => {
  const text = [
    "ipset create ddos_block hash:net family inet timeout 600 maxelem 65536 -exist",
    "ipset add ddos_block 203.0.113.0/24 timeout 120",
    "iptables -I INPUT -m set --match-set ddos_block src -j DROP",
    "ipset del ddos_block 203.0.113.0/24",
    "ipset destroy ddos_block",
  ].join("\n");
  const o = ops(text);
  assertEquals(o.map((op) => [op.undo, op.action.type]), [
    [false, "server_set"],
    [false, "set_element"],
    [false, "server_rule"],
    [true, "set_element"],
    [true, "server_set"],
  ]);
  assertEquals(o[0].action, {
    type: "server_set",
    name: "ddos_block",
    kind: "net",
    family: "ip",
    timeout: 600,
    ttl_s: 86400,
  });
  assertEquals((o[2].action as ServerRule).match_set, { name: "ddos_block", dir: "src" });
  assertEquals(
    serverRuleExpr(o[2].action as ServerRule, "m"),
    "ip saddr @x_ddos_block counter drop",
  );
  refused("ipset create a-b hash:ip", /must be 1-24 letters, digits or _/);
  refused("ipset create s hash:mac", /hash:mac is not supported/);
  refused("ipset create s hash:ip comment", /needs a value/);
  refused("ipset flush s", /only ipset create, add, del and destroy/);
  refused("ipset add s 0.0.0.0/0", /wider than/);
  refused("ipset add s 198.18.0.2", /allowlisted/);
  refused("iptables -I INPUT -m set --match-set s both -j DROP", /needs src or dst/);
});

Deno.test("parseServerCommand() reads nft add and delete element only in the agent's own table", () => {
  assertEquals(ops("nft add element inet ftagent src4 { 203.0.113.7 timeout 60s }")[0].action, {
    type: "drop_source",
    source: "203.0.113.7",
    protocol: null,
    ttl_s: 60,
  });
  const del = ops("nft delete element inet ftagent x_ddos_block { 203.0.113.7 }")[0];
  assertEquals([del.undo, del.action.type], [true, "set_element"]);
  refused("nft add element inet filter blocklist { 203.0.113.7 }", /only in the agent's own table/);
  refused("nft add element inet ftagent keep { 203.0.113.7 }", /set keep is not open/);
  refused("nft add element inet ftagent src6 { 203.0.113.7 }", /does not belong in src6/);
  refused("nft add element inet ftagent src4 { 203.0.113.7, 203.0.113.8 }", /one element/);
  refused(
    "nft add rule inet filter input ip saddr { 203.0.113.9 } drop",
    /invalid source address \{/,
  );
});
