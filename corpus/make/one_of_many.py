"""Steady per-address traffic over many addresses of SRV, for the corpus case one_of_many.

A small telemetry service on UDP port 5000 of each of 198.18.0.2 ... 198.18.0.N:
- `server` (in SRV): one socket bound to each address (SRV answers on all of 198.18.0.0/27), a
  cumulative acknowledgement (8 bytes) for every 10th report of each client;
- `clients` (in NET): two clients per address (198.18.18.x, one socket each) sending reports of
  12-28 bytes, together RATE(address) reports/s (15-25/s, 198.18.0.7 at 20/s), each interval
  jittered +-30%, for --seconds.
"""

import argparse
import random
import select
import socket
import struct
import time

PORT = 5000


def rate_of(i: int) -> float:
    """Reports/s to 198.18.0.i: 15..25, fixed per address, 20 for 198.18.0.7."""
    return 20.0 if i == 7 else 15.0 + (i * 7) % 11


def server(last: int) -> None:
    socks = []
    for i in range(2, last + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"198.18.0.{i}", PORT))
        socks.append(s)
    seen: dict = {}
    while True:
        ready, _, _ = select.select(socks, [], [], 1.0)
        for s in ready:
            data, peer = s.recvfrom(2048)
            key = (s.getsockname()[0], peer)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] % 10 == 0 and len(data) >= 4:
                s.sendto(b"ACK" + b"\0" + data[:4], peer)


def clients(last: int, seconds: float, seed: int) -> None:
    rnd = random.Random(seed)
    cl = []
    for i in range(2, last + 1):
        for j in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((f"198.18.18.{2 * (i - 1) + j - 1}", 0))
            s.setblocking(False)
            cl.append({"sock": s, "dst": (f"198.18.0.{i}", PORT), "mean": 2.0 / rate_of(i),
                       "next": time.monotonic() + rnd.uniform(0, 0.1), "seq": 0})
    end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for c in cl:
            if now >= c["next"]:
                c["seq"] += 1
                body = struct.pack("!I", c["seq"]) + rnd.randbytes(rnd.randint(8, 24))
                try:
                    c["sock"].sendto(body, c["dst"])
                except OSError:
                    pass
                c["next"] += c["mean"] * rnd.uniform(0.7, 1.3)
            try:
                while c["sock"].recv(2048):
                    pass
            except OSError:
                pass
        time.sleep(max(0.0005, min(c["next"] for c in cl) - time.monotonic()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "clients"])
    ap.add_argument("--last", type=int, default=15, help="addresses 198.18.0.2 .. 198.18.0.LAST")
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    if a.role == "server":
        server(a.last)
    else:
        clients(a.last, a.seconds, a.seed)


if __name__ == "__main__":
    main()
