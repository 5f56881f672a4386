#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_converge: four nodes on two routed subnets, two addresses each.  Within 5 s of the
# daemons answering, every node holds the same CDAT (version and digest), version > 0 (t2's
# alternate reported MTU 1400 against the file's 1500, so the coordinator committed a change),
# every node sees that MTU, every address is reachable and has a measured response time.
. "$(dirname "$0")/lib.sh"
LIMIT_S=5
nt_need_daemon
nt_topo2_up || { nt_fail setup "two-subnet topology"; nt_finish; }
nt_write_config2
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
nt2_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
t0=$(nt_now_ms)

# converged: same version > 0 and digest everywhere, and the MTU report is in it
t2alt=${NT2_ALT[t2]}
want="j['version'] > 0 and addr(j, 't2', '$t2alt').get('mtu') == $NT2_ALT_MTU"
for h in $NT_HOSTS; do
	ms=$(nt2_time "$h" $LIMIT_S "$t0" "$want")
	echo "$h: version > 0 with t2's alternate at MTU $NT2_ALT_MTU after $ms ms"
	nt_check "committed_$h" "not within $LIMIT_S s" [ "$ms" -ge 0 ]
done
nt_wait_until 2 nt2_converged $NT_HOSTS
ms=$(( $(nt_now_ms) - t0 ))
nt2_digests $NT_HOSTS | paste -d' ' <(echo "$NT_HOSTS" | tr ' ' '\n') - | sed 's/^/  /'
nt_check same_version_digest "tables differ after $ms ms" nt2_converged $NT_HOSTS
nt_check converged_in_time "$ms ms > $LIMIT_S s; $(nt_load)" [ "$ms" -le $((LIMIT_S * 1000)) ]

# every address of every other node reachable with a measured response time; own: self
ok_expr="(all((a['status'] == 'reachable' and a['rtt_ms'] > 0) if not n['self'] else
	a['status'] == 'self' for n in j['nodes'] for a in n['addresses'])
	and len(j['nodes']) == $(echo $NT_HOSTS | wc -w)
	and all(len(n['addresses']) == 2 for n in j['nodes']))"
for h in $NT_HOSTS; do
	ms=$(nt2_time "$h" 3 "$(nt_now_ms)" "$ok_expr")
	nt_check "all_reachable_$h" "not every address reachable with rtt_ms > 0 on $h" \
		[ "$ms" -ge 0 ]
	[ "$ms" -ge 0 ] || nt_ctl "$h" cdat
	nt_check "mtu_seen_$h" "t2's alternate MTU on $h: $(nt2_cdat "$h" \
		"addr(j, 't2', '$t2alt').get('mtu')")" \
		[ "$(nt2_cdat "$h" "addr(j, 't2', '$t2alt').get('mtu')")" = $NT2_ALT_MTU ]
done
nt_log "d1's view: $(nt2_cdat d1 "['%s %s %s rtt=%s' % (n['name'], a['ip'], a['status'],
	a.get('rtt_ms')) for n in j['nodes'] for a in n['addresses']]")"
# the daemons agree on the coordinator and nobody is mid-proposal
coords=$(for h in $NT_HOSTS; do nt2_cdat "$h" "j['coordinator']"; done | sort -u)
nt_check one_coordinator "coordinators seen: $(echo $coords)" [ "$(echo "$coords" | wc -l)" -eq 1 ]
nt_finish
