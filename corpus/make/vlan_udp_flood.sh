#!/usr/bin/env bash
# UDP flood in 802.1Q frames: ordinary background plus a UDP flood of small datagrams from 4 bots
# (198.18.19.21-24 -> 198.18.0.1:9000) at 500 packets/s for 12 s after 15 s, captured as usual,
# then EVERY frame of the capture tagged with VLAN 100 by tcprewrite (the kernel here has no
# 8021q module, so the namespaces cannot carry tagged frames themselves).
source "$(dirname "$0")/lib.sh"
NAME=vlan_udp_flood
RATE=500
SECS=12
BOTS=198.18.19.21,198.18.19.22,198.18.19.23,198.18.19.24
setup
start_web
start_dns
RAW="$WORK/$NAME.untagged.pcap"
start_capture "$RAW"
T0=$(now)
start_background 30
sleep 15
ONSET=$(now)
OUT=$(in_net timeout $((SECS + 2)) "$PY" "$MAKE_DIR/paced_udp.py" --dst "$SRV_IP" --port 9000 \
  --sources "$BOTS" --rate "$RATE" --seconds "$SECS" --count $((RATE * SECS)) --size 18-30)
END=$(now)
echo "$OUT" >&2
SENT=$(echo "$OUT" | awk '{print $6}')
sleep 3
stop_capture
# Every frame gets an 802.1Q tag: VLAN 100, priority 0, CFI 0.
tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-cfi=0 --enet-vlan-pri=0 \
  -i "$RAW" -o "$CORPUS_DIR/$NAME.pcap"
read -r -d '' DESC <<TXT || true
UDP flood of small datagrams (18-30 payload bytes) from 4 unspoofed bots 198.18.19.21-24 (one socket each) to 198.18.0.1:9000, $SENT datagrams at $RATE/s for $SECS s after 15 s of ordinary background (bg.py web+DNS, ping -i 0.2: about 60 inbound packets/s, so about 560/s inbound during the flood); every frame of the capture (both directions, ARP included) then tagged 802.1Q VLAN 100. Made with: ip netns exec NET /usr/bin/python3 corpus/make/paced_udp.py --dst 198.18.0.1 --port 9000 --sources $BOTS --rate $RATE --seconds $SECS --count $((RATE * SECS)) --size 18-30, then tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-cfi=0 --enet-vlan-pri=0 -i untagged.pcap -o vlan_udp_flood.pcap.
TXT
CFG='{"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50}'
EXP='{"incidents": 1, "target": "198.18.0.1", "family": ["udp_flood"], "open_within_s": 1.5}'
write_case_parts "$NAME" "$T0" "$ONSET" "$END" "$DESC" "$CFG" "$EXP"
