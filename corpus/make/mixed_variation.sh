#!/usr/bin/env bash
# Legitimate traffic only: 6 minutes of ordinary background (web, DNS, ping) swinging slowly by
# +-60% (period 120 s), replayed with floors lowered under its peaks: nothing is an attack.
source "$(dirname "$0")/lib.sh"
NAME=mixed_variation
SECS=360
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background "$SECS" --web-rps 1.5 --vary 0.6 --period 120
sleep $((SECS + 1))
END=$(now)
stop_capture
FLOORS='{"min_pps_threshold": 40, "min_bps_threshold": 0, "min_syn_pps_threshold": 4, "min_udp_pps_threshold": 30, "min_icmp_pps_threshold": 10, "min_fragment_pps_threshold": 10}'
# Inbound rates per second against the floors.
MEASURED=$("$PY" - "$CORPUS_DIR/$NAME.pcap" "$T0" "$SECS" "$FLOORS" <<'PYEOF'
import json, struct, sys
path, t0, secs, floors = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
f = open(path, "rb"); f.read(24)
n = secs
rates = {k: [0] * n for k in ("pps", "syn", "udp", "icmp", "frag")}
while True:
    h = f.read(16)
    if len(h) < 16: break
    ts, us, cl, _ = struct.unpack("<IIII", h); d = f.read(cl)
    if d[12:14] != b"\x08\x00" or d[30:33] != bytes([198, 18, 0]) or d[33] >= 32: continue
    s = int(ts + us / 1e6 - t0)
    if not 0 <= s < n: continue
    proto, ihl = d[23], (d[14] & 15) * 4
    rates["pps"][s] += 1
    if proto == 17: rates["udp"][s] += 1
    if proto == 1: rates["icmp"][s] += 1
    if struct.unpack("!H", d[20:22])[0] & 0x3FFF: rates["frag"][s] += 1
    if proto == 6 and (d[14 + ihl + 13] & 0x12) == 0x02: rates["syn"][s] += 1
names = {"pps": "min_pps_threshold", "syn": "min_syn_pps_threshold", "udp": "min_udp_pps_threshold",
         "icmp": "min_icmp_pps_threshold", "frag": "min_fragment_pps_threshold"}
out = []
for k, key in names.items():
    r, fl = rates[k], floors[key]
    over = [i for i, v in enumerate(r) if v > fl]
    mean10 = [sum(r[i:i + 10]) / 10 for i in range(0, n, 10)]
    txt = (f"{k} {min(r)}-{max(r)}/s (10 s means {min(mean10):.0f}-{max(mean10):.0f}), floor {fl}: "
           f"over it in {len(over)} of {n} s")
    if over:
        txt += f" (at {min(r[i] for i in over)}-{max(r)}/s)"
        # Where in the 120 s period the 10 s means are over it, as ranges of seconds.
        ph = sorted({(i * 10) % 120 for i, m in enumerate(mean10) if m > fl})
        spans = []
        for p in ph:
            if spans and spans[-1][1] == p: spans[-1][1] = p + 10
            else: spans.append([p, p + 10])
        if spans:
            txt += ", 10 s means over it at " + ", ".join(f"{a}-{b}" for a, b in spans) + \
                " s into the 120 s period"
    out.append(txt)
print("; ".join(out))
PYEOF
)
echo "measured: $MEASURED" >&2
read -r -d '' DESC <<TXT || true
Legitimate traffic only: 6 minutes of ordinary background (web visits from 198.18.16.0/24 to nginx, 1.5/s on average (a visit is about 7 kB of capture: more would not fit in about 6 MB), DNS lookups of known names through the 4 resolvers, ping monitor at 5/s) whose rates follow 1 + 0.6 sin(2 pi t / 120 s), so the load swings between 0.4x and 1.6x three times (peaks at 30, 150, 270 s). The floors are lowered under the peaks (pps 40, SYN 4, UDP 30; ICMP 10 and fragments 10 stay over the constant 5/s ping and the absent fragments), so they are crossed (and before the baseline is ready at 5 minutes only the floors apply): the detector's judgement (ordinary sessions, no attack shape) and then the learned baseline must keep it quiet. Measured inbound per second: $MEASURED. Made with: bg.py --server 198.18.0.1 --seconds $SECS --web-rps 1.5 --vary 0.6 --period 120 and ping -i 0.2 -I 198.18.17.10 (start_background).
TXT
EXP='{"incidents": 0}'
write_case_parts "$NAME" "$T0" "" "$END" "$DESC" "$FLOORS" "$EXP"
