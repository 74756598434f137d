#!/usr/bin/env bash
# A steady UDP flood near the threshold, for the near_threshold_* cases: RATE small datagrams/s
# (MULT x min_udp_pps_threshold 200) from 4 bots to 198.18.0.1 for 15 s after 15 s of ordinary
# background, paced by the clock. The case script sets NAME, MULT, RATE and OPEN_WITHIN.
source "$(dirname "$0")/lib.sh"
: "${NAME:?}" "${MULT:?}" "${RATE:?}" "${OPEN_WITHIN:?}"
THRESHOLD=200
SECS=15
BOTS=198.18.19.31,198.18.19.32,198.18.19.33,198.18.19.34
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 33
sleep 15
ONSET=$(now)
OUT=$(in_net timeout $((SECS + 2)) "$PY" "$MAKE_DIR/paced_udp.py" --dst "$SRV_IP" --port 9000 \
  --sources "$BOTS" --rate "$RATE" --seconds "$SECS" --count $((RATE * SECS)) --size 18-30)
END=$(now)
echo "$OUT" >&2
SENT=$(echo "$OUT" | awk '{print $6}')
sleep 3
stop_capture
# Measured inbound UDP to 198.18.0.1 per whole second of the flood (first and last excluded).
MEASURED=$("$PY" - "$CORPUS_DIR/$NAME.pcap" "$ONSET" "$END" "$THRESHOLD" <<'PYEOF'
import struct, sys
path, onset, end, thr = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
f = open(path, "rb"); f.read(24)
flood, bg = {}, {}
while True:
    h = f.read(16)
    if len(h) < 16: break
    ts, us, cl, _ = struct.unpack("<IIII", h); d = f.read(cl)
    if d[12:14] != b"\x08\x00" or d[23] != 17 or d[30:34] != bytes([198, 18, 0, 1]): continue
    t = ts + us / 1e6
    if not onset + 1 <= t < onset + int(end - onset): continue
    k = int(t - onset)
    dport = struct.unpack("!H", d[36:38])[0]
    (flood if dport == 9000 else bg)[k] = (flood if dport == 9000 else bg).get(k, 0) + 1
secs = sorted(flood)
tot = [flood[k] + bg.get(k, 0) for k in secs]
fl = [flood[k] for k in secs]
print(f"flood {min(fl)}-{max(fl)}/s (mean {sum(fl)/len(fl):.1f}), flood plus background UDP "
      f"{min(tot)}-{max(tot)}/s (mean {sum(tot)/len(tot):.1f}, {sum(tot)/len(tot)/thr:.2f}x the "
      f"threshold, seconds {min(tot)/thr:.2f}x-{max(tot)/thr:.2f}x)")
PYEOF
)
echo "measured: $MEASURED" >&2
read -r -d '' DESC <<TXT || true
Steady UDP flood of small datagrams (18-30 payload bytes) from 4 unspoofed bots 198.18.19.31-34 to 198.18.0.1:9000 at ${MULT}x the UDP threshold: $SENT datagrams at $RATE/s for $SECS s after 15 s of ordinary background (bg.py web+DNS, ping -i 0.2: about 60 inbound packets/s, 20 of them UDP). Measured per whole second of the flood: $MEASURED. min_udp_pps_threshold $THRESHOLD is the threshold under test (background UDP peaks about 33/s); min_pps_threshold 1000 keeps the all-packets rate (about $((RATE + 60))/s during the flood) from deciding instead. Paced by the clock (no drift; hping3 -i u3333 gave only about 285/s, trafgen -b sends each second's packets in one burst). Made with: ip netns exec NET /usr/bin/python3 corpus/make/paced_udp.py --dst 198.18.0.1 --port 9000 --sources $BOTS --rate $RATE --seconds $SECS --count $((RATE * SECS)) --size 18-30.
TXT
CFG="{\"min_pps_threshold\": 1000, \"min_bps_threshold\": 0, \"min_syn_pps_threshold\": 50, \"min_udp_pps_threshold\": $THRESHOLD, \"min_icmp_pps_threshold\": 50, \"min_fragment_pps_threshold\": 50}"
EXP="{\"incidents\": 1, \"target\": \"198.18.0.1\", \"family\": [\"udp_flood\"], \"open_within_s\": $OPEN_WITHIN}"
write_case_parts "$NAME" "$T0" "$ONSET" "$END" "$DESC" "$CFG" "$EXP"
