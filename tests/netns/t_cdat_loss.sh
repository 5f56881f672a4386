#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_cdat_loss: 10 % of the cluster traffic is dropped at random on every node (nftables numgen,
# in and out).  t1's alternate MTU is changed three times; each time the CDAT converges to the
# same version and digest on every node, with the new MTU, within 10 s.  The loss was real
# (nft counted drops) and the reliable channel resent what was lost; no address stays
# unreachable longer than a transient (2 s), no node stays down.  The daemon reads its own
# adapters at start and on reload: if t1 has not noticed a change after 1 s, it is reloaded.
. "$(dirname "$0")/lib.sh"
LOSS=10
LIMIT_S=10
TRANSIENT_MS=2000
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 15 s" nt2_settle 15
alt=${NT2_ALT[t1]}
resent()
{
	local h s=0
	for h in $NT_HOSTS; do
		s=$((s + $(nt2_cdat "$h" "j['sync']['reliable']['resent'] +
			j['sync']['reliable']['nacks_received']" stats)))
	done
	echo $s
}
r0=$(resent)
for h in $NT_HOSTS; do nt2_sync_loss "$h" $LOSS; done
for h in $NT_HOSTS; do nt2_watch_start "$h"; done
v0=$(nt2_cdat d1 "j['version']")
for mtu in 1300 1450 1500; do
	t0=$(nt_now_ms)
	nt_x t1 ip link set alt0 mtu $mtu
	# the daemon reads its adapters at start and on reload: tell t1's
	auto=$(nt2_time t1 1 "$t0" "addr(j, 't1', '$alt').get('mtu') == $mtu")
	# (the figures below count from the reload then)
	[ "$auto" -ge 0 ] || { t0=$(nt_now_ms); nt_ctl t1 reload >/dev/null; }
	nt_log "MTU $mtu: t1 noticed by itself: $([ "$auto" -ge 0 ] && echo "yes ($auto ms)" ||
		echo "no, reloaded")"
	while read -r h ms; do
		echo "MTU $mtu: $h has it after $ms ms"
		nt_check "mtu_${mtu}_on_$h" "not within $LIMIT_S s" [ "$ms" -ge 0 ]
	done < <(nt2_time_each $LIMIT_S "$t0" "addr(j, 't1', '$alt').get('mtu') == $mtu" $NT_HOSTS)
	nt_check "converged_$mtu" "digests: $(nt2_digests $NT_HOSTS | tr '\n' ' ')" \
		nt_wait_until $LIMIT_S nt2_converged $NT_HOSTS
	echo "MTU $mtu: converged after $(( $(nt_now_ms) - t0 )) ms:" \
		"$(nt2_digests d1 | cut -c1-24)"
done
v1=$(nt2_cdat d1 "j['version']")
# a proposal whose acknowledgement or commit is lost may be superseded by a new version with
# the same table (same digest): at least one version per change, then
nt_log "version $v0 -> $v1; d1's counters: $(nt2_cdat d1 "j['counters']")"
nt_check versions_advanced "version $v0 -> $v1, want at least +3" [ "$v1" -ge $((v0 + 3)) ]
nt2_watch_stop $NT_HOSTS
drops=0
for h in $NT_HOSTS; do
	drops=$((drops + $(nt_x "$h" nft list table ip ntloss |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')))
done
r1=$(resent)
echo "loss: $drops datagrams dropped by nft; reliable resent + nacks received: +$((r1 - r0))"
nt_check loss_real "no drop counted" [ "$drops" -gt 0 ]
nt_check resent "resent + nacks_received +$((r1 - r0))" [ "$((r1 - r0))" -gt 0 ]
for h in $NT_HOSTS; do
	w=$NT_WORK/watch-$h.out
	worst=$(awk '$1 == "addr" { if ($3 > m) m = $3 } END { print m + 0 }' "$w")
	down=$(awk '$1 == "node" { if ($3 > m) m = $3 } END { print m + 0 }' "$w")
	echo "$h: longest unreachable $worst ms, longest node down $down ms"
	nt_check "transient_$h" "an address unreachable for $worst ms" \
		[ "$worst" -le $TRANSIENT_MS ]
	nt_check "no_node_down_$h" "a node down for $down ms" [ "$down" -le $TRANSIENT_MS ]
done
nt_finish
