#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_renum: a busy SCTP association survives reload after reload that renumbers the nodes
# (and the VIPAs), sctp_lib.sh's cluster, the family SCTP_FAMILY (4).  Issue 13.
#
# A reload's commit renumbers the association table's VIPA and node indexes, but worker 0 routes
# with the old view until main.c has built the new one and the worker has taken it: packets
# routed in between met a table in the other numbering (a target index the old view does not
# list: held back; a second reload more than a second later found the held packet's grace over
# and ended the association: sctp.target_gone, then no-state ABORTs, COMM_LOST).  Now the table
# takes the renumbering from worker 0 itself, as it takes the new view (daemon/dsctp.c's
# dsctp_stage, daemon/worker.c's worker_renumber).
#
# One client streams RN_N (3000) messages, one every RN_IVAL_MS (5) ms, through the VIPA.  Every
# node reloads RN_ROUNDS (6) times, about RN_GAP_S (1.2) s apart, a file whose nodes alternate
# between the orders "t2 t1 d2 d1" and "d1 d2 t1 t2" (rounds 3 and 4 also list the two VIPAs the
# other way round).  After each round d1 and d2 still list the association, established, with
# its target; at the end the client has every message echoed, 0 lost, no COMM_LOST, no restart;
# neither distributor ended it (sctp.target_gone) or sent a no-state ABORT, and d1 never held a
# packet of it back (sctp.no_state_held: the worker routed against a table in another
# numbering).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sctp_lib.sh"
N=${RN_N:-3000}
IVAL=${RN_IVAL_MS:-5}
ROUNDS=${RN_ROUNDS:-6}
GAP=${RN_GAP_S:-1.2}
PORT=44311

# rn_write_config NODES FAMILIES: st_write_config's file with the nodes in the order NODES and
# the VIPAs of FAMILIES in that order.
rn_write_config() { NT_HOSTS="$1" ST_VIPA_ORDER="$2" st_write_config; }

# rn_reloads HOST: HOST's count of applied reloads ("-" when it does not answer).
rn_reloads() { nt_ctl "$1" status --json 2>/dev/null | nt_json "j['reloads']" 2>/dev/null || echo -; }

# rn_target HOST: the target HOST lists for the established association of PORT (empty: none).
rn_target()
{
	st_assocs "$1" | awk -v p="$PORT" '$1 == p && $2 == "established" { print $3; exit }'
}

rn_has() { [ "$(rn_target "$1")" = "$2" ]; }

# rn_stat HOST KEY: a counter of HOST's stats (0 when absent).
rn_stat()
{
	local v
	v=$(st_flat_stats "$1" | awk -v k="$2" '$1 == k { v = $2 } END { print v }')
	echo "${v:-0}"
}

# rn_counts: "target_gone no_state no_state_held" of d1, then of d2.
rn_counts()
{
	local h k
	for h in d1 d2; do
		for k in sctp.target_gone sctp.no_state sctp.no_state_held; do
			echo -n "$(rn_stat "$h" "$k") "
		done
	done
}

st_cluster_up
other_fams=$([ "$SCTP_FAMILY" = 4 ] && echo "6 4" || echo "4 6")

st_client rn "$PORT" "$N" "$IVAL"
st_go rn
st_client_up rn 20 || { nt_fail up "the association did not come up: $(st_summary rn)"; nt_finish; }
nt_wait_until 10 eval '[ -n "$(rn_target d1)" ]'
tg=$(rn_target d1)
nt_check setup "d1 lists no established association of $PORT: $(st_assocs d1 | tr '\n' ';')" \
	[ -n "$tg" ]
nt_check setup_d2 "d2 does not list $PORT with $tg: $(st_assocs d2 | tr '\n' ';')" \
	nt_wait_until 10 rn_has d2 "$tg"
nt_log "association $PORT goes to $tg"
read -r -a before <<<"$(rn_counts)"

for round in $(seq "$ROUNDS"); do
	nodes="d1 d2 t1 t2"
	[ $((round % 2)) = 1 ] && nodes="t2 t1 d2 d1"
	fams="4 6"
	[ "$round" = 3 ] || [ "$round" = 4 ] && fams=$other_fams
	rn_write_config "$nodes" "$fams"
	ok=1
	for h in $NT_HOSTS; do
		b=$(rn_reloads "$h")
		out=$(nt_ctl "$h" reload 2>&1) || { ok=0; nt_log "round $round: $h: reload: $out"; }
		a=$(rn_reloads "$h")
		[ "$b" != - ] && [ "$a" != - ] && [ "$a" != "$b" ] ||
			{ ok=0; nt_log "round $round: $h's reloads $b -> $a"; }
	done
	nt_check "round${round}_applied" "a node did not apply the file (nodes $nodes, VIPAs $fams)" \
		[ "$ok" = 1 ]
	for h in d1 d2; do
		nt_check "round${round}_${h}_keeps_it" "$h lists $(st_assocs "$h" | tr '\n' ';') (want \
$PORT established with $tg)" nt_wait_until 5 rn_has "$h" "$tg"
	done
	nt_log "round $round (nodes $nodes, VIPAs $fams): target_gone/no_state/held d1, d2: \
$(rn_counts)"
	# the reloads of two rounds more than a second apart (the grace a held packet waits)
	sleep "$GAP"
done

st_client_wait rn 120
nt_log "rn: exit $ST_RC: $(st_summary rn)"
nt_check client_ok "exit $ST_RC: $(st_summary rn)" st_client_ok rn "$N"
read -r -a after <<<"$(rn_counts)"
nt_check d1_not_ended "d1's sctp.target_gone ${before[0]} -> ${after[0]}" [ "${after[0]}" = "${before[0]}" ]
nt_check d2_not_ended "d2's sctp.target_gone ${before[3]} -> ${after[3]}" [ "${after[3]}" = "${before[3]}" ]
# no_state counts the packets of no association, answered (a no-state ABORT) or held back;
# no_state_held those held back and also the held packets of a target the view does not list:
# an ABORT makes the difference grow (such a held packet makes it shrink)
nt_check d1_no_abort "d1's no-state ABORTs $((before[1] - before[2])) -> $((after[1] - after[2]))" \
	[ $((after[1] - after[2])) -le $((before[1] - before[2])) ]
nt_check d2_no_abort "d2's no-state ABORTs $((before[4] - before[5])) -> $((after[4] - after[5]))" \
	[ $((after[4] - after[5])) -le $((before[4] - before[5])) ]
nt_check d1_never_held "d1 held back packets: sctp.no_state_held ${before[2]} -> ${after[2]}" \
	[ "${after[2]}" = "${before[2]}" ]
grep -h "SCTP associations renumbered" "$NT_WORK"/clusterd-d1.log 2>/dev/null | tail -n 2 |
	sed 's/^/# d1: /'
nt_finish
