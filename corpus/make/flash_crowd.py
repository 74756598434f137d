"""Flash crowd for the corpus: many new, legitimate web clients arrive at once.

Runs in the NET namespace (see lib.sh). --clients new clients (198.18.21.1 onwards: addresses
bg.py never uses, inside the bindable web-client range 198.18.16.0/20) arrive evenly over
--arrive seconds. Each loads a page like bg.py's visitors do, on one keep-alive connection:
"/" and then each of app.css, app.js, hero.jpg with the chances --assets (and /ping with 0.3),
reading every response, then closes normally (FIN). A --revisit share of the clients views
another page ("/", assets cached) on a new connection after a think time drawn from
--think (lo,hi seconds). Bounded by --seconds: no visit starts later.
"""

import argparse
import http.client
import random
import threading
import time

ASSETS = ["/assets/app.css", "/assets/app.js", "/assets/hero.jpg"]
done = {"visits": 0, "requests": 0, "errors": 0}
lock = threading.Lock()


def visit(server: str, client: str, paths: list) -> None:
    n = 0
    try:
        conn = http.client.HTTPConnection(server, 80, timeout=5, source_address=(client, 0))
        for p in paths:
            conn.request("GET", p, headers={"User-Agent": "Mozilla/5.0 corpus-crowd"})
            conn.getresponse().read()
            n += 1
        conn.close()
        with lock:
            done["visits"] += 1
            done["requests"] += n
    except OSError:
        with lock:
            done["errors"] += 1


def client_life(server, client, paths, revisit_after, deadline) -> None:
    visit(server, client, paths)
    if revisit_after is not None:
        wake = time.monotonic() + revisit_after
        if wake < deadline:
            time.sleep(max(0.0, wake - time.monotonic()))
            visit(server, client, ["/"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--arrive", type=float, default=10.0, help="seconds over which clients arrive")
    ap.add_argument("--assets", default="0.7,0.4,0.15", help="chances of app.css,app.js,hero.jpg")
    ap.add_argument("--revisit", type=float, default=0.35, help="share of clients viewing a 2nd page")
    ap.add_argument("--think", default="3,10", help="lo,hi seconds before the 2nd page")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    lo, hi = (float(x) for x in a.think.split(","))
    chances = [float(x) for x in a.assets.split(",")]
    start = time.monotonic()
    deadline = start + a.seconds
    threads = []
    for i in range(a.clients):
        due = start + i * a.arrive / a.clients
        if due >= deadline:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        client = f"198.18.{21 + i // 254}.{1 + i % 254}"
        paths = ["/"] + [p for p, c in zip(ASSETS, chances) if rnd.random() < c]
        if rnd.random() < 0.3:
            paths.append("/ping")
        again = rnd.uniform(lo, hi) if rnd.random() < a.revisit else None
        t = threading.Thread(target=client_life, args=(a.server, client, paths, again, deadline),
                             daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(max(0.0, deadline + 6 - time.monotonic()))
    el = time.monotonic() - start
    print(f"flash_crowd: {len(threads)} clients, {done['visits']} page visits, "
          f"{done['requests']} requests, {done['errors']} failed, {el:.1f} s")


if __name__ == "__main__":
    main()
