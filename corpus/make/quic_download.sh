#!/usr/bin/env bash
# QUIC-like download (legitimate): one server in NET (198.18.16.240:443) streams 1,200-1,350-byte
# UDP datagrams to one client on the protected host (198.18.0.1:50443) for 12 s, the client
# acknowledging every 3 datagrams: one established two-way flow over ordinary background.
# Expect no incident. quic_download.py is the client/server pair (python sockets).
source "$(dirname "$0")/lib.sh"
NAME=quic_download
RATE=750     # datagrams/s: 12 s of it keeps the capture under 3 MB (216 B per datagram on disk)
SECONDS_=12
ACK_EVERY=3

# Mean packets/s in the capture $1 between epoch $2 and $3 matching the pcap filter $4.
pps() {
  tcpdump -r "$1" -n -tt "$4" 2>/dev/null |
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
start_background $((6 + SECONDS_ + 3))
sleep 5
in_net timeout $((SECONDS_ + 15)) "$PY" "$MAKE_DIR/quic_download.py" server --bind 198.18.16.240 \
  --port 443 --rate "$RATE" --seconds "$SECONDS_" >"$WORK/server.log" 2>&1 &
SERVER=$!
sleep 1
ONSET=$(now)
in_srv timeout $((SECONDS_ + 10)) "$PY" "$MAKE_DIR/quic_download.py" client --bind "$SRV_IP" \
  --port 50443 --server 198.18.16.240 --server-port 443 --ack-every "$ACK_EVERY" \
  --seconds $((SECONDS_ + 8)) >&2 || true
wait "$SERVER" || true
cat "$WORK/server.log" >&2
sleep 3
stop_capture
FLOW_IN="udp and src host 198.18.16.240 and src port 443"
FLOW_OUT="udp and dst host 198.18.16.240 and dst port 443"
END=$(last_ts "$PCAP" "$FLOW_IN")
if [ -z "$END" ]; then
  echo "no download in the capture" >&2
  exit 1
fi
BG=$(pps "$PCAP" "$T0" "$ONSET" "dst net 198.18.0.0/27")
IN=$(pps "$PCAP" "$ONSET" "$END" "dst net 198.18.0.0/27")
DL=$(pps "$PCAP" "$ONSET" "$END" "$FLOW_IN")
ACKS=$(pps "$PCAP" "$ONSET" "$END" "$FLOW_OUT")
write_case "$NAME" "$(cat <<JSON
{
  "timeline": {"start": $T0, "onset": $ONSET, "end": $END},
  "description": "Legitimate QUIC-like download: one server 198.18.16.240:443 streams 1,200-1,350-byte UDP datagrams (QUIC v1-shaped long-header handshake, then short-header 1-RTT) to one client 198.18.0.1:50443 for 12 s, the client acknowledging every $ACK_EVERY datagrams with a 40-56-byte datagram: one established two-way flow over ordinary background (web, DNS, ping). Measured: $BG inbound packets/s to 198.18.0.0/27 before the onset, $IN during the download, of which $DL/s datagrams of the download, and $ACKS/s ACK datagrams back. Rate kept at $RATE/s (not 2,000-3,000/s) so the capture stays under 3 MB. Made with corpus/make/quic_download.py (python sockets): ip netns exec NET quic_download.py server --bind 198.18.16.240 --port 443 --rate $RATE --seconds $SECONDS_, and ip netns exec SRV quic_download.py client --bind 198.18.0.1 --port 50443 --server 198.18.16.240 --server-port 443 --ack-every $ACK_EVERY; plus bg.py and ping -i 0.2 as background.",
  "config": {"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50},
  "expect": {"incidents": 0}
}
JSON
)"
