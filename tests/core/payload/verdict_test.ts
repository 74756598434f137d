import {
  annotateIncident,
  applyFindings,
  iocSubtype,
  type PayloadFindings,
  PayloadInspector,
} from "../../../core/payload/mod.ts";
import { IpProto, PacketMeta, parseAddress } from "../../../core/packet/mod.ts";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";

/** An event as the detector makes it (the fields the findings touch). */
function event(subtype: string, family = "udp_flood", confidence = 80): Record<string, unknown> {
  return {
    type: "incident",
    event: "update",
    id: "x",
    target: "198.18.0.1",
    started_at: "2027-01-15T08:00:00.000000+00:00",
    attack_family: family,
    attack_subtype: subtype,
    confidence,
    botnet_detected: false,
    ioc_hits: [],
    evidence: { summary: "97% UDP, 200 sources, mean 80 B", rule: "udp 0.97 >= 0.5" },
  };
}

function findings(over: Partial<PayloadFindings>): PayloadFindings {
  return { inspected: 1000, ioc: [], signatures: [], ...over };
}

const mirai = { hit: "mirai:botnet", name: "mirai", family: "botnet", hits: 950 };

Deno.test("iocSubtype() names botnets <name>_botnet, attack tools attack_tool and booters booter_service", () => {
  for (const bot of ["mirai", "Gafgyt", "mozi", "XorDDoS", "meris"]) {
    assertEquals(iocSubtype(bot, "botnet"), `${bot.toLowerCase()}_botnet`);
    assertEquals(iocSubtype(bot, "unknown"), `${bot.toLowerCase()}_botnet`);
  }
  for (const tool of ["loic", "HOIC", "mhddos", "hping", "hping3"]) {
    assertEquals(iocSubtype(tool, "udp_flood"), "attack_tool");
  }
  assertEquals(iocSubtype("some stresser", "udp_flood"), "booter_service");
  assertEquals(iocSubtype("quantum", "booter"), "booter_service");
  assertEquals(iocSubtype("newbot", "botnet"), "newbot_botnet");
  assertEquals(iocSubtype("custom", "attack tool"), "attack_tool");
  assertEquals(iocSubtype("something", "udp_flood"), null);
});

Deno.test("applyFindings() names the tool, the botnet subtype and raises the confidence over a generic subtype", () => {
  const e = event("volumetric");
  applyFindings(
    e,
    findings({ ioc: [mirai, { ...mirai, hit: "loic:tool", name: "loic", hits: 2 }] }),
  );
  assertEquals(e.ioc_hits, ["mirai:botnet", "loic:tool"]);
  assertEquals(e.attack_tool, "mirai");
  assertEquals(e.attack_subtype, "mirai_botnet");
  assertEquals(e.attack_family, "udp_flood");
  assertEquals(e.botnet_detected, true);
  assertEquals(e.confidence, 90); // half of the way to 100 at 95% of the payloads
  const ev = e.evidence as Record<string, unknown>;
  assertMatch(
    String(ev.summary),
    /payload: indicator mirai:botnet in 95%, .* of 1000 inspected payloads/,
  );
  assertMatch(
    String(ev.rule),
    /indicator mirai:botnet in 95% of inspected payloads names mirai_botnet/,
  );
  assertEquals((ev.payload as Record<string, unknown>).inspected, 1000);
});

Deno.test("applyFindings() keeps a specific subtype and names the tool beside it", () => {
  const e = event("ntp_amplification");
  applyFindings(
    e,
    findings({ ioc: [{ hit: "mhddos:tool", name: "mhddos", family: "tool", hits: 400 }] }),
  );
  assertEquals([e.attack_subtype, e.attack_tool, e.botnet_detected], [
    "ntp_amplification",
    "mhddos",
    false,
  ]);
});

Deno.test("applyFindings() lists rare indicators in ioc_hits but names nothing from them", () => {
  const e = event("volumetric");
  applyFindings(e, findings({ ioc: [{ ...mirai, hits: 20 }] })); // 2% of the payloads
  assertEquals(e.ioc_hits, ["mirai:botnet"]);
  assertEquals([e.attack_subtype, e.attack_tool, e.confidence], ["volumetric", undefined, 80]);
});

Deno.test("applyFindings() confirms an amplification subtype with its signature and names the share in the evidence", () => {
  const e = event("ntp_amplification", "udp_flood", 60);
  const sig = {
    name: "ntp_monlist",
    service: "ntp",
    label: "NTP mode-7 monlist answers",
    hits: 870,
  };
  applyFindings(e, findings({ signatures: [sig] }));
  assertEquals(e.attack_subtype, "ntp_amplification");
  assertEquals(e.confidence, 77);
  const ev = e.evidence as Record<string, unknown>;
  assertMatch(
    String(ev.summary),
    /payload: NTP mode-7 monlist answers in 87% of 1000 inspected payloads/,
  );
  assertMatch(String(ev.rule), /payload signature ntp_monlist confirms ntp_amplification/);
  assertEquals((ev.payload as { signatures: unknown }).signatures, { ntp_monlist: 87 });
});

Deno.test("applyFindings() names the amplification a dominant signature shows over a mixed or generic subtype", () => {
  const sig = { name: "cldap_ber", service: "cldap", label: "CLDAP BER answers", hits: 700 };
  for (const subtype of ["multi_amplification", "volumetric", "unknown"]) {
    const e = event(subtype, subtype === "unknown" ? "unknown" : "udp_flood");
    applyFindings(e, findings({ signatures: [sig] }));
    assertEquals([e.attack_family, e.attack_subtype], ["udp_flood", "cldap_amplification"]);
  }
  const dns = event("volumetric");
  applyFindings(dns, findings({ signatures: [{ ...sig, name: "dns_any", service: "dns" }] }));
  assertEquals([dns.attack_family, dns.attack_subtype], ["dns_flood", "dns_amplification"]);
  const weak = event("multi_amplification");
  applyFindings(weak, findings({ signatures: [{ ...sig, hits: 400 }] }));
  assertEquals(weak.attack_subtype, "multi_amplification");
  const other = event("syn_flood", "syn_flood");
  applyFindings(other, findings({ signatures: [sig] }));
  assertEquals(other.attack_subtype, "syn_flood");
});

Deno.test("annotateIncident() watches an incident's target from its first event to its resolve, outbound findings aside", () => {
  const ins = new PayloadInspector([{
    pattern: "MIRAI",
    attack_name: "mirai",
    attack_family: "botnet",
  }]);
  const meta = new PacketMeta();
  meta.ipVersion = 4;
  meta.protocol = IpProto.UDP;
  parseAddress("198.18.0.1", meta.dst);
  meta.payloadOffset = 0;
  const buf = new TextEncoder().encode("....MIRAI....");
  meta.payloadLen = buf.length;
  const t0 = Date.parse("2027-01-15T08:00:00Z") * 1000;
  for (let i = 0; i < 100; i++) {
    meta.tsUs = t0 + i * 10_000;
    ins.inspect(buf, meta);
  }
  const open: Record<string, unknown> = { ...event("volumetric"), event: "open" };
  annotateIncident(ins, open);
  assertEquals([open.ioc_hits, open.attack_subtype], [["mirai:botnet"], "mirai_botnet"]);
  const resolve: Record<string, unknown> = { ...event("volumetric"), event: "resolve" };
  annotateIncident(ins, resolve);
  assertEquals(resolve.attack_tool, "mirai");
  assertEquals(ins.findings("198.18.0.1"), null);
  const out: Record<string, unknown> = {
    ...event("volumetric"),
    event: "open",
    target: "outbound",
    direction: "outbound",
  };
  annotateIncident(ins, out);
  assertEquals(out.ioc_hits, []);
  assert(ins.findings("outbound") === null);
});
