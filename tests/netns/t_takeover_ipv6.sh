#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_ipv6: t_takeover_kill over the IPv6 VIPA fd02::100: 48 long-lived connections and
# 10 new ones a second from the client to [fd02::100]:80 (round-robin: d2 keeps their targets
# only from the replica); at t0 clusterd on d1 is SIGKILLed, d2 takes the VIPA over (its unsolicited
# neighbour advertisement moves the router's entry to d2's MAC); at t0 + 2 s d1 is started again
# and takes it back.  Nothing lost, no stall over 1 s, new connections never fail for over 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
NTO_VIP=$NT_VIP6
RESTART_MS=${RESTART_MS:-2000}

nto_begin
nt_check router_learnt_d1 "the router's neighbour entry for $NTO_VIP: $(nto_router_entry) \
(d1 is $(nto_mac d1))" nto_router_sends_to d1
t0=$(nt_now_ms)
disown "$(cat "$NT_WORK/clusterd-d1.pid")" 2>/dev/null	# no job notice for the kill
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nt_check kill_leaves_vipa "no $NTO_VIP left on d1 after SIGKILL" nto_has_vipa d1
nto_check_takeover "$t0"

nto_sleep_until $((t0 + RESTART_MS))
t1=$(nt_now_ms)
nt_cd_launch d1
nt_log "clusterd on d1 started again (t0+$((t1 - t0)) ms)"
nt_cd_ready d1
nto_check_takeback "$t1"
nto_end "$t0"
# the load really was IPv6: the targets logged the client's IPv6 address
v6=$(cat "$NT_WORK"/access-t*-8080.log 2>/dev/null | awk '$1 == "fd01::2"' | wc -l)
v4=$(cat "$NT_WORK"/access-t*-8080.log 2>/dev/null | awk '$1 != "fd01::2"' | wc -l)
nt_check targets_saw_ipv6_client "targets logged $v6 requests from fd01::2 and $v4 from others" \
	[ "$v6" -gt 1000 -a "$v4" -eq 0 ]
nt_finish
