#!/usr/bin/env bash
# Carpet bombing: a UDP flood spread evenly over the 32 addresses of 198.18.0.0/27, each
# address far under its own threshold, the sum ~10x the normal inbound rate, from 8 bots of
# 198.18.19.0/24 (real, bindable NET addresses: not spoofed), 15 s after 15 s of background.
# One hping3 per destination (18 packets/s each, ~576/s in all), bounded by count and timeout.
source "$(dirname "$0")/lib.sh"
NAME=carpet_bombing
PER_DST_PPS=18
INTERVAL_US=52631 # asks hping3 for 19/s: its own overhead brings it to ~18/s
SECONDS_=15

# Mean inbound packets/s (to 198.18.0.0/27) in the capture $1 between epoch $2 and $3, with an
# extra pcap filter $4.
inbound_pps() {
  tcpdump -r "$1" -n -tt "dst net 198.18.0.0/27${4:+ and ($4)}" 2>/dev/null |
    awk -v a="$2" -v b="$3" '$1 >= a && $1 < b { n++ } END { printf "%.0f", n / (b - a) }'
}

# Epoch time of the last packet of the capture $1 matching the pcap filter $2.
last_ts() { tcpdump -r "$1" -n -tt "$2" 2>/dev/null | tail -1 | cut -d' ' -f1; }

setup
start_web
start_dns
PCAP="$CORPUS_DIR/$NAME.pcap"
start_capture "$PCAP"
T0=$(now)
start_background 33
sleep 15
ONSET=$(now)
# One shell in NET starts the 32 senders (ip netns exec per sender would spread their starts).
# Its arguments: seconds, interval (us), packets/s per destination, log directory.
in_net bash -c '
  for i in $(seq 0 31); do
    bot="198.18.19.$((11 + i % 8))"       # 8 bots, each hitting 4 of the 32 addresses
    dport=$((1024 + (i * 7919) % 64000))  # one arbitrary destination port per address
    size=$((40 + (i * 23) % 61))          # payloads 40-100 bytes
    timeout $(($1 + 1)) hping3 --udp -q -a "$bot" -p "$dport" -d "$size" -i "u$2" -c $(($3 * $1)) \
      "198.18.0.$i" >"$4/hping3.$i.log" 2>&1 &
  done
  wait' carpet "$SECONDS_" "$INTERVAL_US" "$PER_DST_PPS" "$WORK" || true
sleep 3
stop_capture
# The flood's end: its last packet in the capture (hping3 lingers ~1 s after its count).
END=$(last_ts "$PCAP" "src net 198.18.19.0/24")
if [ -z "$END" ]; then
  echo "no flood packets in the capture; hping3 said:" >&2
  cat "$WORK/hping3.0.log" >&2
  exit 1
fi

BG=$(inbound_pps "$PCAP" "$T0" "$ONSET")
ATT=$(inbound_pps "$PCAP" "$ONSET" "$END")
ATT_UDP=$(inbound_pps "$PCAP" "$ONSET" "$END" "udp and src net 198.18.19.0/24")
PER=$(inbound_pps "$PCAP" "$ONSET" "$END" "udp and src net 198.18.19.0/24 and dst host 198.18.0.7")
write_case "$NAME" "$(cat <<JSON
{
  "timeline": {"start": $T0, "onset": $ONSET, "end": $END},
  "description": "Carpet-bombing UDP flood over all 32 addresses of 198.18.0.0/27 (about $PER packets/s each, far under any per-address threshold) from 8 unspoofed bots 198.18.19.11-18, 40-100-byte payloads, one fixed arbitrary destination port per address, for 15 s after 15 s of ordinary background (web, DNS, ping). Measured inbound to 198.18.0.0/27: $BG packets/s before the onset, $ATT packets/s during the flood, of which $ATT_UDP packets/s from the bots. Made with 32 processes, started from one shell in NET (ip netns exec NET bash -c 'for i in 0..31: ... &; wait'), of: timeout 16 hping3 --udp -q -a 198.18.19.\$((11+i%8)) -p \$((1024+i*7919%64000)) -d \$((40+i*23%61)) -i u52631 -c 270 198.18.0.\$i (i = 0..31), plus bg.py and ping -i 0.2 as background.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 1, "target": "interface", "family": ["udp_flood"], "open_within_s": 1.5}
}
JSON
)"
