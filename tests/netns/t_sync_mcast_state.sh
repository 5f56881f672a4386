#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sync_mcast_state: state messages once to the group (multicast mode, forced here).  Two-subnet
# topology, nodes in the order t1 t2 t3 d1 d2: t1 is the CDAT coordinator and shares LAN B (and
# ALT B) with t2 and t3, which the group covers; d1 and d2 are across the routers (unicast).
# After a CDAT change (t3's alt0 MTU lowered: t3 reports it, t1 proposes and commits):
# - t1 sent state messages to the group (sync.group_state_sent grows) and saved copies;
# - t2 and t3 took them (group_state_received grows), d1 and d2 got theirs by unicast;
# - every node converges to the same CDAT version/digest with the new MTU;
# - no node's sync.rejected.* grew.
. "$(dirname "$0")/lib.sh"
NT_SYNC_MODE=multicast
NT2_NODES="t1 t2 t3 d1 d2"
MTU=1300
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 20 s" nt2_settle 20
nt_check coordinator_t1 "coordinator on t1: $(nt2_cdat t1 "j['coordinator']")" \
	[ "$(nt2_cdat t1 "j['coordinator']")" = t1 ]

# "group_state_sent copies_saved group_state_received not_listed sum(rejected)" of HOST
counters()
{
	nt_stat "$1" "' '.join(str(j['sync'][k]) for k in ('group_state_sent', \
		'group_state_copies_saved', 'group_state_received', 'group_state_not_listed')) + \
		' ' + str(sum(j['sync']['rejected'].values()))"
}
declare -A S0 S1
for h in $NT_HOSTS; do S0[$h]=$(counters "$h"); done
v0=$(nt2_cdat t1 "j['version']")

t0=$(nt_now_ms)
nt_x t3 ip link set alt0 mtu $MTU
t3alt=${NT2_ALT[t3]}
want="j['version'] > $v0 and addr(j, 't3', '$t3alt').get('mtu') == $MTU"
for h in $NT_HOSTS; do
	ms=$(nt2_time "$h" 10 "$t0" "$want")
	echo "$h: version > $v0 with t3's alternate at MTU $MTU after $ms ms"
	nt_check "committed_$h" "not within 10 s" [ "$ms" -ge 0 ]
done
nt_wait_until 5 nt2_converged $NT_HOSTS
nt2_digests $NT_HOSTS | paste -d' ' <(echo "$NT_HOSTS" | tr ' ' '\n') - | sed 's/^/  /'
nt_check same_version_digest "tables differ" nt2_converged $NT_HOSTS

for h in $NT_HOSTS; do
	S1[$h]=$(counters "$h")
	echo "$h: group_state_sent copies_saved received not_listed rejected: ${S0[$h]} -> ${S1[$h]}"
done
read -r gs0 cs0 _ _ _ <<<"${S0[t1]}"
read -r gs1 cs1 _ _ _ <<<"${S1[t1]}"
nt_check t1_group_state_sent "t1's group_state_sent $gs0 -> $gs1" [ "$gs1" -gt "$gs0" ]
# each group datagram replaces at least two unicast copies (t2, t3)
nt_check t1_copies_saved "t1's copies saved +$((cs1 - cs0)) for +$((gs1 - gs0)) datagrams" \
	[ "$((cs1 - cs0))" -ge "$((2 * (gs1 - gs0)))" ]
for h in t2 t3; do
	read -r _ _ r0 _ _ <<<"${S0[$h]}"
	read -r _ _ r1 _ _ <<<"${S1[$h]}"
	nt_check "${h}_group_state_received" "$h's group_state_received $r0 -> $r1" [ "$r1" -gt "$r0" ]
done
for h in $NT_HOSTS; do
	read -r _ _ _ _ j0 <<<"${S0[$h]}"
	read -r _ _ _ _ j1 <<<"${S1[$h]}"
	nt_check "${h}_no_rejected" "$h's sync.rejected grew $j0 -> $j1" [ "$j1" -eq "$j0" ]
done
nt_finish
