#!/usr/bin/env bash
# Speed test (legitimate): a client in NET (198.18.16.250) runs iperf3 against the iperf3
# server on 198.18.0.1 with -R -P 8 -t 12, so SRV sends 8 parallel TCP streams at full
# (shaped) rate and receives their ACKs; SRV's egress is shaped with tbf to 8 Mbit/s so the
# capture stays small. Background running. Expected: no incident.
source "$(dirname "$0")/lib.sh"
NAME=speed_test
setup
start_web
start_dns
in_srv tc qdisc add dev "$IFS_" root tbf rate 8mbit burst 64kb latency 50ms
in_srv timeout 40 iperf3 -s -1 -B "$SRV_IP" >/dev/null 2>&1 &
BG_PIDS+=($!)
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 30
sleep 10
ON=$(now)
in_net timeout 20 iperf3 -c "$SRV_IP" -B 198.18.16.250 -R -P 8 -t 12 -J >"$WORK/iperf.json" || true
OFF=$(now)
"$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["end"]; print("iperf3: %.2f Mbit/s received, %d retransmits" % (e["sum_received"]["bits_per_second"]/1e6, e["sum_sent"].get("retransmits",0)), file=sys.stderr)' "$WORK/iperf.json" || true
sleep 6
stop_capture
read -r -d '' EXTRA <<JSON || true
{
  "timeline": {"start": $T0, "onset": $ON, "end": $OFF},
  "description": "Speed test (legitimate): iperf3 server on SRV (iperf3 -s -1 -B 198.18.0.1) and iperf3 client in NET (iperf3 -c 198.18.0.1 -B 198.18.16.250 -R -P 8 -t 12, under timeout 20), so SRV sends 8 parallel TCP streams and receives their ACKs; SRV's egress shaped with tc qdisc add dev <SRV veth> root tbf rate 8mbit burst 64kb latency 50ms (8 rather than 20 Mbit/s to keep the capture under 3 MB), offloads off (ethtool -K tso/gso/gro off). iperf3 measured 6.6 Mbit/s with ~2300 retransmits (tbf drops: SACKs and duplicate ACKs as on a real bottleneck). Measured: background ~88 inbound packets/s; during the test ~310 inbound packets/s (ACKs, peak ~630, 161-632) and ~700 outbound packets/s (~8 Mbit/s), ending with the client's RSTs (64 in one second) as iperf3 closes. Standard floors: the ACK stream exceeds the 150 pps floor but belongs to 9 connections the client opened, so no incident.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 0}
}
JSON
write_case "$NAME" "$EXTRA"
