#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_linkdown: 48 long-lived HTTP/1.1 connections (a request every 100 ms each) and 10 new
# connections a second through the VIPA (round-robin, see nto_cluster_up); at t0 = READY + 3 s
# d1's link goes down: d2 takes the VIPA over and keeps every connection going; at t0 + 3.5 s
# d1's link is up again: d1 takes the VIPA back.  No connection lost, none stalled over 1 s, new
# connections never fail for over 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
DOWN_MS=${DOWN_MS:-3500}

nto_begin
nto_link_prepare d1
t0=$(nt_now_ms)
nto_link_down d1
nt_log "d1's link is down"
nto_check_takeover "$t0"

nto_sleep_until $((t0 + DOWN_MS))
t1=$(nt_now_ms)
nto_link_up d1
nt_log "d1's link is up again (t0+$((t1 - t0)) ms)"
nto_check_takeback "$t1"
nto_end "$t0"
nt_finish
