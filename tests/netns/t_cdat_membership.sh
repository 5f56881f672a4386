#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_membership: a fifth node, t3 (10.3.0.23 / 10.5.0.23), not in the file at start, is
# added to the file and every running daemon is reloaded (`clusterctl reload`), t3's daemon
# started: t3 appears in every node's CDAT, up, with the same digest everywhere.  Removed from
# the file again (reload everywhere, t3 stopped), it leaves every CDAT, and the four agree.
. "$(dirname "$0")/lib.sh"
LIMIT_S=10
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
OLD="$NT_HOSTS"
gen0=$(nt_ctl d1 status --json | nt_json "j['generation']")

NT2_NODES="$OLD t3"
nt_write_config2
t0=$(nt_now_ms)
nt_cd_launch t3
nt_check t3_started "t3's daemon does not answer within 30 s" nt_wait_until 30 nt_ctl t3 status
for h in $OLD; do
	nt_check "reload_$h" "clusterctl reload failed on $h" nt_quiet nt_ctl "$h" reload
done
NT_HOSTS="$OLD t3"
while read -r h ms; do
	echo "$h has t3 up after $ms ms"
	nt_check "t3_joined_on_$h" "not within $LIMIT_S s" [ "$ms" -ge 0 ]
done < <(nt2_time_each $LIMIT_S "$t0" "len(j['nodes']) == 5 and all(n['status'] in ('up', 'self')
	for n in j['nodes']) and status(j, 't3') in ('up', 'self') and
	all(a['status'] in ('reachable', 'self') for a in node(j, 't3')['addresses'])" $NT_HOSTS)
nt_check converged_with_t3 "digests: $(nt2_digests $NT_HOSTS | tr '\n' ' ')" \
	nt_wait_until $LIMIT_S nt2_converged $NT_HOSTS
echo "joined: converged after $(( $(nt_now_ms) - t0 )) ms: $(nt2_digests d1 | cut -c1-24)"
gen1=$(nt_ctl d1 status --json | nt_json "j['generation']")
nt_check d1_reloaded "generation $gen0 -> $gen1" [ "$gen1" -gt "$gen0" ]
nt_check t3_in_status "d1's status has no live t3" \
	nt_is_true nt2_cdat d1 "any(n['name'] == 't3' and n['alive'] for n in j['nodes'])" status
nt_check d1_still_distributor "d1's role: $(nt2_vipa_role d1)" \
	[ "$(nt2_vipa_role d1)" = distributor ]

NT2_NODES="$OLD"
nt_write_config2
t0=$(nt_now_ms)
for h in $OLD; do
	nt_check "reload2_$h" "clusterctl reload failed on $h" nt_quiet nt_ctl "$h" reload
done
nt_cd_stop t3
NT_HOSTS="$OLD"
while read -r h ms; do
	echo "$h without t3 after $ms ms"
	nt_check "t3_left_$h" "t3 still in the CDAT after $LIMIT_S s" [ "$ms" -ge 0 ]
done < <(nt2_time_each $LIMIT_S "$t0" "len(j['nodes']) == 4 and node(j, 't3') is None" $NT_HOSTS)
nt_check converged_without_t3 "digests: $(nt2_digests $NT_HOSTS | tr '\n' ' ')" \
	nt_wait_until $LIMIT_S nt2_converged $NT_HOSTS
echo "left: converged after $(( $(nt_now_ms) - t0 )) ms: $(nt2_digests d1 | cut -c1-24)"
for h in $NT_HOSTS; do
	s=$(nt2_cdat "$h" "sorted((n['name'], n['status']) for n in j['nodes'])")
	nt_check "all_up_$h" "$h sees $s" bash -c "! echo '$s' | grep -q down"
done
out=$NT_WORK/after.out
nt_curl_loop 30 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_check requests_after "$ok/30 succeeded ($(nt_tally "$out" | tr '\n' ' '))" [ "$ok" -eq 30 ]
nt_finish
