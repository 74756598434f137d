#!/usr/bin/env bash
# One of many: 15 addresses of SRV busy with their own steady traffic (198.18.0.1 ordinary web,
# DNS and ping at reduced rates; 198.18.0.2-15 a UDP telemetry service, 15-25 reports/s each)
# for 150 s, then 198.18.0.7 alone flooded with small UDP datagrams from 4 bots at about 9x its
# own normal (180/s on top of its 20/s) for 15 s; the interface's total stays far under the
# interface floors, so only a threshold learned from the address's own normal can catch it.
source "$(dirname "$0")/lib.sh"
NAME=one_of_many
LEAD=150
SECS=15
RATE=180
BOTS=198.18.19.41,198.18.19.42,198.18.19.43,198.18.19.44
TOTAL=$((LEAD + SECS + 3))
setup
start_web
start_dns
in_srv "$PY" "$MAKE_DIR/one_of_many.py" server --last 15 &
BG_PIDS+=($!)
sleep 0.5
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background "$TOTAL" --web-rps 0.5 --dns-qps 8
in_net "$PY" "$MAKE_DIR/one_of_many.py" clients --last 15 --seconds "$TOTAL" &
BG_PIDS+=($!)
sleep "$LEAD"
ONSET=$(now)
OUT=$(in_net timeout $((SECS + 2)) "$PY" "$MAKE_DIR/paced_udp.py" --dst 198.18.0.7 --port 9000 \
  --sources "$BOTS" --rate "$RATE" --seconds "$SECS" --count $((RATE * SECS)) --size 18-30)
END=$(now)
echo "$OUT" >&2
SENT=$(echo "$OUT" | awk '{print $6}')
sleep 3
stop_capture
# Inbound per address and in all, per whole second, before the flood and during it.
MEASURED=$("$PY" - "$CORPUS_DIR/$NAME.pcap" "$T0" "$ONSET" "$END" <<'PYEOF'
import struct, sys, statistics
path, t0, onset, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
f = open(path, "rb"); f.read(24)
per = {}  # (second, last octet) -> packets
while True:
    h = f.read(16)
    if len(h) < 16: break
    ts, us, cl, _ = struct.unpack("<IIII", h); d = f.read(cl)
    if d[12:14] != b"\x08\x00" or d[30:33] != bytes([198, 18, 0]) or d[33] >= 32: continue
    k = (int(ts + us / 1e6 - t0), d[33]); per[k] = per.get(k, 0) + 1
before = range(int(onset - t0) - 120, int(onset - t0))
during = range(int(onset - t0) + 1, int(end - t0))
def series(secs, addr=None):
    return [sum(v for (s, a), v in per.items() if s == x and (addr is None or a == addr)) for x in secs]
others = [statistics.mean(series(before, a)) for a in range(1, 16) if a != 7]
b7, d7 = series(before, 7), series(during, 7)
tb, td = series(before), series(during)
print(f"the other 14 addresses {min(others):.0f}-{max(others):.0f} inbound packets/s each (means), "
      f"198.18.0.7 {statistics.mean(b7):.1f}/s (seconds {min(b7)}-{max(b7)}) before the flood and "
      f"{statistics.mean(d7):.0f}/s (seconds {min(d7)}-{max(d7)}) during it; the interface's inbound "
      f"total {statistics.mean(tb):.0f}/s (max {max(tb)}) before and {statistics.mean(td):.0f}/s "
      f"(max {max(td)}) during")
PYEOF
)
echo "measured: $MEASURED" >&2
read -r -d '' DESC <<TXT || true
Fifteen busy addresses: 198.18.0.1 carries ordinary web, DNS and ping at reduced rates (bg.py --web-rps 0.5 --dns-qps 8, ping -i 0.2), 198.18.0.2-15 a UDP telemetry service on port 5000 (two clients each from 198.18.18.1-28, 15-25 reports/s per address, every 10th acknowledged, 12-28-byte reports); after $LEAD s, 198.18.0.7 alone gets a UDP flood of small datagrams (18-30 bytes, to port 9000) from 4 unspoofed bots 198.18.19.41-44: $SENT datagrams at $RATE/s for $SECS s. Measured: $MEASURED. Floors: min_pps_threshold and min_udp_pps_threshold 800, over the interface's total even during the flood, so neither the interface nor a floor-bound destination threshold is crossed: only a per-destination threshold learned from 198.18.0.7's own normal (about 20/s, x3 = 60/s) catches the flood. Made with: ip netns exec SRV /usr/bin/python3 corpus/make/one_of_many.py server --last 15; ip netns exec NET /usr/bin/python3 corpus/make/one_of_many.py clients --last 15 --seconds $TOTAL; bg.py --web-rps 0.5 --dns-qps 8; ip netns exec NET /usr/bin/python3 corpus/make/paced_udp.py --dst 198.18.0.7 --port 9000 --sources $BOTS --rate $RATE --seconds $SECS --count $((RATE * SECS)) --size 18-30.
TXT
CFG='{"min_pps_threshold": 800, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 800, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50}'
EXP='{"incidents": 1, "target": "198.18.0.7", "family": ["udp_flood"], "open_within_s": 3}'
write_case_parts "$NAME" "$T0" "$ONSET" "$END" "$DESC" "$CFG" "$EXP"
