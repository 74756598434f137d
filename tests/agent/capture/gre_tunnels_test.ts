import { listGreTunnels, parseGreLinks } from "../../../agent/capture/mod.ts";
import { assertEquals } from "../../support/assert.ts";

/**
 * `ip -d -j link show` output (iproute2 6.1) for a host with a GRE tunnel, a gretap, an
 * ip6gre, the kernel's fallback gre0 and an ordinary link. This machine's kernel has no GRE
 * (CONFIG_NET_IPGRE_DEMUX unset), so the tunnels' entries are written as iproute2 prints them.
 */
const IP_LINKS = JSON.stringify([
  { ifindex: 1, ifname: "lo", link_type: "loopback" },
  {
    ifindex: 2,
    ifname: "gre0",
    link_type: "gre",
    linkinfo: { info_kind: "gre", info_data: { remote: "any", local: "any", ttl: 0 } },
  },
  {
    ifindex: 5,
    ifname: "gre1",
    link_type: "gre",
    linkinfo: {
      info_kind: "gre",
      info_data: { remote: "198.18.40.1", local: "198.18.40.2", ttl: 64, pmtudisc: true },
    },
  },
  {
    ifindex: 6,
    ifname: "gtap1",
    link_type: "ether",
    linkinfo: { info_kind: "gretap", info_data: { remote: "198.18.41.1", local: "any" } },
  },
  {
    ifindex: 7,
    ifname: "g6",
    link_type: "gre6",
    linkinfo: { info_kind: "ip6gre", info_data: { remote: "2001:2::1", local: "2001:2::2" } },
  },
  { ifindex: 8, ifname: "veth0", link_type: "ether", linkinfo: { info_kind: "veth" } },
]);

Deno.test("parseGreLinks() lists GRE tunnels with their endpoints, not gre0 nor other links", () => {
  assertEquals(parseGreLinks(IP_LINKS), [
    { name: "gre1", type: "gre", remote_ip: "198.18.40.1", local_ip: "198.18.40.2" },
    { name: "gtap1", type: "gretap", remote_ip: "198.18.41.1", local_ip: null },
    { name: "g6", type: "ip6gre", remote_ip: "2001:2::1", local_ip: "2001:2::2" },
  ]);
  assertEquals(parseGreLinks("not json"), []);
  assertEquals(parseGreLinks('{"a":1}'), []);
  assertEquals(parseGreLinks('[null, 3, {"ifname": 7}]'), []);
});

Deno.test("listGreTunnels() runs ip on this host and finds no tunnel where the kernel has none", async () => {
  const found = await listGreTunnels();
  assertEquals(found, { tunnels: [], error: null });
});
