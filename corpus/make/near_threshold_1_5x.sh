#!/usr/bin/env bash
# A steady UDP flood just over the threshold: 300 small datagrams/s (1.5 x min_udp_pps_threshold
# 200) from 4 bots to 198.18.0.1 for 15 s after 15 s of ordinary background (near_threshold.sh).
NAME=near_threshold_1_5x MULT=1.5 RATE=300 OPEN_WITHIN=3 exec bash "$(dirname "$0")/near_threshold.sh"
