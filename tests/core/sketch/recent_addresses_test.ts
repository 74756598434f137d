import { parseAddress } from "../../../core/packet/mod.ts";
import { RecentAddresses } from "../../../core/sketch/mod.ts";
import { assert, assertEquals } from "../../support/assert.ts";

const a = (i: number) => parseAddress(`198.18.${i >> 8}.${i & 255}`);

Deno.test("RecentAddresses.has() never misses an address added in this or the last generation", () => {
  const set = new RecentAddresses();
  for (let i = 0; i < 1000; i++) set.add(a(i));
  set.rotate();
  for (let i = 1000; i < 2000; i++) set.add(a(i));
  for (let i = 0; i < 2000; i++) assert(set.has(a(i)), `address ${i}`);
});

Deno.test("RecentAddresses.rotate() forgets the generation before the last", () => {
  const set = new RecentAddresses();
  set.add(a(1));
  set.rotate();
  assertEquals(set.has(a(1)), true);
  set.rotate();
  assertEquals(set.has(a(1)), false);
});

Deno.test("RecentAddresses says yes for few addresses never added (about the share of bits set)", () => {
  const set = new RecentAddresses();
  for (let i = 0; i < 1000; i++) set.add(a(i));
  let wrong = 0;
  for (let i = 10000; i < 20000; i++) if (set.has(a(i))) wrong++;
  assert(wrong < 150, `${wrong} of 10000 strangers taken for known`);
});

Deno.test("RecentAddresses.has() answers again after an add of the remembered address", () => {
  const set = new RecentAddresses();
  assertEquals(set.has(a(7)), false);
  set.add(a(7));
  assertEquals(set.has(a(7)), true);
});
