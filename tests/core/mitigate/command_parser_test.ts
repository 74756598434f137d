import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { Allowlist, type ParsedCommand, parseServerCommand } from "../../../core/mitigate/mod.ts";

const options = {
  ttlS: 300,
  allowlist: new Allowlist([{ cidr: "198.18.0.2", why: "own address" }, {
    cidr: "198.19.0.0/16",
    why: "config",
  }]),
};

function parse(text: string): ParsedCommand {
  return parseServerCommand({ id: 7, command_type: "iptables", command_text: text }, options);
}

/** The one action `text` adds (fails the test when it is refused or has several steps). */
function actionOf(text: string) {
  const r = parse(text);
  assert(r.ok, `${text}: ${JSON.stringify(r)}`);
  assertEquals(r.ops.length, 1, text);
  assertEquals(r.ops[0].undo, false, text);
  return r.ops[0].action;
}

function refused(text: string, reason: RegExp): void {
  const r = parse(text);
  assert(!r.ok, `${JSON.stringify(text)} was accepted: ${JSON.stringify(r)}`);
  assertEquals(r.id, 7);
  assertMatch(r.reason, reason);
}

Deno.test("parseServerCommand() reads an iptables source drop as a drop of that source", () => {
  assertEquals(parse("iptables -I INPUT -s 203.0.113.9 -j DROP"), {
    ok: true,
    id: 7,
    ops: [{
      undo: false,
      action: { type: "drop_source", source: "203.0.113.9", protocol: null, ttl_s: 300 },
      line: 1,
    }],
  });
  assertEquals(actionOf("/usr/sbin/iptables -A INPUT 1 -s 203.0.113.0/24 -p udp -j DROP"), {
    type: "drop_source",
    source: "203.0.113.0/24",
    protocol: 17,
    ttl_s: 300,
  });
});

Deno.test("parseServerCommand() reads ip6tables -p ipv6-icmp as ICMPv6 (58), not ICMP", () => {
  for (const name of ["ipv6-icmp", "icmpv6"]) {
    assertEquals(actionOf(`ip6tables -I INPUT -s 2001:db8::7 -p ${name} -j DROP`), {
      type: "drop_source",
      source: "2001:db8::7",
      protocol: 58,
      ttl_s: 300,
    });
  }
});

Deno.test("parseServerCommand() reads port drops, SYN limits, fragments and rate limits", () => {
  const actions = [
    "iptables -I INPUT -d 198.18.0.2 -p udp --sport 123 -j DROP",
    "iptables -t raw -A PREROUTING -p tcp --syn --dport 80 -m hashlimit --hashlimit-above 500/sec --hashlimit-name x -j DROP",
    "iptables -I INPUT -f -d 198.18.0.2 -j DROP",
    "iptables -I INPUT -p gre -j DROP",
    "nft add rule inet filter input ip daddr 198.18.0.2 udp dport 53 limit rate over 100/second drop",
    "nft add rule ip6 filter input ip6 saddr 2001:db8::7 drop",
    "sysctl -w net.ipv4.tcp_syncookies=1",
    "ipset add blocklist 203.0.113.5 timeout 120",
    "ip route add blackhole 203.0.113.6",
  ].map(actionOf);
  assertEquals(actions, [
    {
      type: "drop_traffic",
      target: "198.18.0.2",
      protocol: 17,
      src_port: 123,
      dst_port: null,
      pps: 0,
      ttl_s: 300,
    },
    { type: "syn_rate_limit", target: null, dst_port: 80, pps: 500, ttl_s: 300 },
    { type: "drop_fragments", target: "198.18.0.2", ttl_s: 300 },
    {
      type: "drop_traffic",
      target: null,
      protocol: 47,
      src_port: null,
      dst_port: null,
      pps: 0,
      ttl_s: 300,
    },
    {
      type: "rate_limit",
      target: "198.18.0.2",
      protocol: 17,
      src_port: null,
      dst_port: 53,
      pps: 100,
      ttl_s: 300,
    },
    { type: "drop_source", source: "2001:db8::7", protocol: null, ttl_s: 300 },
    { type: "syn_cookies", ttl_s: 300 },
    // (An element of a set the server did not create becomes a source drop when it runs.)
    { type: "set_element", set: "blocklist", element: "203.0.113.5", kind: "ip", ttl_s: 120 },
    { type: "drop_source", source: "203.0.113.6", protocol: null, ttl_s: 300 },
  ]);
});

Deno.test("parseServerCommand() reads the iptables_block shape", () => {
  const r = parseServerCommand(
    { id: 3, action: "iptables_block", source_ip: "203.0.113.9", protocol: "tcp", duration: 60 },
    options,
  );
  assertEquals(r, {
    ok: true,
    id: 3,
    ops: [{
      undo: false,
      action: { type: "drop_source", source: "203.0.113.9", protocol: 6, ttl_s: 60 },
      line: 1,
    }],
  });
  const all = parseServerCommand(
    { id: 4, action: "iptables_block", source_ip: "2001:db8::1", protocol: "all" },
    options,
  );
  const a = all.ok ? all.ops[0].action : null;
  assert(a?.type === "drop_source" && a.protocol === null);
  for (
    const bad of [
      { id: 5, action: "iptables_block", source_ip: "203.0.113.9; rm -rf /" },
      { id: 5, action: "iptables_block", source_ip: "0.0.0.0/0" },
      { id: 5, action: "iptables_block", source_ip: "203.0.113.9", duration: 0 },
      { id: 5, action: "iptables_block", source_ip: "203.0.113.9", protocol: "tcp; ls" },
      { id: 5, action: "iptables_block", source_ip: "198.18.0.2" },
      { id: 5, action: "iptables_block", source_ip: ["1.2.3.4"] },
    ]
  ) {
    const r = parseServerCommand(bad, options);
    assert(!r.ok, JSON.stringify(bad));
    assertEquals(r.id, 5);
  }
});

Deno.test("parseServerCommand() refuses shell metacharacters", () => {
  for (
    const text of [
      "iptables -I INPUT -s 203.0.113.9 -j DROP; rm -rf /",
      "iptables -I INPUT -s 203.0.113.9 -j DROP && reboot",
      "iptables -I INPUT -s 203.0.113.9 -j DROP | sh",
      "iptables -I INPUT -s `id` -j DROP",
      "iptables -I INPUT -s $(id) -j DROP",
      "iptables -I INPUT -s 203.0.113.9 -j DROP > /etc/passwd",
      "iptables -I INPUT ! -s 203.0.113.9 -j DROP",
    ]
  ) refused(text, /forbidden character/);
});

Deno.test("parseServerCommand() refuses firewall-wide and destructive commands", () => {
  refused("nft flush ruleset", /only nft add\/insert\/delete rule/);
  refused("nft delete table inet filter", /only nft add\/insert\/delete rule/);
  refused("nft -f /tmp/rules", /only nft add\/insert\/delete rule/);
  refused("iptables -P INPUT DROP", /not accepted/);
  refused("iptables -F", /not accepted/);
  refused("iptables -t nat -F", /table nat is not supported/);
  refused("iptables -X FTAGENT", /not accepted/);
  refused("iptables -Z INPUT", /option -Z is not accepted/);
  refused("iptables -I INPUT -j DROP", /would drop all traffic/);
  refused("iptables -I INPUT -p tcp -j DROP", /every TCP or UDP/);
  refused("iptables -I INPUT -p tcp --syn -j DROP", /every new connection/);
  refused("iptables -I INPUT -s 203.0.113.9 -j ACCEPT", /only -j DROP/);
  refused("iptables -I OUTPUT -s 203.0.113.9 -j DROP", /chain OUTPUT/);
  refused("iptables -I INPUT -s 203.0.113.9 -m string --string x -j DROP", /module string/);
  refused("rm -rf /var/lib/ftagent", /unknown command "rm"/);
  refused("rm /etc/ftagent/config.json", /unknown command/);
  refused("sh -c reboot", /unknown command/);
});

Deno.test("parseServerCommand() refuses sysctl keys off the safe list, weakening values and a second key", () => {
  refused("sysctl -w net.ipv4.tcp_syncookies=1 kernel.modprobe=/tmp/x", /exactly one key/);
  refused("sysctl -w kernel.modprobe=/tmp/x", /kernel.modprobe is not accepted/);
  refused("sysctl -w net.ipv4.ip_forward=1", /not accepted/);
  refused("sysctl -w net.ipv4.tcp_syncookies=0", /net.ipv4.tcp_syncookies must be 1-2/);
  refused("sysctl -p /tmp/evil.conf", /exactly one key|not accepted/);
});

Deno.test("parseServerCommand() refuses blackholes of the default route and too-wide sources", () => {
  refused("ip route add blackhole default", /default route/);
  refused("ip route add blackhole 0.0.0.0/0", /wider than \/16/);
  refused("ip -6 route add blackhole ::/0", /wider than \/48/);
  refused("iptables -I INPUT -s 0.0.0.0/0 -j DROP", /wider than/);
  refused("iptables -I INPUT -s 10.0.0.0/8 -j DROP", /wider than/);
  refused("ip route del default", /only ip route add blackhole/);
});

Deno.test("parseServerCommand() refuses rate 0, bad ports, mixed families and allowlisted sources", () => {
  refused(
    "iptables -I INPUT -p udp --dport 53 -m hashlimit --hashlimit-above 0/sec -j DROP",
    /rate of 0/,
  );
  refused("nft add rule ip filter input udp dport 53 limit rate over 0/second drop", /rate of 0/);
  refused("iptables -I INPUT -p udp --dport 0 -j DROP", /invalid port/);
  refused("iptables -I INPUT -p udp --dport 70000 -j DROP", /invalid port/);
  refused("iptables -I INPUT -p icmp --dport 80 -j DROP", /ports need/);
  refused("iptables -I INPUT -s 2001:db8::1 -j DROP", /does not belong to iptables/);
  refused("ip6tables -I INPUT -s 203.0.113.9 -j DROP", /does not belong to ip6tables/);
  refused("ip6tables -I INPUT -s ::ffff:203.0.113.9 -j DROP", /invalid source/);
  refused("ip6tables -I INPUT -s fe80::1%eth0 -j DROP", /forbidden character/);
  refused("iptables -I INPUT -s 198.18.0.2 -j DROP", /allowlisted \(own address/);
  refused("iptables -I INPUT -s 198.19.4.0/24 -j DROP", /allowlisted \(config/);
  refused("iptables -I INPUT -s 127.0.0.1 -j DROP", /allowlisted \(loopback/);
  refused("ip6tables -I INPUT -s ::1 -j DROP", /allowlisted \(loopback/);
  refused("iptables -I INPUT -s 203.0.113.999 -j DROP", /invalid source/);
});

Deno.test("parseServerCommand() refuses very long inputs and non-commands without reading them", () => {
  refused("iptables -I INPUT -s 203.0.113.9 -j DROP " + "x".repeat(10_000), /at most 512/);
  const r = parseServerCommand({ id: 1, command_text: 42 }, options);
  assert(!r.ok && /must be a string/.test(r.reason));
  const noId = parseServerCommand(
    { command_text: "iptables -I INPUT -s 1.2.3.4 -j DROP" },
    options,
  );
  assert(!noId.ok && noId.id === null && /integer id/.test(noId.reason));
  for (const junk of [null, "text", [1], 3]) {
    const j = parseServerCommand(junk, options);
    assert(!j.ok && j.id === null);
  }
  refused("", /empty/);
});
