import { signatureOf, SIGNATURES } from "../../../core/payload/mod.ts";
import { assertEquals } from "../../support/assert.ts";

const enc = new TextEncoder();
const name = (buf: Uint8Array, port: number) => {
  const i = signatureOf(buf, 0, buf.length, port);
  return i < 0 ? null : SIGNATURES[i].name;
};
const cat = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => typeof p === "string" ? [...enc.encode(p)] : p));

/** A DNS answer: `answers` records, question `qtype` for example.com. */
function dns(qtype: number, answers: number, response = true): Uint8Array {
  return cat(
    [0x12, 0x34, response ? 0x81 : 0x01, 0x80, 0, 1, answers >> 8, answers & 0xff, 0, 0, 0, 0],
    [7, ...enc.encode("example"), 3, ...enc.encode("com"), 0, qtype >> 8, qtype & 0xff, 0, 1],
  );
}

Deno.test("signatureOf() names NTP mode-7 monlist answers from port 123, every packet of a series", () => {
  assertEquals(name(cat([0x17, 0x00, 0x03, 0x2a], Array(40).fill(0)), 123), "ntp_monlist");
  assertEquals(name(cat([0xd7, 0x00, 0x03, 0x2a], Array(440).fill(0)), 123), "ntp_monlist");
  // Later answers of a series: sequence numbers, the last without the "more" bit.
  assertEquals(name(cat([0xd7, 0x05, 0x03, 0x2a], Array(440).fill(0)), 123), "ntp_monlist");
  assertEquals(name(cat([0x97, 0x09, 0x03, 0x2a], Array(440).fill(0)), 123), "ntp_monlist");
  assertEquals(name(cat([0xd7, 0x00, 0x02, 0x14], Array(440).fill(0)), 123), "ntp_monlist");
  assertEquals(name(cat([0x1c, 0x02, 0x03, 0xe8], Array(44).fill(0)), 123), null); // mode 4
  assertEquals(name(cat([0xd7, 0x00, 0x03, 0x10], Array(44).fill(0)), 123), null); // not monlist
  assertEquals(name(cat([0xd7, 0x00, 0x03, 0x2a], Array(40).fill(0)), 5555), null);
});

Deno.test("signatureOf() names memcached VALUE and STAT answers, after the UDP frame header or not", () => {
  const frame = [0, 1, 0, 0, 0, 1, 0, 0];
  assertEquals(name(cat(frame, "VALUE key 0 100\r\n"), 11211), "memcached_value");
  assertEquals(name(cat(frame, "STAT pid 1\r\n"), 11211), "memcached_value");
  assertEquals(name(cat("VALUE k 0 1\r\n"), 11211), "memcached_value");
  assertEquals(name(cat(frame, "END\r\n"), 11211), null);
});

Deno.test("signatureOf() names CLDAP BER answers (30 84 or 30 82) from port 389", () => {
  assertEquals(name(cat([0x30, 0x84, 0, 0, 0x0b, 0x8f], Array(20).fill(0)), 389), "cldap_ber");
  assertEquals(name(cat([0x30, 0x82, 0x0b, 0x8f], Array(20).fill(0)), 389), "cldap_ber");
  assertEquals(name(cat([0x30, 0x25, 0x02, 0x01], Array(20).fill(0)), 389), null);
});

Deno.test("signatureOf() names SSDP 200 OK answers only when they carry an ST: header", () => {
  const ok = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n\r\n";
  assertEquals(name(cat(ok), 1900), "ssdp_ok");
  assertEquals(name(cat(ok.replace("ST:", "st:")), 1900), "ssdp_ok");
  assertEquals(name(cat("HTTP/1.1 200 OK\r\nSERVER: x\r\n\r\n"), 1900), null);
  assertEquals(name(cat("M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"), 1900), null);
});

Deno.test("signatureOf() names DNS answers to ANY and answers with many records, not queries", () => {
  assertEquals(name(dns(255, 1), 53), "dns_any");
  assertEquals(name(dns(1, 12), 53), "dns_any");
  assertEquals(name(dns(1, 2), 53), null);
  assertEquals(name(dns(255, 0, false), 53), null);
});

Deno.test("signatureOf() names chargen's printable character ramp from port 19", () => {
  const line = Array.from({ length: 72 }, (_, i) => 0x20 + ((i + 90) % 95));
  assertEquals(name(Uint8Array.from([...line, 13, 10]), 19), "chargen");
  assertEquals(name(enc.encode("hello world, this is not a ramp"), 19), null);
});

Deno.test("signatureOf() reads nothing past a short payload", () => {
  for (const s of SIGNATURES) assertEquals(name(new Uint8Array(3), s.port), null);
  const buf = cat([0xd7, 0x00, 0x03, 0x2a]);
  assertEquals(signatureOf(buf, 0, 3, 123), -1);
});
