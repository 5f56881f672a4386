#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_basic: content-aware handoff over IPv4 (hoff_lib.sh's cluster: /static/ -> t1, Host
# api.example.com -> t2, anything else -> the service's target t3).  Rules route by path and by
# host; the application sees the client's real address; keep-alive (curl, three URLs on one
# connection) and pipelined requests (three in one segment) are all answered by the first
# request's target; d1's `clusterctl conns --json` lists the handoff entry of a held
# connection; d1's and t1's handoff.* counters move with the connections made, and the
# front-end forwarded no response byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"

nt_need curl
hoff_cluster_up
hoff_basic_checks "$NT_VIP4" "${NT_IP4[c]}" v4
nt_finish
