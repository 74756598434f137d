import { LocalNetworks, parseAddress } from "../../../core/packet/mod.ts";
import { assertEquals } from "../../support/assert.ts";

const a = (text: string) => parseAddress(text);

Deno.test("LocalNetworks.has() matches IPv4 and IPv6 networks and single addresses", () => {
  const local = new LocalNetworks();
  assertEquals(local.set(["198.18.0.0/27", "2001:2::1", "not a network"]), ["not a network"]);
  assertEquals(local.size, 2);
  assertEquals(local.has(a("198.18.0.31")), true);
  assertEquals(local.has(a("198.18.0.32")), false);
  assertEquals(local.has(a("2001:2::1")), true);
  assertEquals(local.has(a("2001:2::2")), false);
});

Deno.test("LocalNetworks.isOutbound() is true only from a protected address to an outside one", () => {
  const local = new LocalNetworks();
  local.set(["198.18.0.0/27"]);
  assertEquals(local.isOutbound(a("198.18.0.1"), a("198.18.5.9")), true);
  assertEquals(local.isOutbound(a("198.18.5.9"), a("198.18.0.1")), false);
  assertEquals(local.isOutbound(a("198.18.0.1"), a("198.18.0.2")), false); // between our own
  assertEquals(local.isOutbound(a("198.18.5.9"), a("198.18.6.9")), false); // transit
});

Deno.test("LocalNetworks with no networks makes nothing outbound", () => {
  const local = new LocalNetworks();
  assertEquals(local.isOutbound(a("198.18.0.1"), a("198.18.5.9")), false);
  local.set(["198.18.0.0/27"]);
  local.set([]);
  assertEquals(local.isOutbound(a("198.18.0.1"), a("198.18.5.9")), false);
});
