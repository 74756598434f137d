"""A UDP game server and its players, for the corpus (see game_server.sh): legitimate UDP.

`server` runs on the protected host (198.18.0.1:27015) and answers every client datagram
with a state update of similar small size (40-120 bytes). `players` runs in NET: --players
sockets bound to 198.18.18.1, .2, ... (port 27005 each), each sending --rate datagrams/s of
40-120 bytes (intervals jittered +-10%, phases spread), --burst-factor times faster during
--burst-seconds from --burst-at (a map change: everyone reloads at once), for --seconds in
all. It reads the server's answers as they come and prints the burst's epoch times as JSON.
"""

import argparse
import heapq
import json
import os
import random
import select
import socket
import struct
import time


def server(a: argparse.Namespace) -> None:
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((a.bind, a.port))
    end = time.monotonic() + a.seconds
    tick = 0
    answered = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        d, peer = s.recvfrom(2048)
        tick += 1
        size = max(40, min(120, len(d) + rnd.randint(-16, 16)))
        head = struct.pack("!BIH", 0x02, tick, len(d))  # snapshot: tick, size of the command
        s.sendto(head + os.urandom(size - len(head)), peer)
        answered += 1
    print(f"server: answered {answered} datagrams")


def players(a: argparse.Namespace) -> None:
    rnd = random.Random(a.seed)
    socks = []
    for i in range(1, a.players + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"{a.prefix}{i}", 27005))
        s.setblocking(False)
        socks.append(s)
    peer = (a.server, a.port)
    start = time.monotonic()
    wall0 = time.time() - start  # epoch = wall0 + monotonic
    b_on, b_off = start + a.burst_at, start + a.burst_at + a.burst_seconds
    end = start + a.seconds
    queue = [(start + rnd.uniform(0, 1 / a.rate), i) for i in range(len(socks))]
    heapq.heapify(queue)
    seq = [0] * len(socks)
    sent = got = 0
    while queue:
        due, i = queue[0]
        now = time.monotonic()
        if due > now:
            r, _, _ = select.select(socks, [], [], due - now)
            for s in r:
                try:
                    while s.recv(2048):
                        got += 1
                except BlockingIOError:
                    pass
            continue
        heapq.heappop(queue)
        if due >= end:
            continue
        seq[i] += 1
        size = rnd.randint(40, 120)
        head = struct.pack("!BIB", 0x01, seq[i], i)  # usercmd: sequence, player slot
        try:
            socks[i].sendto(head + os.urandom(size - len(head)), peer)
            sent += 1
        except OSError:
            pass
        rate = a.rate * (a.burst_factor if b_on <= due < b_off else 1)
        nxt = due + rnd.uniform(0.9, 1.1) / rate
        if due < b_on <= nxt:  # the map change starts for everyone at once
            nxt = b_on + rnd.uniform(0, 1 / (a.rate * a.burst_factor))
        heapq.heappush(queue, (nxt, i))
    # Last answers.
    stop = time.monotonic() + 0.5
    while time.monotonic() < stop:
        r, _, _ = select.select(socks, [], [], 0.1)
        for s in r:
            try:
                while s.recv(2048):
                    got += 1
            except BlockingIOError:
                pass
    print(json.dumps({"burst_on": round(wall0 + b_on, 6), "burst_off": round(wall0 + b_off, 6),
                      "sent": sent, "answers": got}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "players"])
    ap.add_argument("--bind", default="198.18.0.1")
    ap.add_argument("--server", default="198.18.0.1")
    ap.add_argument("--port", type=int, default=27015)
    ap.add_argument("--prefix", default="198.18.18.", help="players: address prefix")
    ap.add_argument("--players", type=int, default=64)
    ap.add_argument("--rate", type=float, default=6.0, help="datagrams/s per player")
    ap.add_argument("--seconds", type=float, default=38.0)
    ap.add_argument("--burst-at", type=float, default=26.0)
    ap.add_argument("--burst-seconds", type=float, default=5.0)
    ap.add_argument("--burst-factor", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=27015)
    a = ap.parse_args()
    (server if a.role == "server" else players)(a)


if __name__ == "__main__":
    main()
