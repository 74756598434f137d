# shellcheck shell=bash
# Shared set-up of the project's capture corpus: two network namespaces, real servers, real
# background traffic, tcpdump on the protected host's link. Each case script sources this file,
# sets up, starts the background, captures, runs its attack or load (bounded in time and
# packets), and writes corpus/<case>.pcap plus corpus/<case>.json (timeline, how, expectations).
#
# Topology (every address inside 198.18.0.0/15 or 2001:2::/48; nothing leaves the namespaces):
#   SRV  the protected host: 198.18.0.1 on its link, answering on all of 198.18.0.0/27
#        (32 addresses), 2001:2::1; nginx on :80, dnsmasq on :53 (zone example.test)
#   NET  everyone else: gateway 198.18.1.1, 2001:2::2, and these (bindable) ranges:
#        198.18.16.0/24  web clients          198.18.17.1-4   DNS resolvers
#        198.18.17.10    ping monitor         198.18.18.1-64  game players
#        198.18.19-20.x  bots                 198.18.24.0/22  reflectors
#        198.18.128.0/17 and 2001:2:0:8000::/49: spoofed sources (raw packets only)
# The capture is taken on SRV's veth, both directions, snaplen 200 (DNS names fit).
#
# Needs: iproute2, ethtool (offloads off), tcpdump, nginx, dnsmasq, python3 (Debian's, /usr/bin/python3, with scapy
# for the raw-packet cases), and whatever the case itself uses (hping3, nping, iperf3, ...).

set -euo pipefail

CORPUS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAKE_DIR="$CORPUS_DIR/make"
PY=/usr/bin/python3
TAG="${TAG:-$$}"
SRV="ftc-$TAG-srv"
NET="ftc-$TAG-net"
IFS_="fcs$TAG"
IFN="fcn$TAG"
SRV_IP=198.18.0.1
SRV_IP6=2001:2::1
WORK=""
CAPTURE_PID=""
BG_PIDS=()

# Runs a command inside SRV / NET.
in_srv() { ip netns exec "$SRV" "$@"; }
in_net() { ip netns exec "$NET" "$@"; }

# Epoch seconds with microseconds (the timeline of the case's JSON).
now() { date +%s.%6N; }

teardown() {
  set +e
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$CAPTURE_PID" ] && kill -TERM "$CAPTURE_PID" 2>/dev/null && wait "$CAPTURE_PID" 2>/dev/null
  ip netns pids "$SRV" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns pids "$NET" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$SRV" 2>/dev/null
  ip netns del "$NET" 2>/dev/null
  [ -n "$WORK" ] && rm -rf "$WORK"
  return 0
}

# Creates both namespaces, their link, addresses and routes; SRV's link can be shaped with
# `tbf` by the case (no netem here).
setup() {
  trap teardown EXIT
  trap 'exit 130' INT TERM
  WORK="$(mktemp -d /tmp/ftc-XXXXXX)"
  chmod 755 "$WORK" # nginx workers read the site as nobody
  ip netns add "$SRV"
  ip netns add "$NET"
  ip link add "$IFS_" netns "$SRV" type veth peer name "$IFN" netns "$NET"
  for ns in "$SRV" "$NET"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip -n "$ns" link set lo up
  done
  # Neither side offloads: the capture shows wire-sized segments, as a real NIC's would.
  in_srv ethtool -K "$IFS_" tso off gso off gro off >/dev/null 2>&1 || true
  in_net ethtool -K "$IFN" tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$SRV" addr add "$SRV_IP/27" dev "$IFS_"
  ip -n "$SRV" addr add "$SRV_IP6/64" dev "$IFS_" nodad
  ip -n "$SRV" link set "$IFS_" up
  ip -n "$SRV" route add local 198.18.0.0/27 dev lo
  ip -n "$SRV" route add 198.18.1.1 dev "$IFS_"
  ip -n "$SRV" route add 198.18.0.0/15 via 198.18.1.1
  ip -n "$NET" addr add 198.18.1.1/24 dev "$IFN"
  ip -n "$NET" addr add 2001:2::2/64 dev "$IFN" nodad
  ip -n "$NET" link set "$IFN" up
  ip -n "$NET" route add "$SRV_IP" dev "$IFN"
  ip -n "$NET" route add 198.18.0.0/27 via "$SRV_IP"
  for r in 198.18.16.0/20 198.18.128.0/17; do ip -n "$NET" route add local "$r" dev lo; done
  ip -n "$NET" route add local 2001:2:0:8000::/49 dev lo
  sleep 1 # links up, IPv6 addresses usable
}

# nginx on SRV :80 (and [::]:80) serving a page and assets of typical sizes.
start_web() {
  local root="$WORK/www"
  mkdir -p "$root/assets"
  head -c 6000 /dev/urandom | base64 >"$root/index.html"
  head -c 2000 /dev/urandom | base64 >"$root/assets/app.css"
  head -c 18000 /dev/urandom | base64 >"$root/assets/app.js"
  head -c 45000 /dev/urandom >"$root/assets/hero.jpg"
  echo ok >"$root/ping"
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  keepalive_timeout 5s;
  server { listen 80 reuseport; listen [::]:80; root $root; }
}
CONF
  in_srv nginx -c "$WORK/nginx.conf"
}

# dnsmasq on SRV :53, authoritative-like for example.test: known names answer, others NXDOMAIN.
start_dns() {
  local args=(--no-daemon --no-resolv --no-hosts --keep-in-foreground --port=53
    --listen-address="$SRV_IP" --bind-interfaces --local=/example.test/ --cache-size=0
    --pid-file="$WORK/dnsmasq.pid" --log-facility=/dev/null --user=root --group=root)
  for n in www mail api cdn shop img static login news blog; do
    args+=(--host-record="$n.example.test,$SRV_IP")
  done
  in_srv dnsmasq "${args[@]}" &
  BG_PIDS+=($!)
  sleep 0.5
}

# Starts tcpdump on SRV's link writing $1 (both directions, snaplen 200).
start_capture() {
  ip netns exec "$SRV" tcpdump -n -i "$IFS_" -s 200 -U -w "$1" 2>"$WORK/tcpdump.log" &
  CAPTURE_PID=$!
  for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && return; sleep 0.1; done
  echo "tcpdump did not start: $(cat "$WORK/tcpdump.log")" >&2
  exit 1
}

# Stops the capture and prints tcpdump's counts line to stderr.
stop_capture() {
  # Background commands ignore SIGINT in scripts; tcpdump flushes and counts on SIGTERM too.
  kill -TERM "$CAPTURE_PID"
  wait "$CAPTURE_PID" || true
  CAPTURE_PID=""
  grep -E "captured|dropped" "$WORK/tcpdump.log" >&2 || true
}

# Ordinary background traffic from NET to SRV for $1 seconds (web pages and assets, DNS
# lookups through four resolvers, a ping monitor); extra arguments go to bg.py (--web-rps,
# --dns-qps, --vary, --period). Runs in the background; `wait_bg` waits for it.
start_background() {
  local seconds="$1"
  shift
  in_net "$PY" "$MAKE_DIR/bg.py" --server "$SRV_IP" --seconds "$seconds" "$@" &
  BG_PIDS+=($!)
  in_net timeout "$seconds" ping -q -i 0.2 -I 198.18.17.10 "$SRV_IP" >/dev/null 2>&1 &
  BG_PIDS+=($!)
}

# Writes corpus/$1.json: the case's timeline, how it was made, the replay config and the
# expectations (a JSON object given as $2, merged in by python).
write_case() {
  local name="$1" extra="$2"
  "$PY" - "$CORPUS_DIR/$name.json" "$name" "$extra" <<'PYEOF'
import json, sys
path, name, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
case = {"name": name, "pcap": f"{name}.pcap", "how": f"make/{name}.sh"}
case.update(extra)
with open(path, "w") as f:
    json.dump(case, f, indent=2)
    f.write("\n")
PYEOF
}

# Writes corpus/$1.json from its parts: the start, onset and end times (epoch s; an empty onset
# is left out), the description, the replay config and the expectations (JSON objects).
write_case_parts() {
  local json
  json="$("$PY" - "$2" "$3" "$4" "$5" "$6" "$7" <<'PYEOF'
import json, sys
start, onset, end, description, config, expect = sys.argv[1:7]
timeline = {"start": float(start), **({"onset": float(onset)} if onset else {}), "end": float(end)}
print(json.dumps({"timeline": timeline, "description": description,
                  "config": json.loads(config), "expect": json.loads(expect)}))
PYEOF
)"
  write_case "$1" "$json"
}
