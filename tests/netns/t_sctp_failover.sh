#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_failover: an SCTP association survives the death of the distributor that holds the VIPA
# (issue 13).  sctp_lib.sh's cluster: the client knows only the VIPA (held by d1); the alternate
# address (held by d2) is the association's second path.  Each run: a fresh association streams
# FO_N messages (200) every FO_IVAL_MS (20 ms); a third of the way through, d1 fails:
#   linkdown  d1's LAN link goes down (d1 restored afterwards: link up, routes back)
#   kill      clusterd on d1 is SIGKILLed (its VIPA and rules stay behind; started again after)
#   term      clusterd on d1 gets SIGTERM with sync.mode = "periodic" and interval_ms = 5000
#             (FO_TERM_INTERVAL): the association is younger than the interval, so only the
#             flush before d1 lets go (or the target's TAG message) can tell d2 about it
# The client must end with every message echoed (lost 0), no COMM_LOST and no restart; the
# longest wait for one echo (max_gap_ms, sctp_peer's summary) is the gap, printed per run with
# the median message round trip; over the runs of a case, the median and the worst of the max
# gaps are printed, and the worst must stay under SCTP_MAX_GAP_MS (3000).
# Between runs the cluster returns to its steady state (d1 the VIPA, d2 the alternate).
#
# Environment: SCTP_CASES (default "linkdown kill term"; each case builds its own cluster),
# SCTP_RUNS (runs per case, default 1; e.g. 5 for the note: then raise NT_TIMEOUT of run.sh,
# about 60 s per run), SCTP_FAMILY (4 or 6), FO_N, FO_IVAL_MS, SCTP_TIMERS (sctp_lib.sh).
. "$(dirname "$0")/lib.sh"
CASES=${SCTP_CASES:-"linkdown kill term"}
if [ -z "${SCTP_CASE:-}" ]; then
	# one process per case, each with its own cluster (the term case's sync mode differs)
	. "$(dirname "$0")/sctp_lib.sh"
	# shellcheck disable=SC2086
	st_each SCTP_CASE $CASES
fi
if [ "$SCTP_CASE" = term ]; then
	ST_SYNC_MODE=periodic
	ST_SYNC_INTERVAL=${FO_TERM_INTERVAL:-5000}
fi
. "$(dirname "$0")/sctp_lib.sh"
RUNS=${SCTP_RUNS:-1}
N=${FO_N:-200}
IVAL=${FO_IVAL_MS:-20}
MAX_GAP_MS=${SCTP_MAX_GAP_MS:-3000}

# fo_event: d1 fails the case's way.
fo_event()
{
	case $SCTP_CASE in
	linkdown) nto_link_down d1 ;;
	kill) nt_cd_stop d1 KILL ;;
	term) nt_cd_stop d1 TERM ;;
	esac
}

# fo_d2_took: d2 holds the VIPA and the alternate of the family under test (d1 is not looked at:
# with its link down it may believe it holds them too).
fo_d2_took()
{
	[ "$(st_holds d2 "$ST_VIP" "$ST_ALT")" = both ] &&
		[[ $(st_vstate d2) == "distributor d2 True d2" ]]
}

# fo_restore: d1 back as it was; waits until the cluster is steady again.
fo_restore()
{
	case $SCTP_CASE in
	linkdown) nto_link_up d1 ;;
	kill|term) nt_cd_start d1 || return 1 ;;
	esac
	nt_wait_until 30 st_steady && st_wait_targets 30
}

# nto_link_* of lib_takeover.sh, without the rest of that file
nto_link_down() { nt_x "$1" ip link set lan0 down; }
nto_link_up()
{
	nt_x "$1" ip link set lan0 up
	nt_x "$1" ip route replace default via 10.2.0.1
	nt_x "$1" ip -6 route replace default via fd02::1
}

[ "$SCTP_CASE" = linkdown ] || [ "$SCTP_CASE" = kill ] || [ "$SCTP_CASE" = term ] ||
	{ echo "SCTP_CASE=$SCTP_CASE: linkdown, kill or term" >&2; exit 2; }
echo "# case $SCTP_CASE, IPv$SCTP_FAMILY, $RUNS run(s), $N messages every $IVAL ms"
st_cluster_up
gaps=()
fails=0
for r in $(seq 1 "$RUNS"); do
	name=fo-$r
	port=$((41000 + r))
	if ! st_steady; then
		nt_log "run $r: not steady: $(st_where)"
	fi
	st_cap_start c "$name" || nt_log "run $r: no capture"
	st_client "$name" "$port" "$N" "$IVAL"
	st_go "$name"
	if ! st_client_up "$name" 20; then
		nt_log "run $r: no association: $(st_summary "$name")"
		fails=$((fails + 1))
		st_client_wait "$name" 1
		st_cap_stop "$name"
		fo_restore || { nt_fail restore "run $r: $(st_where)"; break; }
		continue
	fi
	# a third of the stream, then the event
	sleep "$(awk -v n="$N" -v i="$IVAL" 'BEGIN { printf "%.3f", n * i / 3000 }')"
	echo "run $r: d2's associations before the event: $(st_assocs d2 | tr '\n' ';')"
	t0=$(nt_now_ms)
	fo_event
	nt_log "run $r: $SCTP_CASE on d1 ($(( $(nt_now_ms) - t0 )) ms)"
	nt_wait_until 5 fo_d2_took ||
		nt_log "run $r: d2 does not hold both addresses 5 s after the event: $(st_where)"
	echo "run $r: d2 holds both after $(( $(nt_now_ms) - t0 )) ms (polled);" \
		"its associations: $(st_assocs d2 | tr '\n' ';')"
	st_client_wait "$name" 120
	rc=$ST_RC
	sum=$(st_summary "$name")
	gap=$(st_get "$NT_WORK/$name.log" summary max_gap_ms)
	med=$(st_get "$NT_WORK/$name.log" summary median_gap_ms)
	echo "run $r: client exit $rc; max_gap_ms $gap, median $med; $sum"
	grep -h '"path"\|"assoc"' "$NT_WORK/$name.log" | sed 's/^/    /'
	st_cap_stop "$name"
	# what the cluster answered with ABORTs (none expected), relative to the event
	st_aborts "$name" "$t0" | head -n 12 | sed "s/^/    run $r: /"
	rm -f "$NT_WORK/$name.pcap"
	if [ "$rc" -ne 0 ] || ! st_client_ok "$name" "$N"; then
		fails=$((fails + 1))
	else
		gaps+=("$gap")
	fi
	fo_restore || { nt_fail restore "run $r: d1 is not back: $(st_where)"; break; }
done
nt_check "${SCTP_CASE}_survives" "$fails of $RUNS runs lost a message or the association" \
	[ "$fails" -eq 0 ]
if [ ${#gaps[@]} -gt 0 ]; then
	read -r med worst < <(st_median_worst "${gaps[@]}")
	echo "# SCTP failover gap, case $SCTP_CASE, IPv$SCTP_FAMILY, over ${#gaps[@]} runs: median" \
		"${med} ms, worst ${worst} ms (max gaps: ${gaps[*]}; timers $SCTP_TIMERS;" \
		"$N messages every $IVAL ms)"
	nt_check "${SCTP_CASE}_gap_bounded" "worst gap ${worst} ms > ${MAX_GAP_MS} ms" \
		awk -v w="$worst" -v m="$MAX_GAP_MS" 'BEGIN { exit !(w <= m) }'
fi
nt_finish
