#!/usr/bin/env bash
# Pulse wave: 4 bursts of 5 s of UDP flood at ~10x the normal inbound rate towards 198.18.0.1,
# separated by 6 s pauses (shorter than attack_holddown), after 20 s of background: one
# attack, one incident. 4 bots of 198.18.19.0/24 (real NET addresses, not spoofed), one hping3
# each per burst (~157 packets/s each, incrementing destination ports), bounded by count and
# timeout.
source "$(dirname "$0")/lib.sh"
NAME=pulse_wave
BURSTS=4
ON_S=5
PERIOD_S=11 # 5 s on, 6 s off
INTERVAL_US=6250 # 160/s asked of each hping3, ~157/s measured
COUNT=780        # per hping3 and burst: ~5 s at the measured rate

# Mean inbound packets/s (to 198.18.0.0/27) in the capture $1 between epoch $2 and $3, with an
# extra pcap filter $4.
inbound_pps() {
  tcpdump -r "$1" -n -tt "dst net 198.18.0.0/27${4:+ and ($4)}" 2>/dev/null |
    awk -v a="$2" -v b="$3" '$1 >= a && $1 < b { n++ } END { printf "%.0f", n / (b - a) }'
}
# Epoch time of the last packet of the capture $1 matching the pcap filter $2 between $3 and $4.
last_ts() {
  tcpdump -r "$1" -n -tt "$2" 2>/dev/null |
    awk -v a="$3" -v b="$4" '$1 >= a && $1 < b { t = $1 } END { if (t != "") printf "%.6f\n", t }'
}
sleep_until() { sleep "$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; print (d > 0 ? d : 0) }')"; }

setup
start_web
start_dns
PCAP="$CORPUS_DIR/$NAME.pcap"
start_capture "$PCAP"
T0=$(now)
start_background $((20 + BURSTS * PERIOD_S - (PERIOD_S - ON_S) + 3))
sleep 20
FIRST=$(now)
ONS=()
for k in $(seq 0 $((BURSTS - 1))); do
  sleep_until "$(awk -v t="$FIRST" -v k="$k" -v p="$PERIOD_S" 'BEGIN { printf "%.6f", t + k * p }')"
  ONS+=("$(now)")
  pids=()
  for b in 1 2 3 4; do
    in_net timeout $ON_S.5 hping3 --udp -q -a "198.18.19.2$b" -p "++$((2000 * b))" -d $((8 * b)) \
      -i "u$INTERVAL_US" -c "$COUNT" "$SRV_IP" >"$WORK/hping3.$k.$b.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true
done
sleep 3
stop_capture

BURSTS_JSON=""
OFFS=()
for k in $(seq 0 $((BURSTS - 1))); do
  on=${ONS[$k]}
  off=$(last_ts "$PCAP" "udp and src net 198.18.19.0/24" "$on" "$(awk -v t="$on" 'BEGIN { printf "%.6f", t + 6 }')")
  if [ -z "$off" ]; then
    echo "burst $k: no flood packets in the capture; hping3 said:" >&2
    cat "$WORK/hping3.$k.1.log" >&2
    exit 1
  fi
  OFFS+=("$off")
  BURSTS_JSON+="${BURSTS_JSON:+, }[$on, $off]"
done
ONSET=${ONS[0]}
END=${OFFS[$((BURSTS - 1))]}
BG=$(inbound_pps "$PCAP" "$T0" "$ONSET")
ATT=$(inbound_pps "$PCAP" "${ONS[1]}" "${OFFS[1]}")
ATT_BOTS=$(inbound_pps "$PCAP" "${ONS[1]}" "${OFFS[1]}" "udp and src net 198.18.19.0/24")
PAUSE=$(inbound_pps "$PCAP" "${OFFS[1]}" "${ONS[2]}")
write_case "$NAME" "$(cat <<JSON
{
  "timeline": {"start": $T0, "onset": $ONSET, "end": $END, "bursts": [$BURSTS_JSON]},
  "description": "Pulse-wave UDP flood (UDP chosen, not SYN) at 198.18.0.1: 4 bursts of 5 s separated by 6 s pauses, from 4 unspoofed bots 198.18.19.21-24 (8/16/24/32-byte payloads, incrementing destination ports), after 20 s of ordinary background (web, DNS, ping) that runs throughout; the whole train is one attack (pauses shorter than attack_holddown). Measured inbound to 198.18.0.0/27: $BG packets/s before the onset, $ATT packets/s during a burst ($ATT_BOTS from the bots), $PAUSE packets/s in a pause. Made with, per burst and bot b = 1..4: ip netns exec NET timeout 5.5 hping3 --udp -q -a 198.18.19.2\$b -p ++\$((2000*b)) -d \$((8*b)) -i u6250 -c 780 198.18.0.1, bursts started 11 s apart; plus bg.py and ping -i 0.2 as background.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 1, "target": "198.18.0.1", "family": ["udp_flood"], "open_within_s": 1}
}
JSON
)"
