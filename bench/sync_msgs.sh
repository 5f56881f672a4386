#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sync_msgs.sh: the datagrams each node sends per second on the sync channel, unicast against
# multicast, for clusters of several sizes (default 5 and 32 nodes: the "simulated 32-node"
# cluster is 32 daemons in network namespaces on one bridge).
#
#   sudo bench/sync_msgs.sh [-w WINDOW_S] [-b HEARTBEAT_MS] [NODES...]   # defaults: 20, 1000, 5 32
#
# Every node has one IPv4 address (10.9.x.y/16) on one bridge and runs clusterd with one worker
# and no VIPA.  For each size and mode (unicast: no cluster.sync.group; multicast: group
# 239.255.77.1), with fresh daemons: wait until every node's CDAT shows every node up, let it
# settle (3 heartbeats), then read `clusterctl stats` sync counters on every node twice,
# WINDOW_S apart.  Printed per size and mode: the mean, min and max over the nodes of sync.tx
# per second (every datagram a node sent), and the mean per second of the parts: heartbeats
# (unicast and group), heartbeat answers, reliable-channel control, state messages.
# CLUSTERD / CLUSTERCTL choose the binaries (use a release build: with sanitizers 32 daemons
# on a small machine measure the machine).  The figures are for comparison within one run.
. "$(dirname "$0")/../tests/netns/lib.sh"

WINDOW=20
HB=1000
while getopts w:b: o; do
	case $o in
	w) WINDOW=$OPTARG ;;
	b) HB=$OPTARG ;;
	*) echo "usage: $0 [-w WINDOW_S] [-b HEARTBEAT_MS] [NODES...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
SIZES=${*:-"5 32"}
nt_need_daemon

# sm_addr I: node I's address (1-based).
sm_addr() { echo "10.9.$(($1 / 200)).$(($1 % 200 + 10))"; }

# sm_topo N: the bridge and N hosts n1..nN on it.
sm_topo()
{
	local n=$1 i
	mkdir -p "$NT_WORK" || return 1
	: >"$NT_WORK/all.pids"
	NT_UP=1
	trap nt_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NT_ID-lan" || return 1
	nt_x lan ip link set lo up
	nt_x lan ip link add br0 type bridge mcast_snooping 0
	nt_x lan ip link set br0 up
	for i in $(seq 1 "$n"); do
		ip netns add "$NT_ID-n$i" || return 1
		nt_x "n$i" ip link set lo up
		nt_x lan ip link add "p-n$i" type veth peer name lan0 netns "$NT_ID-n$i" || return 1
		nt_x lan ip link set "p-n$i" master br0 up
		nt_x "n$i" ip addr add "$(sm_addr "$i")/16" dev lan0
		nt_x "n$i" ip link set lan0 up
	done
}

# sm_config N MODE: the configuration of all N nodes.
sm_config()
{
	local n=$1 mode=$2 i group=""
	[ "$mode" = multicast ] && group="group = \"$NT_SYNC_GROUP\"; "
	[ -f "$NT_WORK/cluster.key" ] || nt_write_key
	{
		echo "cluster = { name = \"bench\"; key_file = \"$NT_WORK/cluster.key\";"
		echo "  sync = { ${group}port = 7788; }; heartbeat_ms = $HB; retry_threshold = 3; };"
		echo "daemon = { workers = 1; };"
		echo "nodes = ("
		for i in $(seq 1 "$n"); do
			[ "$i" -gt 1 ] && echo ","
			printf '  { name = "n%d"; addresses = ( { ip = "%s"; } ); }' "$i" "$(sm_addr "$i")"
		done
		echo
		echo ");"
		echo "vipas = ();"
	} >"$NT_WORK/clusterd.conf"
}

# sm_all_up H N: H's CDAT shows N nodes, none down.
sm_all_up()
{
	nt_ctl "$1" cdat --json | nt_json "(len(j['nodes']) == $2 and
		all(x.get('status') in ('up', 'self') for x in j['nodes']))" | grep -qx True
}

# sm_counters H: "tx hb_tx hb_group_tx hb_ack_tx ctrl_tx state_tx" of H.
sm_counters()
{
	nt_ctl "$1" stats --json | nt_json "' '.join(str(j['sync'][k]) for k in ('tx', \
		'heartbeats_sent', 'group_heartbeats_sent', 'heartbeat_answers_sent', \
		'control_sent', 'state_sent'))"
}

# sm_snap N NAME: every node's counters at once, into $NT_WORK/NAME.nI (the daemons are this
# shell's children too: wait for the readers only).
sm_snap()
{
	local i pids=""
	for i in $(seq 1 "$1"); do
		sm_counters "n$i" >"$NT_WORK/$2.n$i" &
		pids="$pids $!"
	done
	wait $pids
}

# sm_run N MODE: one measurement; prints its line.
sm_run()
{
	local n=$1 mode=$2 i h ok=1
	sm_config "$n" "$mode"
	for i in $(seq 1 "$n"); do
		h=n$i
		rm -f "$(nt_sock "$h")"
		nt_bg "$h" "clusterd-$h" "$CLUSTERD" -f "$NT_WORK/clusterd.conf" -n "$h" \
			-s "$(nt_sock "$h")" --state-dir "$NT_WORK/state-$h" --foreground
	done
	for i in $(seq 1 "$n"); do
		nt_wait_until 60 nt_ctl "n$i" status || { ok=0; break; }
	done
	for i in $(seq 1 "$n"); do
		[ "$ok" = 1 ] || break
		nt_wait_until 60 sm_all_up "n$i" "$n" || ok=0
	done
	if [ "$ok" = 1 ]; then
		sleep $((3 * HB / 1000 + 1))
		sm_snap "$n" c0
		sleep "$WINDOW"
		sm_snap "$n" c1
		for i in $(seq 1 "$n"); do
			paste -d' ' "$NT_WORK/c0.n$i" "$NT_WORK/c1.n$i"
		done | awk -v w="$WINDOW" -v n="$n" -v m="$mode" '
			{ tx = ($7 - $1) / w; s += tx; if (NR == 1 || tx < lo) lo = tx; if (tx > hi) hi = tx
			  hb += ($8 - $2) / w; g += ($9 - $3) / w; a += ($10 - $4) / w
			  c += ($11 - $5) / w; st += ($12 - $6) / w }
			END { printf "%3d nodes %-9s tx/s per node: mean %7.1f min %7.1f max %7.1f" \
				"  | heartbeats %6.1f (group %5.1f) answers %6.1f control %6.1f state %5.1f\n",
				n, m, s / NR, lo, hi, hb / NR, g / NR, a / NR, c / NR, st / NR }'
	else
		echo "$n nodes $mode: the cluster did not come up (every node up everywhere) within 60 s"
	fi
	# SIGTERM to all at once (a leaving node is counted down at once by the others), then
	# each waited for
	for i in $(seq 1 "$n"); do kill -TERM "$(cat "$NT_WORK/clusterd-n$i.pid")" 2>/dev/null; done
	for i in $(seq 1 "$n"); do nt_stop "clusterd-n$i"; done
	rm -rf "$NT_WORK"/state-*
}

max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
sm_topo "$max" || { echo "topology failed" >&2; exit 1; }
echo "sync_msgs: heartbeat_ms $HB, window $WINDOW s, $(nproc) CPUs, $CLUSTERD"
for n in $SIZES; do
	for mode in unicast multicast; do
		sm_run "$n" "$mode"
	done
done
