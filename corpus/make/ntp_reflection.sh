#!/usr/bin/env bash
# NTP reflection: monlist answers (mode 7, MON_GETLIST_1) from a fixed set of 300 real
# reflectors (198.18.24.1-198.18.25.44, each answering repeatedly) to random high ports of
# 198.18.0.1, at ~10x the normal inbound packet rate for 15 s after 15 s of background.
# Pre-built with scapy and sent through an L2 socket by ntp_reflection.py (count + deadline).
source "$(dirname "$0")/lib.sh"
NAME=ntp_reflection
RATE=500
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
SRC_MAC=$(in_net cat "/sys/class/net/$IFN/address")
DST_MAC=$(in_srv cat "/sys/class/net/$IFS_/address")
# The host's ICMP errors (port unreachable to each reflector) are limited to 100/s in SRV's own
# namespace (the kernel's default, 1,000/s, would add ~1 MB of them to the capture).
in_srv sysctl -qw net.ipv4.icmp_msgs_per_sec=100
start_capture "$PCAP"
T0=$(now)
start_background 33
sleep 15
SENT=$(in_net timeout $((SECONDS_ + 20)) "$PY" "$MAKE_DIR/ntp_reflection.py" --iface "$IFN" \
  --src-mac "$SRC_MAC" --dst-mac "$DST_MAC" --target "$SRV_IP" --reflectors 300 \
  --rate "$RATE" --seconds "$SECONDS_")
echo "$SENT" >&2
ONSET=$(echo "$SENT" | awk '/^onset/ { print $2 }')
sleep 3
stop_capture
FLOOD="udp and src port 123 and src net 198.18.24.0/22"
END=$(last_ts "$PCAP" "$FLOOD")
if [ -z "$END" ]; then
  echo "no reflected packets in the capture" >&2
  exit 1
fi
BG=$(inbound_pps "$PCAP" "$T0" "$ONSET")
ATT=$(inbound_pps "$PCAP" "$ONSET" "$END")
ATT_NTP=$(inbound_pps "$PCAP" "$ONSET" "$END" "$FLOOD")
NREFL=$(tcpdump -r "$PCAP" -n "$FLOOD" 2>/dev/null | awk '{ split($3, a, "."); print a[1] "." a[2] "." a[3] "." a[4] }' | sort -u | wc -l)
write_case "$NAME" "$(cat <<JSON
{
  "timeline": {"start": $T0, "onset": $ONSET, "end": $END},
  "description": "NTP reflection: monlist answers (mode 7, implementation 3, request 42 MON_GETLIST_1, 6 items of 72 bytes: 440-byte UDP payloads, 468-byte IP packets) from source port 123 of a fixed set of $NREFL real reflectors (198.18.24.1-198.18.25.44, each answering repeatedly with its own TTL) to random high ports of 198.18.0.1, for 15 s after 15 s of ordinary background (web, DNS, ping). Measured inbound to 198.18.0.0/27: $BG packets/s before the onset, $ATT packets/s during the flood, of which $ATT_NTP packets/s of NTP answers (the host answers with ICMP port unreachables, limited to 100/s by net.ipv4.icmp_msgs_per_sec=100 set in SRV's namespace to keep the capture small). Made with: ip netns exec NET timeout 35 /usr/bin/python3 corpus/make/ntp_reflection.py --iface <NET veth> --src-mac <NET mac> --dst-mac <SRV mac> --target 198.18.0.1 --reflectors 300 --rate $RATE --seconds $SECONDS_ (scapy 2.5, pre-built frames sent through conf.L2socket), plus bg.py and ping -i 0.2 as background.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 1, "target": "198.18.0.1", "family": ["udp_flood"], "subtype": ["ntp_amplification"], "spoofing": false, "open_within_s": 1.5}
}
JSON
)"
