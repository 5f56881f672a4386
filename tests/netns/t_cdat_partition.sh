#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_partition: cluster traffic between {d1, t1} and {d2, t2} is cut (both paths).  Each
# side sees the other down and keeps serving: d2 takes the VIPA on its side (d1 and d2 both
# distributor: expected during a partition).  Healed, within 1 s the VIPA has exactly one owner
# (d1, first in the list) and d2 is backup again; the CDATs are equal again everywhere.
. "$(dirname "$0")/lib.sh"
DOWN_MS=$(( NT2_RETRY * NT2_HB + 500 ))
MERGE_MS=1000
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
side2="${NT2_PRI[d2]} ${NT2_ALT[d2]} ${NT2_PRI[t2]} ${NT2_ALT[t2]}"
has_vipa() { nt_x "$1" ip -4 -o addr show dev lan0 | grep -q " $NT_VIP4/"; }

t0=$(nt_now_ms)
for h in d1 t1; do nt2_sync_drop "$h" split peer $side2; done
while read -r h ms; do
	echo "$h sees the other side down after $ms ms"
	nt_check "split_seen_$h" "took $ms ms (limit $DOWN_MS, -1 = not within 5 s; $(nt_load))" \
		[ "$ms" -ge 0 -a "$ms" -le $DOWN_MS ]
done < <(nt2_time_each 5 "$t0" "(status(j, 'd2') == 'down' and status(j, 't2') == 'down' and
	status(j, 't1') in ('up', 'self')) if j['node'] in ('d1', 't1') else
	(status(j, 'd1') == 'down' and status(j, 't1') == 'down' and
	 status(j, 't2') in ('up', 'self'))" \
	$NT_HOSTS)
ms=$(nt2_time d2 5 "$t0" "[v['role'] for v in j['vipas'] if v['address'] == '$NT_VIP4'] ==
	['distributor']" status)
echo "d2 distributor on its side after $ms ms"
nt_check d2_takes_vipa "d2's role: $(nt2_vipa_role d2)" [ "$ms" -ge 0 ]
nt_check d1_keeps_vipa "d1's role: $(nt2_vipa_role d1)" [ "$(nt2_vipa_role d1)" = distributor ]
nt_check d2_holds_address "$NT_VIP4 not on d2's lan0" nt_wait_until 2 has_vipa d2
nt_check d1_holds_address "$NT_VIP4 not on d1's lan0" has_vipa d1
# before the heal, each side has settled on one table of its own (the merge then has two
# settled views to reconcile), instead of a fixed second of waiting
if nt_wait_until 5 eval 'nt2_converged d1 t1 && nt2_converged d2 t2'; then
	nt_pass sides_settled
else
	nt_fail sides_settled "CDATs within a side differ 5 s after the split (version digest of \
$NT_HOSTS): $(nt2_digests $NT_HOSTS | tr '\n' ';')"
fi

t0=$(nt_now_ms)
for h in d1 t1; do nt2_sync_heal "$h" split; done
one_owner="[(v['role'], v['owner']) for v in j['vipas'] if v['address'] == '$NT_VIP4']"
read -r _ ms1 _ ms2 < <(NT2_CMD=status nt2_time_each 5 "$t0" "$one_owner == [('distributor' if
	j['node'] == 'd1' else 'backup', 'd1')]" d1 d2 | tr '\n' ' ')
echo "healed: d2 backup after $ms2 ms, d1 distributor at $ms1 ms (limit $MERGE_MS)"
nt_check d2_back_to_backup "took $ms2 ms (limit $MERGE_MS, -1 = not within 5 s; $(nt_load))" \
	[ "$ms2" -ge 0 -a "$ms2" -le $MERGE_MS ]
nt_check d1_owner "d1: took $ms1 ms" [ "$ms1" -ge 0 -a "$ms1" -le $MERGE_MS ]
# d2's own stamp of the release (the polls above are late by up to a poll): two nodes answer for
# the VIPA at most one heartbeat (and the 10 ms main-loop tick and the path) after the heal.
rel=$(nt_ctl d2 status --json | nt_json "[v['changed_ms'] for v in j['vipas']
	if v['address'] == '$NT_VIP4'][0]")
echo "d2 released $NT_VIP4 $((rel - t0)) ms after the heal (heartbeat $NT2_HB ms)"
nt_check d2_release_within_heartbeat "d2 released $((rel - t0)) ms after the heal" \
	[ $((rel - t0)) -ge 0 -a $((rel - t0)) -le $((NT2_HB + 30)) ]
for h in $NT_HOSTS; do
	o=$(nt2_cdat "$h" "[v['owner'] for v in j['vipas'] if v['address'] == '$NT_VIP4']" status)
	nt_check "owner_d1_on_$h" "$h says owner $o" [ "$o" = '["d1"]' ]
done
nt_check d2_released_address "$NT_VIP4 still on d2's lan0" nt_wait_until 1 bash -c \
	"! ip netns exec $NT_ID-d2 ip -4 -o addr show dev lan0 | grep -q ' $NT_VIP4/'"
nt_check d1_holds_address_after "$NT_VIP4 not on d1's lan0" has_vipa d1
nt_check all_up "someone still down" nt_wait_until 3 bash -c "
	for h in $NT_HOSTS; do
		ip netns exec $NT_ID-\$h $CLUSTERCTL -s $NT_WORK/\$h.sock cdat --json |
			grep -q '\"down\"' && exit 1
	done; exit 0"
nt_check digests_equal "CDATs differ 5 s after the heal: $(nt2_digests $NT_HOSTS | tr '\n' ' ')" \
	nt_wait_until 5 nt2_converged $NT_HOSTS
nt2_digests $NT_HOSTS | sed 's/^/  /'
out=$NT_WORK/merged.out
nt_curl_loop 50 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_check requests_after_merge "$ok/50 succeeded ($(nt_tally "$out" | tr '\n' ' '))" [ "$ok" -eq 50 ]
nt_finish
