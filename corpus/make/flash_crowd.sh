#!/usr/bin/env bash
# Flash crowd (legitimate): 300 new web clients (198.18.21.1-254, 198.18.22.1-46) arrive within
# 10 s and load the page and its assets over keep-alive connections closed with FIN; a third
# of them view a second page a few seconds later; ~5x the background's page-visit rate for
# 20 s, after 20 s of background. Expected: no incident.
source "$(dirname "$0")/lib.sh"
NAME=flash_crowd
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 44
sleep 20
ON=$(now)
in_net timeout 30 "$PY" "$MAKE_DIR/flash_crowd.py" --server "$SRV_IP" --seconds 20 \
  --clients 300 --arrive 10 --assets 0.7,0.4,0.15 --revisit 0.35 --think 3,10
OFF=$(now)
sleep 4
stop_capture
read -r -d '' EXTRA <<JSON || true
{
  "timeline": {"start": $T0, "onset": $ON, "end": $OFF},
  "description": "Flash crowd of legitimate visitors made by make/flash_crowd.py (python http.client in NET, --clients 300 --arrive 10 --assets 0.7,0.4,0.15 --revisit 0.35 --think 3,10 --seconds 20, bounded by timeout 30): 300 new clients (198.18.21.1-254, 198.18.22.1-46, never seen in the background) arrive evenly within 10 s and each loads / plus app.css (70%), app.js (40%), hero.jpg (15%) and /ping (30%) on one keep-alive connection, reading every response and closing with FIN; about a third view a second page 3-10 s later on a new connection: ~420 page visits in 20 s, ~5x the background's 4 visits/s (30/s for 10 s, then ~12/s). Measured inbound to 198.18.0.1: background ~80 packets/s (~4 SYN/s); crowd ~555 packets/s (peak ~700, ~38 SYN/s, ~3.7x the 150 pps floor) for the first 10 s, then ~145 packets/s, with ~810 packets/s of content sent back. Standard floors: the crowd exceeds the pps floor but is made of complete sessions, so no incident.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 0}
}
JSON
write_case "$NAME" "$EXTRA"
