"""Ordinary background traffic towards the protected host, for the corpus captures.

Runs in the NET namespace (see lib.sh). Web: clients from 198.18.16.1-200 fetch a page and
some of its assets from nginx (new connections, closed with FIN, content flowing back). DNS:
four resolvers (198.18.17.1-4) look up known names of example.test. Rates follow
base x (1 + vary x sin(2 pi t / period)), so --vary 0.6 gives slow +-60% swings.
"""

import argparse
import http.client
import math
import random
import socket
import struct
import threading
import time

PAGES = ["/", "/assets/app.css", "/assets/app.js", "/assets/hero.jpg", "/ping"]
NAMES = ["www", "mail", "api", "cdn", "shop", "img", "static", "login", "news", "blog"]


def fetch(server: str, client: str, paths: list) -> None:
    try:
        conn = http.client.HTTPConnection(server, 80, timeout=5, source_address=(client, 0))
        for p in paths:
            conn.request("GET", p, headers={"User-Agent": "Mozilla/5.0 corpus-bg"})
            conn.getresponse().read()
        conn.close()
    except OSError:
        pass


def dns_query(name: str, qid: int) -> bytes:
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--web-rps", type=float, default=4.0, help="page visits per second")
    ap.add_argument("--dns-qps", type=float, default=20.0)
    ap.add_argument("--vary", type=float, default=0.0)
    ap.add_argument("--period", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    resolvers = []
    for i in range(1, 5):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"198.18.17.{i}", 0))
        s.setblocking(False)
        resolvers.append(s)
    start = time.monotonic()
    next_web = next_dns = start
    qid = 0
    while True:
        now = time.monotonic()
        t = now - start
        if t >= a.seconds:
            break
        factor = 1 + a.vary * math.sin(2 * math.pi * t / a.period)
        if now >= next_web and a.web_rps > 0:
            client = f"198.18.16.{rnd.randint(1, 200)}"
            paths = ["/"] + rnd.sample(PAGES[1:], rnd.randint(0, 3))
            threading.Thread(target=fetch, args=(a.server, client, paths), daemon=True).start()
            next_web += rnd.expovariate(a.web_rps * factor)
        if now >= next_dns and a.dns_qps > 0:
            qid = (qid + 1) & 0xFFFF
            s = rnd.choice(resolvers)
            try:
                s.sendto(dns_query(f"{rnd.choice(NAMES)}.example.test", qid), (a.server, 53))
            except OSError:
                pass
            next_dns += rnd.expovariate(a.dns_qps * factor)
        for s in resolvers:
            try:
                while s.recv(2048):
                    pass
            except OSError:
                pass
        time.sleep(max(0.0, min(next_web, next_dns) - time.monotonic(), 0.0005))


if __name__ == "__main__":
    main()
