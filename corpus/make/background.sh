#!/usr/bin/env bash
# Ordinary background traffic alone (web, DNS, ping) for 40 s: no incident expected.
source "$(dirname "$0")/lib.sh"
NAME=background
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 40
sleep 41
stop_capture
write_case "$NAME" "{\"timeline\": {\"start\": $T0}, \"expect\": {\"incidents\": 0}}"
