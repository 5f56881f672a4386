#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_large: a 40 MiB file from t1 (rule /static/) through the IPv4 VIPA arrives
# byte-exact (sha256), and none of it passes the front-end: d1's handoff counters show it
# forwarded the client's bytes only while t1's show it translated the whole response, and d1's
# own nft counters (table inet hotest, before clusterd's hooks) see no TCP
# segment with payload from port 80 or 8080, in or out, while they do see the requests (the
# positive control).  Again with the client's net.ipv4.tcp_timestamps, tcp_sack and
# tcp_window_scaling each 0 (the translation without TS, without SACK, without window
# scaling), then with the router dropping 1 in 50 TCP packets towards the LAN, then towards
# the client (retransmissions, duplicate ACKs and SACK blocks cross the translation).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"
MB=${HOFF_LARGE_MB:-40}

nt_need curl sha256sum
hoff_cluster_up
HOFF_DL_S=${HOFF_DL_S:-30} hoff_large_checks "$NT_VIP4" "$MB" large
nt_finish
