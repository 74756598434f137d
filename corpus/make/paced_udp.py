"""Steady UDP flood of small datagrams for the corpus, paced by the clock.

Runs in the NET namespace (see lib.sh), with real UDP sockets: one per --sources address (each
bound to its own ephemeral port), used round robin. Sends to --dst:--port (or a random port in
--port LO-HI per datagram) payloads of --size bytes (or a random size in LO-HI), --rate
datagrams/s for --seconds and never more than --count: the schedule is the clock's (datagram n
leaves at n / rate s, checked every millisecond), so the rate has no drift and no bursts over a
millisecond. Waits until --start-at (epoch s) when given. Prints the epoch of the first and last
datagram, the count sent and the count the kernel refused.
"""

import argparse
import random
import socket
import time


def span(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", default="9000", help="port or LO-HI (random per datagram)")
    ap.add_argument("--sources", required=True, help="comma-separated source addresses")
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--size", default="18", help="payload bytes or LO-HI")
    ap.add_argument("--start-at", type=float, default=0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    ports, sizes = span(a.port), span(a.size)
    socks = []
    for src in a.sources.split(","):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setblocking(False)
        socks.append(s)
    n = min(a.count, int(a.rate * a.seconds))
    payloads = [rnd.randbytes(rnd.randint(*sizes)) for _ in range(64)]
    while time.time() < a.start_at:
        time.sleep(min(0.01, a.start_at - time.time()))
    first = time.time()
    t0 = time.monotonic()
    sent = failed = 0
    while sent < n:
        el = time.monotonic() - t0
        if el >= a.seconds:
            break
        due = min(n, int(el * a.rate) + 1)
        while sent < due:
            try:
                socks[sent % len(socks)].sendto(payloads[sent % 64], (a.dst, rnd.randint(*ports)))
            except OSError:
                failed += 1
            sent += 1
        time.sleep(0.001)
    print(f"first {first:.6f} last {time.time():.6f} sent {sent - failed} failed {failed}", flush=True)


if __name__ == "__main__":
    main()
