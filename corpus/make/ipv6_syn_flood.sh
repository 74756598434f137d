#!/usr/bin/env bash
# Spoofed IPv6 SYN flood to [2001:2::1]:80 at about 500 packets/s for 12 s after 15 s of
# ordinary (IPv4) background: sources random per packet inside 2001:2:0:8000::/64 (one range
# inside the spoofed 2001:2:0:8000::/49), made by ipv6_flood.py (scapy, AF_PACKET). lib.sh gives
# SRV no IPv6 route beyond its /64, so it cannot answer the spoofed sources (like dark addresses
# on the Internet): the capture holds the SYNs and no SYN-ACKs.
source "$(dirname "$0")/lib.sh"
NAME=ipv6_syn_flood
MODE=syn
RATE=500
SECS=12
setup
start_web
start_dns
MAC=$(ip -n "$SRV" -o link show "$IFS_" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 30
AT=$("$PY" -c "print(f'{$T0 + 15:.6f}')")
# Builds its packets first, then waits for $AT (15 s of background) and floods for 12 s.
OUT=$(in_net timeout 40 "$PY" "$MAKE_DIR/ipv6_flood.py" --mode "$MODE" --iface "$IFN" --dst-mac "$MAC" \
  --dst "$SRV_IP6" --src-prefix 2001:2:0:8000::/64 --rate "$RATE" --seconds "$SECS" \
  --count $((RATE * SECS)) --start-at "$AT")
echo "$OUT" >&2
ONSET=$(echo "$OUT" | awk '{print $2}')
END=$(echo "$OUT" | awk '{print $4}')
SENT=$(echo "$OUT" | awk '{print $6}')
sleep 4
stop_capture
CMD="ip netns exec NET /usr/bin/python3 corpus/make/ipv6_flood.py --mode $MODE --iface <NET veth> --dst-mac <SRV veth MAC> --dst 2001:2::1 --src-prefix 2001:2:0:8000::/64 --rate $RATE --seconds $SECS --count $((RATE * SECS)) --start-at <T0+15>"
read -r -d '' DESC <<TXT || true
Spoofed IPv6 TCP SYN flood to [2001:2::1]:80, $SENT packets at $RATE/s for $SECS s (sources random per packet in 2001:2:0:8000::/64, random source ports and sequence numbers, hop limit 64, MSS option) after 15 s of ordinary IPv4 background (bg.py web+DNS, ping -i 0.2: about 60 inbound packets/s to 198.18.0.1, nothing else to 2001:2::1). SRV has no route back to the spoofed range, so no SYN-ACKs are in the capture. Made with: $CMD (scapy-built frames sent on an AF_PACKET socket, paced by the clock).
TXT
CFG='{"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50}'
EXP='{"incidents": 1, "target": "2001:2::1", "family": ["syn_flood"], "spoofing": true, "open_within_s": 1.5}'
write_case_parts "$NAME" "$T0" "$ONSET" "$END" "$DESC" "$CFG" "$EXP"
