#!/usr/bin/env bash
# Compromised host: the protected host itself (198.18.0.1) sends a SYN flood to port 80 of an
# outside address (198.18.20.50, in NET, where nothing listens: NET's kernel answers each SYN
# with a RST, never a SYN-ACK) for 10 s, after 20 s of ordinary background that runs
# throughout. Inbound nothing rises but the RSTs. Expected with `detect_outbound: true`: one
# incident, target "outbound", syn_flood, opened within 1 s; without it (the default): none.
source "$(dirname "$0")/lib.sh"
NAME=outbound_syn_flood
RATE=300
FLOOD=10
setup
start_web
start_dns
PCAP="$CORPUS_DIR/$NAME.pcap"
start_capture "$PCAP"
T0=$(now)
start_background 36
sleep 20
ON=$(now)
in_srv timeout $((FLOOD + 2)) hping3 -q -S -p 80 -i "u$((1000000 / RATE))" -c $((RATE * FLOOD)) \
  198.18.20.50 >"$WORK/hping3.log" 2>&1 || true
OFF=$(now)
sleep 6
stop_capture
count() { tcpdump -r "$PCAP" -n "$1" 2>/dev/null | wc -l; }
SYNS=$(count "src host $SRV_IP and dst host 198.18.20.50 and tcp[tcpflags] == tcp-syn")
RSTS=$(count "src host 198.18.20.50 and tcp[tcpflags] & tcp-rst != 0")
write_case "$NAME" "$(cat <<JSON
{
  "timeline": {"start": $T0, "onset": $ON, "end": $OFF},
  "description": "Outbound SYN flood from the protected host (a compromised host): after 20 s of ordinary background (web, DNS, ping to 198.18.0.1, running throughout), ip netns exec SRV timeout $((FLOOD + 2)) hping3 -q -S -p 80 -i u$((1000000 / RATE)) -c $((RATE * FLOOD)) 198.18.20.50, i.e. ~$RATE SYN/s for $FLOOD s to an outside address where nothing listens. Measured in the capture: $SYNS SYNs sent, $RSTS RSTs back from 198.18.20.50, no SYN-ACK. The replay config turns detect_outbound on: one incident, target outbound, syn_flood. (With the default detect_outbound false the same capture opens nothing: outbound traffic never opens an inbound incident.)",
  "config": {"detect_outbound": true, "min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 1, "target": "outbound", "family": ["syn_flood"], "open_within_s": 1}
}
JSON
)"
