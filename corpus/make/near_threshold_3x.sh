#!/usr/bin/env bash
# A steady UDP flood at the fast-open multiple: 600 small datagrams/s (3 x min_udp_pps_threshold
# 200) from 4 bots to 198.18.0.1 for 15 s after 15 s of ordinary background (near_threshold.sh).
NAME=near_threshold_3x MULT=3 RATE=600 OPEN_WITHIN=1 exec bash "$(dirname "$0")/near_threshold.sh"
