#!/usr/bin/env bash
# Speed test, download (legitimate): the protected host 198.18.0.1 runs an iperf3 client against
# an iperf3 server in NET (198.18.16.250) with -R -P 8 -t 12, so NET sends 8 parallel TCP
# streams at full (shaped) rate into SRV, which only ACKs them; NET's egress is shaped with tbf
# to 8 Mbit/s so the capture stays small. Background running. Expected: no incident.
source "$(dirname "$0")/lib.sh"
NAME=speed_test_download
setup
start_web
start_dns
in_net tc qdisc add dev "$IFN" root tbf rate 8mbit burst 64kb latency 50ms
in_net timeout 40 iperf3 -s -1 -B 198.18.16.250 >/dev/null 2>&1 &
BG_PIDS+=($!)
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 30
sleep 10
ON=$(now)
in_srv timeout 20 iperf3 -c 198.18.16.250 -B "$SRV_IP" -R -P 8 -t 12 -J >"$WORK/iperf.json" || true
OFF=$(now)
"$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; print("iperf3: %.2f Mbit/s received, %d retransmits" % (e["sum_received"]["bits_per_second"]/1e6, e["sum_sent"].get("retransmits",0)), file=sys.stderr)' "$WORK/iperf.json" || true
sleep 6
stop_capture
read -r -d '' EXTRA <<JSON || true
{
  "timeline": {"start": $T0, "onset": $ON, "end": $OFF},
  "description": "Speed test, download (legitimate): iperf3 server in NET (iperf3 -s -1 -B 198.18.16.250) and iperf3 client on SRV (iperf3 -c 198.18.16.250 -B 198.18.0.1 -R -P 8 -t 12, under timeout 20): SRV opens 9 connections (control plus 8 streams) and NET sends it 8 parallel TCP streams, SRV only ACKing; NET's egress shaped with tc qdisc add dev <NET veth> root tbf rate 8mbit burst 64kb latency 50ms (8 rather than 20 Mbit/s to keep the capture under 3 MB), offloads off (ethtool -K tso/gso/gro off). iperf3 measured 7.6 Mbit/s with ~1150 retransmits. Measured: background ~88 inbound packets/s; during the test ~770 inbound packets/s (720-850, full-sized data segments, ~8 Mbit/s) and ~300 outbound packets/s (ACKs and the background's replies); SRV's client ends with RSTs as iperf3 closes. Standard floors: the inbound data exceeds the 150 pps floor but belongs to connections SRV itself opened, so no incident.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 0}
}
JSON
write_case "$NAME" "$EXTRA"
