#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_end: associations that end leave no state behind (issue 13).  sctp_lib.sh's cluster,
# IPv4 then IPv6 (SCTP_FAMILIES, default "4 6").  Per family, END_CLIENTS (3) usrsctp clients
# that end with a SHUTDOWN and one that ends with an ABORT (sctp_peer client --abort) stream
# through the VIPA:
#   - while they run, d1 and d2 both list them as established (`clusterctl conns`);
#   - every client echoes everything; a capture on C shows the SHUTDOWN COMPLETE of each normal
#     client and the aborting client's ABORT (the peers did what the test says);
#   - within END_GONE_S (10 s) of the clients' exit, d1 and d2 list none of them but as closed
#     or not at all;
#   - the cluster sent no ABORT (the clients' own ending needs none);
#   - d1's "sctp" stats counters moved (printed: which).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sctp_lib.sh"
CLIENTS=${END_CLIENTS:-3}
N=${END_N:-100}
GONE_S=${END_GONE_S:-10}
FAMILIES=${SCTP_FAMILIES:-"4 6"}

# end_all_state HOST WANT PORT...: HOST's association of every PORT is in state WANT
# ("ended": closed or gone).
end_all_state()
{
	local h=$1 want=$2 p s tab
	shift 2
	tab=$(st_assocs "$h")
	for p in "$@"; do
		s=$(echo "$tab" | awk -v p="$p" '$1 == p { print $2; exit }')
		s=${s:-gone}
		case $want in
		ended) [ "$s" = closed ] || [ "$s" = gone ] || return 1 ;;
		*) [ "$s" = "$want" ] || return 1 ;;
		esac
	done
}

# end_states HOST PORT...: "port:state" of each PORT on HOST.
end_states()
{
	local h=$1 p
	shift
	for p in "$@"; do printf '%s:%s ' "$p" "$(st_assoc_state "$h" "$p")"; done
}

end_family()
{
	local f=$1 i ports="" port aport h t0 ms bad=0 n
	st_family "$f"
	st_cap_start c "c$f" || { nt_fail "ipv${f}_capture" "tcpdump did not start"; return; }
	for i in $(seq 1 "$CLIENTS"); do
		port=$((43000 + f * 100 + i))
		ports="$ports $port"
		st_client "end$f-$i" "$port" "$N" 20
	done
	aport=$((43000 + f * 100 + 99))
	st_client "end$f-abort" "$aport" "$N" 20 --abort
	st_go $(seq -f "end$f-%g" 1 "$CLIENTS") "end$f-abort"
	for i in $(seq 1 "$CLIENTS") abort; do
		st_client_up "end$f-$i" 20 || nt_log "IPv$f client $i not up: $(st_summary "end$f-$i")"
	done
	for h in d1 d2; do
		# shellcheck disable=SC2086
		nt_check "ipv${f}_${h}_lists_established" "$h: $(end_states "$h" $ports "$aport")" \
			nt_wait_until 10 end_all_state "$h" established $ports "$aport"
	done
	for i in $(seq 1 "$CLIENTS") abort; do
		st_client_wait "end$f-$i" 90
		[ "$ST_RC" -eq 0 ] && st_client_ok "end$f-$i" "$N" || {
			bad=$((bad + 1)); nt_log "IPv$f client $i: exit $ST_RC: $(st_summary "end$f-$i")"; }
	done
	t0=$(nt_now_ms)
	nt_check "ipv${f}_all_echoed" "$bad clients failed" [ "$bad" -eq 0 ]
	nt_check "ipv${f}_abort_client_aborted" "the --abort client did not say it aborted" \
		st_has "$NT_WORK/end$f-abort.log" "o['event'] == 'close' and o['how'] == 'abort'"
	for h in d1 d2; do
		# shellcheck disable=SC2086
		if nt_wait_until "$GONE_S" end_all_state "$h" ended $ports "$aport"; then
			ms=$(( $(nt_now_ms) - t0 ))
			nt_pass "ipv${f}_${h}_ended"
			echo "# IPv$f: $h lists the ended associations closed or not at all ~$ms ms" \
				"after the clients exited (polled)"
		else
			nt_fail "ipv${f}_${h}_ended" "$GONE_S s after the clients' end: \
$(end_states "$h" $ports "$aport")"
		fi
	done
	# the capture: a SHUTDOWN COMPLETE (14) from each normal client, an ABORT (6) from the other
	sleep 0.5
	st_cap_stop "c$f"
	st_pcap "c$f" >"$NT_WORK/c$f.jsonl"
	n=0
	for port in $ports; do
		st_has "$NT_WORK/c$f.jsonl" "o['sport'] == $port and o['src'] == '$ST_CLIENT' and \
any(c['type'] == 14 for c in o['chunks'])" && n=$((n + 1))
	done
	nt_check "ipv${f}_shutdown_complete_sent" "$n of $CLIENTS clients sent a SHUTDOWN COMPLETE" \
		[ "$n" -eq "$CLIENTS" ]
	nt_check "ipv${f}_no_abort_from_cluster" "the cluster sent ABORTs: $(st_aborts "c$f" |
		head -n 8 | tr '\n' ';')" eval '[ -z "$(st_aborts "c$f" | grep " ABORT ")" ]'
	nt_check "ipv${f}_abort_sent" "no ABORT from client port $aport in the capture" \
		st_has "$NT_WORK/c$f.jsonl" "o['sport'] == $aport and o['src'] == '$ST_CLIENT' and \
any(c['type'] == 6 for c in o['chunks'])"
}

st_cluster_up
st_flat_stats d1 | grep -i sctp >"$NT_WORK/stats0"
for fam in $FAMILIES; do end_family "$fam"; done
st_flat_stats d1 | grep -i sctp >"$NT_WORK/stats1"
moved=$(join "$NT_WORK/stats0" "$NT_WORK/stats1" |
	awk '$2 != $3 { printf "%s %s->%s; ", $1, $2, $3 }')
echo "# d1's sctp counters that moved: $moved"
nt_check d1_sctp_stats_moved "no sctp counter of d1 moved ($(wc -l <"$NT_WORK/stats1") sctp \
counters)" [ -n "$moved" ]
nt_finish
