"""Connection flood for the corpus: bots complete real TCP handshakes, send a few bytes and abort.

Runs in the NET namespace (see lib.sh). Each connection: bound to a bot address (cycling through
--bots addresses of 198.18.19.0/24 and 198.18.20.0/24), connect() to the server (SYN, SYN-ACK,
ACK), send --payload (an unfinished request, so the server sends nothing back but an ACK), then
SO_LINGER 0 and close(): the kernel aborts the connection with RST. Paced at --cps connections
per second; bounded by --seconds and --max connections.
"""

import argparse
import socket
import struct
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--cps", type=float, default=125.0, help="connections per second")
    ap.add_argument("--max", type=int, default=5000, help="connections at most")
    ap.add_argument("--bots", type=int, default=100)
    ap.add_argument("--payload", default="GET /")
    a = ap.parse_args()
    half = (a.bots + 1) // 2
    bots = [f"198.18.19.{i}" for i in range(1, half + 1)]
    bots += [f"198.18.20.{i}" for i in range(1, a.bots - half + 1)]
    payload = a.payload.encode()
    linger = struct.pack("ii", 1, 0)
    start = time.monotonic()
    made = failed = 0
    n = 0
    while n < a.max:
        t = time.monotonic()
        if t - start >= a.seconds:
            break
        due = start + n / a.cps
        if due > t:
            time.sleep(due - t)
        bot = bots[n % len(bots)]
        n += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(2)
            s.bind((bot, 0))
            s.connect((a.server, a.port))
            s.sendall(payload)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            made += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    el = time.monotonic() - start
    print(f"connection_flood: {made} connections aborted, {failed} failed, {el:.1f} s, "
          f"{made / el:.1f}/s, {len(bots)} bots")


if __name__ == "__main__":
    main()
