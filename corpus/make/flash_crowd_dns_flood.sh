#!/usr/bin/env bash
# Flash crowd hiding a DNS query flood: the legitimate flash crowd of flash_crowd.sh (300 new web
# clients within 10 s, same parameters, after 20 s of background) and, starting with it, a flood
# of one repeated name (www.example.test, A) through the background's four resolvers
# 198.18.17.1-4 at 500 queries/s for 15 s (about the crowd's own inbound rate in its first 10 s:
# completed TCP sessions about half of what rose, queries the other half), each answered by
# dnsmasq. Expected: one incident on 198.18.0.1, a DNS query flood, opened within 2 s: one name
# asked in most of the queries is hammered, so the sessions beside it do not hold the rise back.
source "$(dirname "$0")/lib.sh"
NAME=flash_crowd_dns_flood
QNAME=www.example.test
RATE=500
SECS=15
setup
start_web
start_dns
start_capture "$CORPUS_DIR/$NAME.pcap"
T0=$(now)
start_background 44
sleep 20
ON=$(now)
in_net timeout $((SECS + 4)) "$PY" "$MAKE_DIR/dns_water_torture.py" --server "$SRV_IP" \
  --name "$QNAME" --rate "$RATE" --seconds "$SECS" --count $((RATE * SECS)) >"$WORK/dns.out" &
DNS_PID=$!
BG_PIDS+=("$DNS_PID")
in_net timeout 30 "$PY" "$MAKE_DIR/flash_crowd.py" --server "$SRV_IP" --seconds 20 \
  --clients 300 --arrive 10 --assets 0.7,0.4,0.15 --revisit 0.35 --think 3,10
OFF=$(now)
wait "$DNS_PID"
OUT=$(cat "$WORK/dns.out")
echo "$OUT" >&2
FIRST=$(echo "$OUT" | awk '{print $2}')
LAST=$(echo "$OUT" | awk '{print $4}')
SENT=$(echo "$OUT" | awk '{print $6}')
ANSWERS=$(echo "$OUT" | sed 's/.*answers //')
sleep 4
stop_capture
# Inbound to 198.18.0.1 per whole second (all, TCP, SYN, DNS queries; DNS answers sent back),
# before the onset and in the crowd's first 10 s, and the share of the flood's name.
MEASURED=$("$PY" - "$CORPUS_DIR/$NAME.pcap" "$ON" "$LAST" "$QNAME" <<'PYEOF'
import struct, sys, statistics
path, onset, last, qname = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
srv = bytes([198, 18, 0, 1])
f = open(path, "rb"); f.read(24)
per = {}  # (second from the onset, kind) -> packets
names = {}  # qname -> queries between the onset and the last query
def add(s, k): per[(s, k)] = per.get((s, k), 0) + 1
def qname_of(dns):
    parts, i = [], 12
    while i < len(dns) and dns[i] != 0:
        n = dns[i]; parts.append(dns[i + 1:i + 1 + n].decode("ascii", "replace")); i += 1 + n
    return ".".join(parts)
while True:
    h = f.read(16)
    if len(h) < 16: break
    ts, us, cl, _ = struct.unpack("<IIII", h); d = f.read(cl)
    if d[12:14] != b"\x08\x00": continue
    t = ts + us / 1e6; s = int((t - onset) // 1); ip = d[14:]; ihl = (ip[0] & 15) * 4; l4 = ip[ihl:]
    if ip[16:20] == srv:
        add(s, "in")
        if ip[9] == 6:
            add(s, "tcp")
            if l4[13] & 0x12 == 0x02: add(s, "syn")
        elif ip[9] == 17 and l4[2:4] == b"\x00\x35":
            add(s, "query")
            if onset <= t <= last:
                n = qname_of(l4[8:]); names[n] = names.get(n, 0) + 1
    elif ip[12:16] == srv and ip[9] == 17 and l4[0:2] == b"\x00\x35":
        add(s, "answer")
def mean(secs, k): return statistics.mean(per.get((x, k), 0) for x in secs)
before, crowd, rest = range(-18, 0), range(0, 10), range(10, 15)
print(f"background {mean(before, 'in'):.0f} inbound packets/s ({mean(before, 'tcp'):.0f} TCP, "
      f"{mean(before, 'syn'):.1f} SYN, {mean(before, 'query'):.0f} DNS queries); in the crowd's "
      f"first 10 s {mean(crowd, 'in'):.0f}/s (max {max(per.get((x, 'in'), 0) for x in crowd)}): "
      f"{mean(crowd, 'tcp'):.0f} TCP ({mean(crowd, 'syn'):.0f} SYN) and {mean(crowd, 'query'):.0f} "
      f"DNS queries, with {mean(crowd, 'answer'):.0f} DNS answers/s sent back; seconds 10-15 "
      f"{mean(rest, 'in'):.0f}/s ({mean(rest, 'tcp'):.0f} TCP, {mean(rest, 'query'):.0f} DNS "
      f"queries); {qname} asked in {100 * names.get(qname, 0) / max(1, sum(names.values())):.1f}% "
      f"of the {sum(names.values())} queries of the flood's span")
PYEOF
)
echo "measured: $MEASURED" >&2
read -r -d '' DESC <<TXT || true
Flash crowd hiding a DNS query flood of one name. The crowd is flash_crowd.sh's, after the same 20 s of ordinary background (bg.py: web at 4 visits/s, 20 DNS queries/s for 10 known names through the resolvers 198.18.17.1-4, ping -i 0.2): make/flash_crowd.py (--clients 300 --arrive 10 --assets 0.7,0.4,0.15 --revisit 0.35 --think 3,10 --seconds 20, bounded by timeout 30), 300 new clients (198.18.21.1-254, 198.18.22.1-46) loading the page and its assets on keep-alive connections closed with FIN. Starting with it, make/dns_water_torture.py --name (its queries: qtype A, no recursion desired, EDNS0, random ids and source ports) sends $SENT queries, all for $QNAME, at $RATE/s for $SECS s through the same four resolvers 198.18.17.1-4 (first $FIRST, last $LAST); answers seen by the generator: $ANSWERS (dnsmasq knows the name: the answers are outbound and must not make a second incident). Measured: $MEASURED. So the rise is about half completed TCP sessions and half answered DNS queries, but for one hammered name, not names that repeat as usual. Same floors as flash_crowd (min_udp_pps_threshold 150: the background's DNS peaks about 35/s, the flood over 3x it). Made with: ip netns exec NET /usr/bin/python3 corpus/make/dns_water_torture.py --server 198.18.0.1 --name $QNAME --rate $RATE --seconds $SECS --count $((RATE * SECS)) (bounded by timeout $((SECS + 4))), beside the crowd.
TXT
CFG='{"min_pps_threshold": 150, "min_bps_threshold": 0, "min_syn_pps_threshold": 50, "min_udp_pps_threshold": 150, "min_icmp_pps_threshold": 50, "min_fragment_pps_threshold": 50}'
EXP='{"incidents": 1, "target": "198.18.0.1", "family": ["dns_flood"], "subtype": ["dns_query_flood"], "open_within_s": 2}'
write_case_parts "$NAME" "$T0" "$ON" "$OFF" "$DESC" "$CFG" "$EXP"
