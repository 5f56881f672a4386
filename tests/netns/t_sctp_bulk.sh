#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_bulk: the SCTP replication paths that no TAG message covers (issue 13).  sctp_lib.sh's
# cluster (d1 the VIPA, d2 the alternate, targets t1 t2); each case builds its own cluster:
#   bulk      d2 is stopped (SIGTERM) and d1 holds both addresses; an association is made through
#             the VIPA (streaming BK_N messages every 20 ms) while d2 is down, so the target's TAG
#             reaches d1 only; d2 is started again: d2 lists the association established, with
#             the target that serves it and the tags of the INIT ACK (captured on C), although it
#             received no TAG: it came from d1's full-table dump (d2's sctp.bulks_received and
#             sctp.imported move, sctp.tag_received stays 0); then d1 is SIGKILLed: d2 takes the
#             VIPA and the client ends with every message echoed, no COMM_LOST, and the cluster
#             sent it no ABORT.
#   takeback  the roles swapped: d1 stopped, d2 holds both addresses, the association is made,
#             d1 started again: d1 gets d2's dump (no TAG), becomes ready, takes the VIPA back
#             (preempt), and the association survives (all echoed, no COMM_LOST, no ABORT).
#   flush     sync.mode = "periodic", interval_ms = 10000 (BK_FLUSH_INTERVAL) on every node: a
#             short association is made and ended by the client with a SHUTDOWN.  d1 sees the
#             client's SHUTDOWN COMPLETE and closes its entry; the target's stack sent only a
#             SHUTDOWN ACK (no GONE message), so d2 keeps it established: the closed record
#             waits in d1's periodic queue (checked).  d1 then gets SIGTERM: within BK_FLUSH_S
#             (2 s), well before the period, d2 lists the association closed or not at all, and
#             d1's stats (polled while it leaves) show sctp.flushes and sctp.flush_records grown
#             by at least 1 since before the signal.  BK_FLUSH_SIG=KILL instead shows the record
#             lost: the case then fails (d2 keeps the association established).
#             The bulk and takeback cases also check that the sender's sctp.bulks_sent grew.
#
# Environment: SCTP_CASES (default "bulk takeback flush"), SCTP_FAMILY (4 or 6), BK_N (messages
# of the bulk and takeback clients, default 1500: they must outlive a daemon's restart under a
# sanitizer build), BK_FLUSH_INTERVAL, BK_FLUSH_S, BK_FLUSH_SIG.  The three cases take ~75 s
# with a sanitizer build (within run.sh's default NT_TIMEOUT; raise it on a loaded machine).
. "$(dirname "$0")/lib.sh"
CASES=${SCTP_CASES:-"bulk takeback flush"}
if [ -z "${SCTP_CASE:-}" ]; then
	# one process per case, each with its own cluster (the flush case's sync mode differs)
	. "$(dirname "$0")/sctp_lib.sh"
	# shellcheck disable=SC2086
	st_each SCTP_CASE $CASES
fi
if [ "$SCTP_CASE" = flush ]; then
	ST_SYNC_MODE=periodic
	ST_SYNC_INTERVAL=${BK_FLUSH_INTERVAL:-10000}
fi
. "$(dirname "$0")/sctp_lib.sh"
N=${BK_N:-1500}
IVAL=20
FLUSH_S=${BK_FLUSH_S:-2}
FLUSH_SIG=${BK_FLUSH_SIG:-TERM}

case $SCTP_CASE in bulk|takeback|flush) ;;
*) echo "SCTP_CASE=$SCTP_CASE: bulk, takeback or flush" >&2; exit 2 ;; esac

# bk_row HOST PORT: HOST's association of client port PORT: "state target client_tag target_tag"
# (empty when it lacks it).
bk_row() { st_assocs "$1" | awk -v p="$2" '$1 == p { print $2, $3, $4, $5; exit }'; }

# bk_est HOST PORT: HOST lists the association of PORT established.
bk_est() { [ "$(st_assoc_state "$1" "$2")" = established ]; }

# bk_ended HOST PORT: HOST lists the association of PORT closed or not at all.
bk_ended()
{
	local s
	s=$(st_assoc_state "$1" "$2")
	[ "$s" = closed ] || [ "$s" = gone ]
}

# bk_stat HOST KEY: a number of HOST's stats (dotted key; empty if none).
bk_stat() { st_flat_stats "$1" | awk -v k="$2" '$1 == k && !s { print $2; s = 1 }'; }

# bk_file_stat FILE KEY: a number of a saved stats --json answer (dotted key, as st_flat_stats).
bk_file_stat()
{
	[ -s "$1" ] || return 0
	"$PY" -c 'import json, sys
def walk(p, v):
	if isinstance(v, dict):
		for k in v:
			walk(p + [str(k)], v[k])
	elif ".".join(p) == sys.argv[2]:
		print(v)
walk([], json.load(open(sys.argv[1])))' "$1" "$2" 2>/dev/null | head -n 1
}

# bk_sctp_stats HOST: HOST's sctp.* counters of interest, on one line.
bk_sctp_stats()
{
	st_flat_stats "$1" | grep -E '^sctp\.(tag_|bulks_|imported|import_|assoc_records|flush)' |
		tr '\n' ' '
}

# bk_init_ack PORT: "vtag itag addrs" of the last INIT ACK to client port PORT in capture "c"
# (the tags as integers: the client's tag, the target's).
bk_init_ack()
{
	st_init_acks c | awk -v p="$1" '$1 == p { l = $3 " " $4 " " $6 } END { print l }'
}

# bk_check_learned HOST PORT WHY: HOST lists PORT's association established, with the target
# that serves it and the INIT ACK's tags; HOST received no TAG and imported records of a bulk.
bk_check_learned()
{
	local h=$1 port=$2 why=$3 row st tgt ctag ttag served ack vtag itag addrs
	nt_check "${h}_lists_it" "${h} does not list client port $port established within 15 s \
($why): $(st_assocs "$h" | tr '\n' ';'); $h: $(bk_sctp_stats "$h")" \
		nt_wait_until 15 bk_est "$h" "$port"
	row=$(bk_row "$h" "$port")
	read -r st tgt ctag ttag <<<"$row"
	served=$(st_served_by "$port")
	# the capture is still running: a copy of what it has so far
	ack=$(bk_init_ack "$port")
	read -r vtag itag addrs <<<"$ack"
	echo "# $h lists port $port: $row; served by: $served; INIT ACK: $ack"
	nt_check "${h}_right_target" "$h says target '$tgt', the servers' logs say '$served'" \
		[ -n "$served" -a "$tgt" = "$served" ]
	nt_check "${h}_right_tags" "$h: client_tag $ctag target_tag $ttag; the INIT ACK: vtag \
$vtag itag $itag" [ -n "$vtag" -a "$ctag" = "$vtag" -a "$ttag" = "$itag" ]
	nt_check init_ack_addresses "the INIT ACK lists '$addrs', want $ST_VIP,$ST_ALT" \
		[ "$addrs" = "$ST_VIP,$ST_ALT" ]
	echo "# $h's counters: $(bk_sctp_stats "$h")"
	nt_check "${h}_no_tag" "$h received $(bk_stat "$h" sctp.tag_received) TAG messages since \
its start (the association's TAG went out while it was down)" \
		[ "$(bk_stat "$h" sctp.tag_received)" = 0 ]
	nt_check "${h}_bulk_received" "$h: sctp.bulks_received $(bk_stat "$h" \
sctp.bulks_received), sctp.imported $(bk_stat "$h" sctp.imported)" \
		[ "$(bk_stat "$h" sctp.bulks_received)" -ge 1 -a "$(bk_stat "$h" sctp.imported)" -ge 1 ]
}

# bk_client_end NAME PORT: waits for the client; checks it echoed everything, no COMM_LOST, and
# that the cluster sent no ABORT (capture "c", stopped here).
bk_client_end()
{
	local cl=$1 aborts ok=0
	st_client_wait "$cl" 180
	echo "# client exit $ST_RC: $(st_summary "$cl")"
	grep -h '"path"\|"assoc"' "$NT_WORK/$cl.log" | sed 's/^/    /'
	[ "$ST_RC" -eq 0 ] && st_client_ok "$cl" "$N" && ok=1
	nt_check survives "exit $ST_RC: $(st_summary "$cl")" [ "$ok" = 1 ]
	st_cap_stop c
	aborts=$(st_aborts c | grep ' ABORT ')
	nt_check no_abort_from_cluster "the cluster sent ABORTs: $(echo "$aborts" | head -n 6 |
		tr '\n' ';')" [ -z "$aborts" ]
}

# bk_still_streams NAME: client NAME still runs (its association must live through the event).
bk_still_streams()
{
	local pid
	pid=$(cat "$NT_WORK/$1.pid" 2>/dev/null) && ! nt_gone "$pid"
}

# ---------------------------------------------------------------- bulk
case_bulk()
{
	local port=44001 t0 sent0
	nt_cd_stop d2 TERM
	nt_check d1_holds_both "$(st_where)" nt_wait_until 10 st_placed d1 d1
	st_cap_start c c || nt_log "no capture on C"
	st_client bulk "$port" "$N" "$IVAL"
	st_go bulk
	nt_check client_up "$(st_summary bulk)" st_client_up bulk 20
	nt_check d1_lists_it "d1: $(st_assocs d1 | tr '\n' ';')" \
		nt_wait_until 10 bk_est d1 "$port"
	echo "# d1's association: $(bk_row d1 "$port"); d1: $(bk_sctp_stats d1)"
	sent0=$(bk_stat d1 sctp.bulks_sent)
	t0=$(nt_now_ms)
	nt_cd_start d2 || nt_fail d2_start "d2 did not start"
	nt_check steady_again "$(st_where)" nt_wait_until 30 st_steady
	echo "# d2 back and steady after $(( $(nt_now_ms) - t0 )) ms"
	bk_check_learned d2 "$port" "d1's dump"
	echo "# d1's counters: $(bk_sctp_stats d1)"
	nt_check d1_bulk_sent "d1's sctp.bulks_sent: $sent0 before d2's start, now \
$(bk_stat d1 sctp.bulks_sent)" [ "$(bk_stat d1 sctp.bulks_sent)" -gt "${sent0:-0}" ]
	nt_check client_streams_at_kill "the client ended before d1's death: $(st_summary bulk)" \
		bk_still_streams bulk
	t0=$(nt_now_ms)
	nt_cd_stop d1 KILL
	nt_check d2_takes_over "$(st_where)" nt_wait_until 5 eval \
		'[ "$(st_holds d2 "$ST_VIP" "$ST_ALT")" = both ]'
	echo "# d2 holds both $(( $(nt_now_ms) - t0 )) ms after d1's SIGKILL (polled)"
	bk_client_end bulk "$port"
}

# ---------------------------------------------------------------- takeback
case_takeback()
{
	local port=44101 t0 sent0
	nt_cd_stop d1 TERM
	nt_check d2_holds_both "$(st_where)" nt_wait_until 10 st_placed d2 d2
	st_cap_start c c || nt_log "no capture on C"
	st_client tb "$port" "$N" "$IVAL"
	st_go tb
	nt_check client_up "$(st_summary tb)" st_client_up tb 20
	nt_check d2_lists_it "d2: $(st_assocs d2 | tr '\n' ';')" \
		nt_wait_until 10 bk_est d2 "$port"
	echo "# d2's association: $(bk_row d2 "$port"); d2: $(bk_sctp_stats d2)"
	sent0=$(bk_stat d2 sctp.bulks_sent)
	t0=$(nt_now_ms)
	nt_cd_start d1 || nt_fail d1_start "d1 did not start"
	nt_check d1_takes_back "$(st_where)" nt_wait_until 30 st_steady
	echo "# d1 back and holding the VIPA after $(( $(nt_now_ms) - t0 )) ms"
	bk_check_learned d1 "$port" "d2's dump"
	nt_check d2_bulk_sent "d2's sctp.bulks_sent: $sent0 before d1's start, now \
$(bk_stat d2 sctp.bulks_sent)" [ "$(bk_stat d2 sctp.bulks_sent)" -gt "${sent0:-0}" ]
	nt_check client_streams_after_takeback "the client ended before d1 took the VIPA back: \
$(st_summary tb)" bk_still_streams tb
	bk_client_end tb "$port"
}

# ---------------------------------------------------------------- flush

# bk_poll_stats HOST FILE: in the background, HOST's stats --json into FILE (the last answer),
# as often as it answers, until its daemon is gone.  Why: d1's flush counters are only
# visible while it leaves.
bk_poll_stats()
{
	local h=$1 f=$2 pid
	pid=$(cat "$NT_WORK/clusterd-$h.pid")
	(
		for _ in $(seq 1 2000); do
			nt_gone "$pid" && break
			nt_ctl "$h" stats --json >"$f.tmp" 2>/dev/null && [ -s "$f.tmp" ] &&
				mv "$f.tmp" "$f"
		done
	) &
	BK_POLLER=$!
}

case_flush()
{
	local port=44201 n=${BK_FLUSH_N:-20} t_up t_close t0 ms d1pid flushes frec ok h fl0 fr0
	st_cap_start c c || nt_log "no capture on C"
	st_client fl "$port" "$n" "$IVAL"
	st_go fl
	nt_check client_up "$(st_summary fl)" st_client_up fl 20
	t_up=$(nt_now_ms)
	for h in d1 d2; do
		nt_check "${h}_lists_it" "$h: $(st_assocs "$h" | tr '\n' ';')" \
			nt_wait_until 10 bk_est "$h" "$port"
	done
	st_client_wait fl 30
	echo "# client exit $ST_RC: $(st_summary fl)"
	ok=0
	[ "$ST_RC" -eq 0 ] && st_client_ok fl "$n" && ok=1
	nt_check client_ok "exit $ST_RC: $(st_summary fl)" [ "$ok" = 1 ]
	nt_check client_shut_down "the client did not end with a SHUTDOWN" \
		st_has "$NT_WORK/fl.log" "o['event'] == 'close' and o['how'] == 'shutdown'"
	nt_check d1_closed_it "d1: $(st_assocs d1 | tr '\n' ';')" nt_wait_until 5 bk_ended d1 "$port"
	t_close=$(nt_now_ms)
	echo "# d1 lists it $(st_assoc_state d1 "$port") $((t_close - t_up)) ms after it came up;" \
		"d2 lists it $(st_assoc_state d2 "$port"); d1: $(bk_sctp_stats d1); d1 pending" \
		"$(bk_stat d1 sctp.pending)"
	# the premise: nothing but d1's periodic queue holds the close (no GONE from the target):
	# on the wire, the service side sent a SHUTDOWN ACK (8) and neither an ABORT (6) nor a
	# SHUTDOWN COMPLETE (14); the client sent the SHUTDOWN COMPLETE
	st_pcap c >"$NT_WORK/c.jsonl"
	nt_check premise_shutdown_on_wire "the capture lacks the client's SHUTDOWN COMPLETE or the \
service's SHUTDOWN ACK, or the service side sent an ABORT or a SHUTDOWN COMPLETE" eval \
		'st_has "$NT_WORK/c.jsonl" "o[\"sport\"] == $port and any(c[\"type\"] == 14 for c in o[\"chunks\"])" &&
		st_has "$NT_WORK/c.jsonl" "o[\"dport\"] == $port and any(c[\"type\"] == 8 for c in o[\"chunks\"])" &&
		! st_has "$NT_WORK/c.jsonl" "o[\"dport\"] == $port and any(c[\"type\"] in (6, 14) for c in o[\"chunks\"])"'
	nt_check premise_d2_still_established "d2 learned of the close before d1's flush: \
$(bk_row d2 "$port"); d2: $(bk_sctp_stats d2) gone_received $(bk_stat d2 sctp.gone_received)" \
		bk_est d2 "$port"
	nt_check premise_record_pending "d1's sctp.pending is $(bk_stat d1 sctp.pending)" \
		[ "$(bk_stat d1 sctp.pending)" -ge 1 ]
	nt_check premise_before_period "the close came $((t_close - t_up)) ms after the \
association, the period is $ST_SYNC_INTERVAL ms: too late to tell the flush apart" \
		[ $((t_close - t_up)) -lt $((ST_SYNC_INTERVAL - 4000)) ]
	# d1 flushes at other moments too (a release, a peer's start): the leave's is the delta
	fl0=$(bk_stat d1 sctp.flushes)
	fr0=$(bk_stat d1 sctp.flush_records)
	d1pid=$(cat "$NT_WORK/clusterd-d1.pid")
	bk_poll_stats d1 "$NT_WORK/d1-stats.json"
	sleep 0.3	# a first answer of the poller
	t0=$(nt_now_ms)
	kill -"$FLUSH_SIG" "$d1pid"
	if nt_wait_until "$FLUSH_S" bk_ended d2 "$port"; then
		ms=$(( $(nt_now_ms) - t0 ))
		nt_pass d2_learns_close
		echo "# d2 lists it $(st_assoc_state d2 "$port") ~$ms ms after d1's SIG$FLUSH_SIG" \
			"($(( $(nt_now_ms) - t_up )) ms after it came up; period $ST_SYNC_INTERVAL ms)"
	else
		nt_fail d2_learns_close "$FLUSH_S s after d1's SIG$FLUSH_SIG: d2 lists it \
$(st_assoc_state d2 "$port"): $(bk_row d2 "$port"); d2: $(bk_sctp_stats d2)"
	fi
	nt_wait_until 10 nt_gone "$d1pid"
	wait "$BK_POLLER" 2>/dev/null
	nt_cd_stop d1 TERM	# reaps it
	flushes=$(bk_file_stat "$NT_WORK/d1-stats.json" sctp.flushes)
	frec=$(bk_file_stat "$NT_WORK/d1-stats.json" sctp.flush_records)
	echo "# d1's stats before the signal: sctp.flushes $fl0, sctp.flush_records $fr0; its last" \
		"while leaving: $flushes, $frec; its log: $(grep -h 'sctp associations flushed' \
		"$NT_WORK/clusterd-d1.log" | tail -n 1)"
	nt_check d1_flushed "d1's sctp.flushes $fl0 -> '$flushes', sctp.flush_records $fr0 -> \
'$frec' (its last stats before it was gone)" \
		[ "${flushes:-0}" -ge $((fl0 + 1)) -a "${frec:-0}" -ge $((fr0 + 1)) ]
	st_cap_stop c
}

echo "# case $SCTP_CASE, IPv$SCTP_FAMILY"
st_cluster_up
"case_$SCTP_CASE"
nt_finish
