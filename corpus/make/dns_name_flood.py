"""DNS query flood of one repeated name through the four resolvers, for the corpus.

Runs in the NET namespace (see lib.sh). The sibling of dns_water_torture.py, with its queries
(the same wire format: random query id, no recursion desired, an EDNS0 OPT record, qtype A) and
its resolvers (198.18.17.1-4, a pool of 32 sockets each: a random source port per query), but
every query asks for the same --name (a name dnsmasq on SRV knows: each is answered NOERROR).
--rate queries/s for --seconds, never more than --count, paced by the clock; the answers are read
and counted. Waits until --start-at (epoch s) when given. Prints the epoch of the first and last
query, the queries sent (and refused by the kernel) and the answers by rcode.
"""

import argparse
import collections
import random
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in corpus/make
from dns_water_torture import RESOLVERS, query  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--name", default="www.example.test")
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--start-at", type=float, default=0)
    ap.add_argument("--seed", type=int, default=53)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    socks = []
    for r in RESOLVERS:
        for _ in range(32):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((r, 0))
            s.setblocking(False)
            socks.append(s)
    rcodes: collections.Counter = collections.Counter()

    def drain() -> None:
        for s in socks:
            try:
                while True:
                    data = s.recv(2048)
                    if len(data) >= 4:
                        rcodes[data[3] & 0x0F] += 1
            except OSError:
                pass

    n = min(a.count, int(a.rate * a.seconds))
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
                rnd.choice(socks).sendto(query(a.name, rnd.getrandbits(16)), (a.server, 53))
            except OSError:
                failed += 1
            sent += 1
        drain()
        time.sleep(0.001)
    last = time.time()
    end = time.monotonic() + 1
    while time.monotonic() < end:
        drain()
        time.sleep(0.01)
    names = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
    answers = " ".join(f"{names.get(k, k)}={v}" for k, v in sorted(rcodes.items()))
    print(f"first {first:.6f} last {last:.6f} sent {sent - failed} failed {failed} answers {answers}",
          flush=True)


if __name__ == "__main__":
    main()
