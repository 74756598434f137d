"""A QUIC-like download for the corpus (see quic_download.sh): legitimate heavy UDP.

`server` runs in NET (198.18.16.240:443): it waits for the client's Initial, answers with a
few long-header handshake datagrams, then streams short-header 1-RTT datagrams of 1,200-1,350
bytes at --rate for --seconds (bounded by rate x seconds datagrams), reads the client's ACKs
as they come, and ends with a small CONNECTION_CLOSE. `client` runs on the protected host
(198.18.0.1, a fixed port): it sends a 1,200-byte Initial (retried every 0.5 s until answered),
acknowledges every --ack-every datagrams received with one small datagram, and stops on the
close, after --idle seconds without data, or at --seconds. Plain python sockets; the bytes
are random behind headers shaped like QUIC v1's.
"""

import argparse
import os
import random
import socket
import struct
import time

VERSION = 1


def long_header(kind: int, dcid: bytes, scid: bytes, pn: int, size: int) -> bytes:
    # 1 1 type(2) reserved(2) pn_len(2) | version | dcid len, dcid | scid len, scid | rest.
    h = bytes([0xC0 | (kind << 4) | 0x01]) + struct.pack("!I", VERSION)
    h += bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    if kind == 0:  # Initial: empty token
        h += b"\x00"
    h += struct.pack("!H", 0x4000 | (size & 0x3FFF)) + struct.pack("!H", pn & 0xFFFF)
    return h + os.urandom(max(0, size - len(h)))


def short_header(dcid: bytes, pn: int, size: int) -> bytes:
    # 0 1 spin reserved(2) key_phase pn_len(2)=3 | dcid | 4-byte packet number | payload.
    h = bytes([0x43]) + dcid + struct.pack("!I", pn & 0xFFFFFFFF)
    return h + os.urandom(max(0, size - len(h)))


def server(a: argparse.Namespace) -> None:
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.bind((a.bind, a.port))
    s.settimeout(a.wait)
    try:
        first, client = s.recvfrom(2048)
    except socket.timeout:
        print("server: no client")
        return
    cid = first[6:14] if len(first) >= 14 else os.urandom(8)
    scid = os.urandom(8)
    for pn, (kind, size) in enumerate([(0, 1200), (2, 1252), (2, 1252)]):
        s.sendto(long_header(kind, cid, scid, pn, size), client)
    s.setblocking(False)
    count = int(a.rate * a.seconds)
    acks = 0
    start = time.monotonic()
    sent = 0
    for i in range(count):
        due = start + i / a.rate
        now = time.monotonic()
        if now - start > a.seconds + 1:
            break
        if due > now:
            time.sleep(due - now)
        s.sendto(short_header(scid, 3 + i, rnd.randint(1200, 1350)), client)
        sent += 1
        try:
            while s.recv(2048):
                acks += 1
        except BlockingIOError:
            pass
    took = time.monotonic() - start
    s.setblocking(True)
    s.sendto(short_header(scid, 3 + sent, 40), client)  # CONNECTION_CLOSE
    print(f"server: sent {sent} datagrams in {took:.2f} s ({sent / took:.0f}/s), {acks} acks read")


def client(a: argparse.Namespace) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    s.bind((a.bind, a.port))
    dcid, scid = os.urandom(8), os.urandom(8)
    peer = (a.server, a.server_port)
    start = time.monotonic()
    got = 0
    pn = 0
    # Initial, retried until the server answers.
    s.settimeout(0.5)
    while True:
        s.sendto(long_header(0, dcid, scid, pn, 1200), peer)
        pn += 1
        try:
            d = s.recv(2048)
            break
        except socket.timeout:
            if time.monotonic() - start > a.seconds:
                print("client: no answer")
                return
    got = 1
    s.sendto(long_header(2, dcid, scid, pn, 90), peer)  # Handshake: ACK + Finished
    pn += 1
    s.settimeout(a.idle)
    while time.monotonic() - start < a.seconds:
        try:
            d = s.recv(2048)
        except socket.timeout:
            break
        got += 1
        if len(d) < 100 and not d[0] & 0x80:  # the server's CONNECTION_CLOSE
            break
        if got % a.ack_every == 0:
            s.sendto(short_header(dcid, pn, random.randint(40, 56)), peer)
            pn += 1
    print(f"client: received {got} datagrams, sent {pn} ({pn - 2} acks)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server", default="198.18.16.240")
    ap.add_argument("--server-port", type=int, default=443)
    ap.add_argument("--rate", type=float, default=850.0, help="server datagrams per second")
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--wait", type=float, default=10.0, help="server: seconds to wait for a client")
    ap.add_argument("--idle", type=float, default=2.0, help="client: seconds without data to stop")
    ap.add_argument("--ack-every", type=int, default=3)
    ap.add_argument("--seed", type=int, default=443)
    a = ap.parse_args()
    (server if a.role == "server" else client)(a)


if __name__ == "__main__":
    main()
