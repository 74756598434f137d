#!/usr/bin/env bash
# Game server (legitimate): a UDP game server on the protected host (198.18.0.1:27015) answers
# every datagram of 64 players (198.18.18.1-64, one socket each, ~6 datagrams/s of 40-120
# bytes), over ordinary background; a 5 s "map change" burst at 3x (same clients, same sizes,
# both directions) near the end. The replay floors are raised so that the burst exceeds them
# (~2-2.4x) while the steady play does not: a correct detector must see known, answered
# clients and open nothing. game_server.py is the server and the players.
source "$(dirname "$0")/lib.sh"
NAME=game_server
PLAY_S=33   # steady play (kept short so the capture stays under ~6 MB)
BURST_AT=23 # seconds into the play

# Mean packets/s in the capture $1 between epoch $2 and $3 matching the pcap filter $4.
pps() {
  tcpdump -r "$1" -n -tt "$4" 2>/dev/null |
    awk -v a="$2" -v b="$3" '$1 >= a && $1 < b { n++ } END { printf "%.0f", n / (b - a) }'
}
# Highest count in one second (seconds counted from $2) between epoch $2 and $3, filter $4.
max_pps() {
  tcpdump -r "$1" -n -tt "$4" 2>/dev/null |
    awk -v a="$2" -v b="$3" '$1 >= a && $1 < b { c[int($1 - a)]++ } END { m = 0; for (k in c) if (c[k] > m) m = c[k]; print m }'
}

setup
start_web
start_dns
PCAP="$CORPUS_DIR/$NAME.pcap"
start_capture "$PCAP"
T0=$(now)
start_background $((PLAY_S + 5))
sleep 2
in_srv timeout $((PLAY_S + 10)) "$PY" "$MAKE_DIR/game_server.py" server --bind "$SRV_IP" --port 27015 \
  --seconds $((PLAY_S + 4)) >"$WORK/server.log" 2>&1 &
SERVER=$!
sleep 0.5
PLAY0=$(now)
OUT=$(in_net timeout $((PLAY_S + 5)) "$PY" "$MAKE_DIR/game_server.py" players --server "$SRV_IP" \
  --port 27015 --prefix 198.18.18. --players 64 --rate 6 --seconds "$PLAY_S" --burst-at "$BURST_AT" \
  --burst-seconds 5 --burst-factor 3)
echo "$OUT" >&2
wait "$SERVER" || true
cat "$WORK/server.log" >&2
sleep 1
stop_capture
ONSET=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["burst_on"])' "$OUT")
END=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["burst_off"])' "$OUT")
PLAYEND=$(awk -v t="$PLAY0" -v s="$PLAY_S" 'BEGIN { printf "%.6f", t + s }')
S0=$(awk -v t="$PLAY0" 'BEGIN { printf "%.6f", t + 2 }')
IN="dst net 198.18.0.0/27"
UDP_IN="udp and dst net 198.18.0.0/27"
GAME_IN="udp and dst host 198.18.0.1 and dst port 27015"
GAME_OUT="udp and src host 198.18.0.1 and src port 27015"
BG=$(pps "$PCAP" "$T0" "$PLAY0" "$IN")
ST=$(pps "$PCAP" "$S0" "$ONSET" "$IN")
ST_UDP=$(pps "$PCAP" "$S0" "$ONSET" "$UDP_IN")
ST_GAME=$(pps "$PCAP" "$S0" "$ONSET" "$GAME_IN")
ST_MAX=$(max_pps "$PCAP" "$S0" "$ONSET" "$IN")
ST_UDP_MAX=$(max_pps "$PCAP" "$S0" "$ONSET" "$UDP_IN")
BU=$(pps "$PCAP" "$ONSET" "$END" "$IN")
BU_UDP=$(pps "$PCAP" "$ONSET" "$END" "$UDP_IN")
BU_GAME=$(pps "$PCAP" "$ONSET" "$END" "$GAME_IN")
BU_OUT=$(pps "$PCAP" "$ONSET" "$END" "$GAME_OUT")
AFTER=$(pps "$PCAP" "$END" "$PLAYEND" "$IN")
write_case "$NAME" "$(cat <<JSON
{
  "timeline": {"start": $T0, "onset": $ONSET, "end": $END},
  "description": "Legitimate game traffic: a UDP game server on 198.18.0.1:27015 answers every datagram of 64 players 198.18.18.1-64 (one socket each, ~6 datagrams/s of 40-120 bytes, answers of similar size) for $PLAY_S s over ordinary background (web, DNS, ping), with a 5 s map-change burst at 3x (same clients, same sizes, both directions) $BURST_AT s into the play; timeline onset/end = the burst. Measured inbound to 198.18.0.0/27: $BG packets/s before play; steady play $ST/s (UDP $ST_UDP/s, game $ST_GAME/s; highest second $ST_MAX, UDP $ST_UDP_MAX); burst $BU/s (UDP $BU_UDP/s, game $BU_GAME/s, the server answering $BU_OUT/s); after it $AFTER/s. Floors raised to min_pps_threshold 600 and min_udp_pps_threshold 500 (standard otherwise): above every steady second (including background peaks) but about half of the burst's rates, so the burst exceeds them ~2-2.4x (under the 3x fast-open multiple) for 5 s. Made with corpus/make/game_server.py (python sockets): ip netns exec SRV game_server.py server --bind 198.18.0.1 --port 27015 --seconds $((PLAY_S + 4)), and ip netns exec NET game_server.py players --server 198.18.0.1 --port 27015 --prefix 198.18.18. --players 64 --rate 6 --seconds $PLAY_S --burst-at $BURST_AT --burst-seconds 5 --burst-factor 3; plus bg.py and ping -i 0.2 as background.",
  "config": {"min_pps_threshold": 600, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 500, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 0}
}
JSON
)"
