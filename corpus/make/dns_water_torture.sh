#!/usr/bin/env bash
# DNS water torture: random-subdomain queries (<12 random chars>.example.test, A) through the same
# four resolvers as the background (198.18.17.1-4) at 180 queries/s (9x the background's 20/s) for
# 15 s after 15 s of ordinary background; dnsmasq answers each with NXDOMAIN (outbound).
source "$(dirname "$0")/lib.sh"
NAME=dns_water_torture
RATE=180
SECS=15
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 34
sleep 15
ONSET=$(now)
OUT=$(in_net timeout $((SECS + 4)) "$PY" "$MAKE_DIR/dns_water_torture.py" --server "$SRV_IP" \
  --rate "$RATE" --seconds "$SECS" --count $((RATE * SECS)))
echo "$OUT" >&2
# The generator reads answers for 1 s after its last query: the end is its last query.
END=$(echo "$OUT" | awk '{print $4}')
SENT=$(echo "$OUT" | awk '{print $6}')
ANSWERS=$(echo "$OUT" | sed 's/.*answers //')
sleep 3
stop_capture
read -r -d '' DESC <<TXT || true
DNS water torture: $SENT queries for random names (<12 random letters/digits>.example.test, qtype A, EDNS0, random ids and source ports) at $RATE/s for $SECS s through the background's own four resolvers 198.18.17.1-4, after 15 s of ordinary background (bg.py: 20 DNS queries/s for known names, web, ping -i 0.2: about 60 inbound packets/s, 20 of them UDP); answers seen by the generator: $ANSWERS (the server's NXDOMAIN answers are outbound and must not make a second incident). Inbound UDP is about 20/s before and 200/s during the flood, total inbound about 60/s before and 240/s during. Floors: min_udp_pps_threshold 50 (over the background's DNS peaks of about 33/s, under a quarter of the flood's 200/s, so it opens fast at 4x), min_pps_threshold 150 (the standard; background peaks about 115/s). Made with: ip netns exec NET /usr/bin/python3 corpus/make/dns_water_torture.py --server 198.18.0.1 --rate $RATE --seconds $SECS --count $((RATE * SECS)).
TXT
CFG='{"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 50, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50}'
EXP='{"incidents": 1, "target": "198.18.0.1", "family": ["dns_flood"], "subtype": ["dns_query_flood", "random_subdomain"], "open_within_s": 1.5}'
write_case_parts "$NAME" "$T0" "$ONSET" "$END" "$DESC" "$CFG" "$EXP"
