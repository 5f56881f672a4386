#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_alt: where a VIPA's alternate address lives (issue 13), for the IPv4 and the IPv6 VIPA of
# sctp_lib.sh's cluster (distributors d1, d2).  Checked both in the namespaces (the address on
# lan0) and in `clusterctl status` ("alternate": held, holder):
#   1. at the start, d1 holds the VIPA and d2 the alternate address, and nothing else;
#   2. clusterd on d2 stopped (SIGTERM): d1 holds both, d2's lan0 neither;
#   3. d2 started again: the alternate moves back to d2 and leaves d1;
#   4. clusterd on d1 SIGKILLed: d2 holds both.
# Each move must happen within ALT_MOVE_S (10 s); the times are printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sctp_lib.sh"
ALT_MOVE_S=${ALT_MOVE_S:-10}

# alt_move NAME VHOST AHOST T0_MS WHY: waits until st_placed VHOST AHOST holds, checks it.
alt_move()
{
	local name=$1 vh=$2 ah=$3 t0=$4
	if nt_wait_until "$ALT_MOVE_S" st_placed "$vh" "$ah"; then
		nt_pass "$name"
		echo "# $name: after $(( $(nt_now_ms) - t0 )) ms (polled)"
	else
		nt_fail "$name" "$5 within $ALT_MOVE_S s: $(st_where)"
	fi
}

ST_NO_LISTEN=1 st_cluster_up
# 1: the steady placement, the alternate field itself included
for f in 4 6; do
	s=$(st_vstate d1 "${ST_VIPS[$f]}")
	nt_check "ipv${f}_status_d1" "d1's status of ${ST_VIPS[$f]}: '$s' (want distributor d1, \
alternate not held, holder d2)" [ "$s" = "distributor d1 False d2" ]
	s=$(st_vstate d2 "${ST_VIPS[$f]}")
	nt_check "ipv${f}_status_d2" "d2's status of ${ST_VIPS[$f]}: '$s' (want backup d1, \
alternate held by d2)" [ "$s" = "backup d1 True d2" ]
	a=$(nt_ctl d1 status --json | nt_json "[v.get('alternate', {}).get('address')
		for v in j['vipas'] if v['address'] == '${ST_VIPS[$f]}'][0]")
	nt_check "ipv${f}_status_alt_address" "d1's status names the alternate '$a'" \
		[ "$a" = "${ST_ALTS[$f]}" ]
	nt_check "ipv${f}_d1_lan0" "d1's lan0 holds: $(st_holds d1 "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" \
		[ "$(st_holds d1 "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" = vipa ]
	nt_check "ipv${f}_d2_lan0" "d2's lan0 holds: $(st_holds d2 "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" \
		[ "$(st_holds d2 "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" = alt ]
done
# the router reaches the alternate address (it answers from d2: an ARP/ND entry to d2's MAC)
nt_check alt4_reachable "the router gets no answer from ${ST_ALTS[4]}" \
	nt_wait_until 5 nt_ping r "${ST_ALTS[4]}"
nt_check alt6_reachable "the router gets no answer from ${ST_ALTS[6]}" \
	nt_wait_until 5 nt_ping r "${ST_ALTS[6]}"

# 2: d2 leaves cleanly
t0=$(nt_now_ms)
nt_cd_stop d2 TERM
alt_move d2_stopped_d1_holds_both d1 d1 "$t0" "d1 does not hold both addresses"
for f in 4 6; do
	nt_check "ipv${f}_d2_released" "d2's lan0 after its stop: \
$(st_holds d2 "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" \
		[ "$(st_holds d2 "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" = none ]
done
nt_check alt4_reachable_on_d1 "no answer from ${ST_ALTS[4]} with d2 stopped" \
	nt_wait_until 5 nt_ping r "${ST_ALTS[4]}"

# 3: d2 back: the alternate moves back to it
t0=$(nt_now_ms)
nt_cd_start d2 || { nt_fail restart_d2 "clusterd on d2 did not start again"; nt_finish; }
alt_move d2_back_holds_alt d1 d2 "$t0" "the alternate did not move back to d2"

# 4: d1 killed: d2 holds both (d1's leftovers after SIGKILL are not looked at)
t0=$(nt_now_ms)
nt_cd_stop d1 KILL
alt_move d1_killed_d2_holds_both d2 d2 "$t0" "d2 does not hold both addresses"
nt_finish
