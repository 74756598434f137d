#!/usr/bin/env bash
# Connection flood: 100 bots (198.18.19.1-50, 198.18.20.1-50) complete real TCP handshakes with
# nginx on 198.18.0.1:80, send "GET /" (5 bytes, an unfinished request) and abort at once with
# RST (SO_LINGER 0), ~125 connections/s (~500 inbound packets/s) for 15 s, after 15 s of
# background. Expected: one TCP incident on 198.18.0.1, subtype connection_flood.
source "$(dirname "$0")/lib.sh"
NAME=connection_flood
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 40
sleep 15
ON=$(now)
in_net timeout 20 "$PY" "$MAKE_DIR/connection_flood.py" --server "$SRV_IP" --seconds 15 \
  --cps 125 --max 2000 --bots 100
OFF=$(now)
sleep 11
stop_capture
read -r -d '' EXTRA <<JSON || true
{
  "timeline": {"start": $T0, "onset": $ON, "end": $OFF},
  "description": "Connection flood made by make/connection_flood.py (python sockets in NET, --cps 125 --max 2000 --bots 100, bounded by timeout 20 and --seconds 15): 100 bots (198.18.19.1-50 and 198.18.20.1-50) each complete a real TCP handshake with nginx on 198.18.0.1:80, send the 5 bytes 'GET /' and abort at once with RST (SO_LINGER 0 then close), so no content flows back; ~125 connections/s, ~500 inbound packets/s of its own (4 a connection: SYN, ACK, 5-byte PSH-ACK, RST; measured ~580 inbound packets/s in all with ~128 SYN/s and 125 RST/s) for 15 s over the background of bg.py (measured ~80 inbound packets/s, ~4 SYN/s).",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 1, "target": "198.18.0.1", "family": ["tcp_flood", "syn_flood"], "subtype": ["connection_flood"], "spoofing": false, "open_within_s": 1.5}
}
JSON
write_case "$NAME" "$EXTRA"
