#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sync_mcast: heartbeats over the multicast group.  Two-subnet topology with five nodes: d1,
# d2 on LAN A (+ ALT A), t1, t2, t3 on LAN B (+ ALT B), the subnets routed; every node has two
# addresses and cluster.sync.group set (NT_SYNC_MODE=multicast, forced here).  Checks:
# - group heartbeats flow and echoes measure the paths: t1 sends one group heartbeat per own
#   address and period, receives the others', credits echoes; its CDAT shows t2's and t3's
#   addresses reachable with a response time;
# - the cost: t1's unicast heartbeats go only to the routed side (d1, d2: 4 addresses), not to
#   its LAN's nodes, and it answers only those; its heartbeats per period are its own 2 + 4,
#   not the 8 addresses of the cluster;
# - the routed side is measured by unicast fallback: d1 sees t1's addresses reachable with a
#   response time, t1 counts fallbacks and answers received;
# - a switch that drops multicast: t2's group datagrams dropped on the way out; t1 falls back
#   to unicast for t2 (its fallbacks grow) and t2 stays up everywhere;
# - a node made unreachable (t3's links down) is detected: t1 and d1 show t3 down.
. "$(dirname "$0")/lib.sh"
NT_SYNC_MODE=multicast
NT2_NODES="d1 d2 t1 t2 t3"
W=3	# measuring window, s
nt_cluster2_up
nt_check settled "not converged, or response times not settled within 20 s" nt2_settle 20
HB=$NT2_HB
PER=$((W * 1000 / HB))	# periods in the window

# sync counters of H: "group_sent group_received echoes fallback hb_sent answers_sent answers_rx"
counters()
{
	nt_stat "$1" "' '.join(str(j['sync'][k]) for k in ('group_heartbeats_sent', \
		'group_heartbeats_received', 'group_echoes_credited', 'unicast_fallback_heartbeats', \
		'heartbeats_sent', 'heartbeat_answers_sent', 'heartbeat_answers_received'))"
}

read -r g0 r0 e0 f0 h0 a0 x0 < <(counters t1)
sleep $W
read -r g1 r1 e1 f1 h1 a1 x1 < <(counters t1)
gs=$((g1 - g0)) gr=$((r1 - r0)) ec=$((e1 - e0)) fb=$((f1 - f0)) hb=$((h1 - h0)) as=$((a1 - a0))
ar=$((x1 - x0))
echo "t1 over $W s ($PER periods): group sent $gs received $gr echoes $ec fallback $fb" \
	"heartbeats $hb answers sent $as received $ar"
# 2 own addresses per period (the loop's jitter: +-25 %)
nt_check group_sent "t1 sent $gs group heartbeats, want about $((2 * PER))" \
	[ "$gs" -ge $((2 * PER * 3 / 4)) -a "$gs" -le $((2 * PER * 5 / 4)) ]
# t2 and t3 send 2 each per period on the two LANs t1 shares with them
nt_check group_received "t1 received $gr group heartbeats, want about $((4 * PER))" \
	[ "$gr" -ge $((4 * PER * 3 / 4)) ]
nt_check echoes "t1 credited $ec echoes, want at least $((2 * PER))" [ "$ec" -ge $((2 * PER)) ]
# unicast only to d1 and d2 (4 addresses): never to t2, t3 (4 more)
nt_check fallback_routed_only "t1 sent $fb unicast heartbeats, want about $((4 * PER)), < $((6 * PER))" \
	[ "$fb" -ge $((4 * PER * 3 / 4)) -a "$fb" -lt $((6 * PER)) ]
nt_check heartbeats_own_not_all "t1 sent $hb heartbeats, want about $((6 * PER)) (2 group + 4), \
not $((8 * PER)) (every address)" [ "$hb" -lt $((7 * PER)) ]
# answers only to the routed side's unicast heartbeats (d1, d2 -> t1's 2 addresses each)
nt_check answers_routed_only "t1 answered $as heartbeats, want about $((4 * PER)), < $((6 * PER))" \
	[ "$as" -lt $((6 * PER)) ]
nt_check answers_received "t1 received $ar answers, want about $((4 * PER))" \
	[ "$ar" -ge $((4 * PER * 3 / 4)) ]

rtt_ok() { nt2_cdat "$1" "all(a['status'] == 'reachable' and a['rtt_ms'] > 0
	for a in node(j, '$2')['addresses'])"; }
for p in t2 t3; do
	nt_check "t1_measures_$p" "t1's view of $p: $(nt2_cdat t1 "node(j, '$p')['addresses']")" \
		nt_is_true rtt_ok t1 "$p"
done
nt_check d1_measures_t1 "d1's view of t1: $(nt2_cdat d1 "node(j, 't1')['addresses']")" \
	nt_is_true rtt_ok d1 t1

# a switch that drops multicast, for t2's datagrams only
nt_x t2 nft -f - <<NFT
table ip nomcast {
	chain out {
		type filter hook output priority -10; policy accept;
		ip daddr 224.0.0.0/4 udp dport $NT_SYNC_PORT counter drop
	}
}
NFT
read -r _ _ _ f0 _ _ _ < <(counters t1)
# the dead interval ((retry + 1) heartbeats) and a margin, then a window
sleep $(( (NT2_RETRY + 1) * HB / 1000 + 1 ))
read -r _ _ _ f1 _ _ _ < <(counters t1)
sleep $W
read -r _ _ _ f2 _ _ _ < <(counters t1)
fb=$((f2 - f1))
echo "t2's multicast dropped: t1's unicast heartbeats over $W s: $fb"
nt_check fallback_for_t2 "t1 sent $fb unicast heartbeats, want about $((6 * PER)) (d1, d2, t2)" \
	[ "$fb" -ge $((6 * PER * 3 / 4)) ]
for h in t1 t3 d1; do
	nt_check "t2_up_on_$h" "$h's view of t2: $(nt2_cdat "$h" "node(j, 't2')")" \
		[ "$(nt2_cdat "$h" "status(j, 't2')")" = up ]
done
nt_check t2_never_down "t1 declared a node down while t2's multicast was dropped" \
	[ "$(nt_stat t1 "j['sync']['nodes_declared_down']")" = 0 ]
nt_x t2 nft delete table ip nomcast

# t3 unreachable: both links down
t0=$(nt_now_ms)
nt_x t3 ip link set lan0 down
nt_x t3 ip link set alt0 down
for h in t1 d1; do
	ms=$(nt2_time "$h" 10 "$t0" "status(j, 't3') == 'down'")
	echo "$h shows t3 down after $ms ms"
	nt_check "t3_down_on_$h" "took $ms ms (-1: not within 10 s)" [ "$ms" -ge 0 ]
done
nt_finish
