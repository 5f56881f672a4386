#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_oneway: a one-way failure must not move a VIPA.  Under the load of the takeover tests
# (d1 distributes the VIPA, d2 backs it up, t1..t3 targets), d2's namespace drops every
# cluster datagram from d1 (both of d1's addresses), nothing else: d2 no longer hears d1 and
# suspects it, but t1, t2, t3 still hear d1, so the voters (d2, t1, t2, t3) do not agree and d1
# stays up everywhere: for HOLD_MS (far past retry x heartbeat) d2 stays backup, d1 stays
# distributor, requests to the VIPA are answered, the other nodes show d2's vote.  Then
# clusterd on d1 is SIGKILLed: now everyone suspects d1, and d2 takes over (the figure printed
# is comparable with t_takeover_kill's: agreement costs the others' suspicion, which arrives
# with their next heartbeat, sent at once when they start suspecting).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
HOLD_MS=${HOLD_MS:-3000}
NTO_DURATION=${NTO_DURATION:-16}
SUSPECT_MS=$(( 3 * 100 + 500 ))	# retry x heartbeat + margin

# nt2_cdat's helpers (node(j, NAME)) over any host of this topology
oneway_cdat() { nt2_cdat "$@"; }

nto_begin
# By d1's MAC as well as its addresses: whatever source address d1's kernel picks (a VIPA it
# holds is an address too), nothing of d1's cluster traffic reaches d2.
t_cut=$(nt_now_ms)
nt_x d2 nft -f - <<NFT
table inet oneway {
	chain in {
		type filter hook input priority -10; policy accept;
		ether saddr $(nto_mac d1) udp dport $NTO_SYNC_PORT counter drop
		ip saddr ${NT_IP4[d1]} udp dport $NTO_SYNC_PORT counter drop
		ip6 saddr ${NT_IP6[d1]} udp dport $NTO_SYNC_PORT counter drop
	}
}
NFT
nt_log "cluster datagrams from d1 to d2 dropped (one direction)"
ms=$(nt2_time d2 5 "$t_cut" "node(j, 'd1')['suspected']")
echo "d2 suspects d1 after $ms ms"
nt_check d2_suspects_d1 "took $ms ms (limit $SUSPECT_MS; -1 = not within 5 s; $(nt_load))" \
	[ "$ms" -ge 0 -a "$ms" -le $SUSPECT_MS ]

# The cut works: every address of d1 is unreachable from d2.
d1_addrs_on_d2() { oneway_cdat d2 "[a['status'] for a in node(j, 'd1')['addresses']]"; }
d1_cut_seen() { [ "$(d1_addrs_on_d2)" = '["unreachable", "unreachable"]' ]; }
nt_wait_until 3 d1_cut_seen
a=$(d1_addrs_on_d2)
nt_check d1_unreachable_from_d2 "d1's addresses on d2: $a" \
	[ "$a" = '["unreachable", "unreachable"]' ]

# Hold: d1 stays up for d2 and distributor everywhere; d2 stays backup.
bad=""
end=$(( $(nt_now_ms) + HOLD_MS ))
while [ "$(nt_now_ms)" -lt $end ]; do
	s1=$(nto_state d1)
	s2=$(nto_state d2)
	st=$(oneway_cdat d2 "status(j, 'd1')")
	if [ "$s1" != "distributor d1" ] || [ "$s2" != "backup d1" ] || [ "$st" != up ]; then
		bad="d1: $s1, d2: $s2, d1 on d2: $st"
		break
	fi
	sleep 0.1
done
held=$(( $(nt_now_ms) - t_cut ))
echo "t_cut+$held ms: ${bad:-d1 distributor, d2 backup, d1 up on d2 all along}"
nt_check d2_stays_backup "at t_cut+$held ms: $bad" [ -z "$bad" ]
v=$(oneway_cdat d2 "'%s of %s' % (node(j, 'd1')['votes'], node(j, 'd1')['voters'])")
echo "d2's vote on d1: $v suspect it"
nt_check d2_outvoted "d2: $v voters suspect d1" [ "$v" = "1 of 4" ]
for h in t1 t2 t3; do
	s=$(oneway_cdat "$h" "[node(j, 'd1')['suspected'], node(j, 'd1')['suspected_by']]")
	nt_check "vote_seen_on_$h" "$h: d1 (suspected, suspected by): $s" [ "$s" = '[false, ["d2"]]' ]
done
s=$(oneway_cdat d1 "[node(j, 'd2')['suspected'], status(j, 'd2')]")
nt_check d1_hears_d2 "d1's view of d2 (suspected, status): $s" [ "$s" = '[false, "up"]' ]
n=$(nt_stat d2 "j['sync']['nodes_declared_down']")
nt_check d2_declared_nothing "d2 declared $n nodes down" [ "$n" = 0 ]
out=$NT_WORK/oneway.out
nt_curl_loop 20 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_check requests_during_cut "$ok/20 succeeded ($(nt_tally "$out" | tr '\n' ' '))" [ "$ok" -eq 20 ]

# Now d1 fails for real: the others' suspicion joins d2's, and d2 takes over.
t0=$(nt_now_ms)
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nto_check_takeover "$t0"
grep -h "node d1 is down" "$NT_WORK/clusterd-d2.log" | tail -n 1 | sed 's/^/d2: /'
nt_check d2_down_by_vote "d2's log: $(grep -h 'node d1 is down' "$NT_WORK/clusterd-d2.log" |
	tail -n 1)" grep -q "node d1 is down: no address answers, [234] of 4 voters agree" \
	"$NT_WORK/clusterd-d2.log"
nto_end "$t0"
nt_finish
