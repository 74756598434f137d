#!/usr/bin/env bash
# Learned baseline, then a SYN flood: 9 minutes of quiet background (bg.py --web-rps 0.6
# --dns-qps 8 plus the ping monitor, slower than usual to keep the capture under 6 MB), then
# hping3 -S -p 80 from the fixed source 198.18.19.5 at a rate set from the capture itself (its
# inbound packets, SYNs plus the RSTs that NET's kernel answers SRV's SYN-ACKs with, ~4x the
# background's p99 of inbound packets/s) for 20 s; then 15 s more background. Expected: quiet
# warm-up, then one syn_flood on 198.18.0.1. The floors sit above the background's peaks (quiet
# before the baseline is ready, when only they apply) and below 3x its p99 levels (so at the
# flood the learned baseline sets the thresholds).
source "$(dirname "$0")/lib.sh"
NAME=learned_baseline_syn
WARMUP=540
FLOOD=20
AFTER=15
setup
start_web
start_dns
PCAP="$CORPUS_DIR/$NAME.pcap"
start_capture "$PCAP"
T0=$(now)
start_background $((WARMUP + FLOOD + AFTER + 2)) --web-rps 0.6 --dns-qps 8
sleep "$WARMUP"
# The background's per-second inbound packets (to 198.18.0.0/27) so far: mean, p99 and max.
read -r P99 MEAN MAX SYN99 UDP99 UDPMAX ICMP99 < <("$PY" - "$PCAP" "$T0" <<'PYEOF'
import struct, sys
path, t0 = sys.argv[1], float(sys.argv[2])
counts, syn, udp, icmp = {}, {}, {}, {}
with open(path, "rb") as f:
    f.read(24)
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        ts, tu, incl, _ = struct.unpack("<IIII", h)
        d = f.read(incl)
        if len(d) < incl:
            break
        if d[12:14] == b"\x08\x00" and d[30:33] == bytes([198, 18, 0]) and d[33] < 32:
            counts[ts] = counts.get(ts, 0) + 1
            ihl = (d[14] & 15) * 4
            if d[23] == 6 and len(d) > 14 + ihl + 13 and d[14 + ihl + 13] & 0x12 == 0x02:
                syn[ts] = syn.get(ts, 0) + 1
            elif d[23] == 17:
                udp[ts] = udp.get(ts, 0) + 1
            elif d[23] == 1:
                icmp[ts] = icmp.get(ts, 0) + 1
secs = range(int(t0) + 1, max(counts))
def p99(c):
    v = sorted(c.get(s, 0) for s in secs)
    return v[min(len(v) - 1, int(0.99 * len(v)))], round(sum(v) / len(v), 1), v[-1]
n, u, i = p99(counts), p99(udp), p99(icmp)
print(n[0], n[1], n[2], p99(syn)[0], u[0], u[2], i[0])
PYEOF
)
# Flood inbound ~4x p99 = SYN + RST per SYN: SYN/s = 2 x p99.
SYN_RATE=$((2 * P99))
IV=$((1000000 / SYN_RATE))
COUNT=$((SYN_RATE * FLOOD))
echo "background inbound: mean $MEAN, p99 $P99, max $MAX packets/s (p99 SYN $SYN99, UDP $UDP99 max $UDPMAX, ICMP $ICMP99); SYN flood $SYN_RATE/s (-i u$IV -c $COUNT)" >&2
ON=$(now)
in_net timeout $((FLOOD + 2)) hping3 -q -S -p 80 -a 198.18.19.5 -i "u$IV" -c "$COUNT" "$SRV_IP" || true
OFF=$(now)
sleep "$AFTER"
stop_capture
read -r -d '' EXTRA <<JSON || true
{
  "timeline": {"start": $T0, "onset": $ON, "end": $OFF},
  "description": "Learned baseline then SYN flood: 9 minutes of background only (bg.py --web-rps 0.6 --dns-qps 8 and the ping monitor; measured inbound to 198.18.0.1 per second: mean $MEAN, p99 $P99, max $MAX packets/s; p99 SYN $SYN99/s, UDP $UDP99/s (max $UDPMAX), ICMP $ICMP99/s), then a SYN flood from the fixed source 198.18.19.5: in_net timeout $((FLOOD + 2)) hping3 -q -S -p 80 -a 198.18.19.5 -i u$IV -c $COUNT 198.18.0.1, i.e. $SYN_RATE SYN/s for $FLOOD s, set from the capture so that its inbound packets (its SYNs plus the RSTs NET's kernel answers SRV's SYN-ACKs with) are ~4x the background's p99 (~$((2 * SYN_RATE)) packets/s); then $AFTER s more background. The floors are above the background's peaks, so the warm-up is quiet while only they apply, and below 3x its p99 levels, so at the flood the learned baseline sets the thresholds (pps ~3 x $P99 = $((3 * P99))).",
  "config": {"min_pps_threshold": 100, "min_syn_pps_threshold": 5, "min_udp_pps_threshold": 30, "min_icmp_pps_threshold": 10, "min_fragment_pps_threshold": 5, "min_bps_threshold": 0},
  "expect": {"incidents": 1, "target": "198.18.0.1", "family": ["syn_flood"], "open_within_s": 2, "warmup_quiet": true}
}
JSON
write_case "$NAME" "$EXTRA"
