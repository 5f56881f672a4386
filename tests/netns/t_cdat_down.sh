#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_down: both of t1's paths are cut for cluster traffic.  t1 is down on d1, d2 and t2
# within retry x heartbeat + 500 ms (measured per node, all polled at once); the VIPA keeps
# serving every request and none reaches t1.  Healed, t1 is up again everywhere and gets
# requests again.
. "$(dirname "$0")/lib.sh"
LIMIT_MS=$(( NT2_RETRY * NT2_HB + 500 ))
UP_MS=2000
N=100
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
pri=${NT2_PRI[t1]} alt=${NT2_ALT[t1]}
OTHERS="d1 d2 t2"

t0=$(nt_now_ms)
nt2_sync_drop t1 cutall own "$pri" "$alt"
while read -r h ms; do
	echo "$h shows t1 down after $ms ms (limit $LIMIT_MS)"
	nt_check "t1_down_on_$h" "took $ms ms (limit $LIMIT_MS, -1 = not within 5 s; $(nt_load))" \
		[ "$ms" -ge 0 -a "$ms" -le $LIMIT_MS ]
done < <(nt2_time_each 5 "$t0" "status(j, 't1') == 'down'" $OTHERS)
for h in $OTHERS; do
	a=$(nt2_cdat "$h" "[a['status'] for a in node(j, 't1')['addresses']]")
	nt_check "t1_addrs_unreachable_$h" "t1's addresses on $h: $a" \
		[ "$a" = '["unreachable", "unreachable"]' ]
done
alive=$(nt2_cdat d1 "[n['alive'] for n in j['nodes'] if n['name'] == 't1'][0]" status)
nt_check t1_not_alive_in_status "d1 status: t1 alive=$alive" [ "$alive" = False ]
nt_check d1_distributor "d1's role: $(nt2_vipa_role d1)" [ "$(nt2_vipa_role d1)" = distributor ]

out=$NT_WORK/down.out
nt_curl_loop $N "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers while t1 is down: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_all_succeed "$ok/$N succeeded" [ "$ok" -eq $N ]
nt_check none_to_t1 "t1 answered $(nt_count "$out" t1)" [ "$(nt_count "$out" t1)" -eq 0 ]

t0=$(nt_now_ms)
nt2_sync_heal t1 cutall
while read -r h ms; do
	echo "$h shows t1 up again after $ms ms (limit $UP_MS)"
	nt_check "t1_up_on_$h" "took $ms ms (limit $UP_MS, -1 = not within 5 s)" \
		[ "$ms" -ge 0 -a "$ms" -le $UP_MS ]
done < <(nt2_time_each 5 "$t0" "status(j, 't1') == 'up'" $OTHERS)
# the distributor takes t1 back once it hears its listener again
nt_check t1_listening_again "d1 does not see t1 listening within 5 s" \
	nt_wait_until 5 nt_is_true nt_target_listening d1 t1 80 tcp
out=$NT_WORK/up.out
nt_curl_loop $N "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers after the heal: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_after_heal "$ok/$N succeeded" [ "$ok" -eq $N ]
nt_check t1_served_again "t1 answered $(nt_count "$out" t1)" [ "$(nt_count "$out" t1)" -gt 0 ]
nt_finish
