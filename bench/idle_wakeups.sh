#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# idle_wakeups.sh: how often an idle daemon wakes up.  The five-node cluster of
# tests/netns/lib.sh (d1 d2 t1 t2 t3, two addresses each, HTTP servers on the targets) with
# heartbeat_ms = HEARTBEAT_MS, no traffic; once it has settled, counts d1's context switches
# (voluntary + involuntary, /proc/PID/task/TID/status) over SECONDS and prints them per second:
# the main thread's (the event loop), each other thread's (the workers) and all threads summed,
# with d1's cluster datagrams per second beside them (the wake-ups the sync channel causes).
#
#   sudo bench/idle_wakeups.sh [-t SECONDS] [-s SETTLE_S] [HEARTBEAT_MS]   defaults: 10, 8, 1000
#
# CLUSTERD and CLUSTERCTL choose the binaries (default: the tree's), as for the tests; the
# harness's variables apply (NT_WORKERS, NT_SYNC_MODE where lib.sh has it).  Not a test: it
# prints figures and fails only when the cluster does not come up.
secs=10 settle=8
while getopts t:s: o; do
	case $o in
	t) secs=$OPTARG ;;
	s) settle=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-s SETTLE_S] [HEARTBEAT_MS]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
hb=${1:-1000}
. "$(dirname "$0")/../tests/netns/lib.sh"
nt_need_daemon
nt_topo_up || { echo "idle_wakeups: topology failed" >&2; exit 1; }
nt_write_config
sed -i "s/^\( *heartbeat_ms = \)[0-9]*;/\1$hb;/" "$NT_WORK/clusterd.conf"
grep -q "heartbeat_ms = $hb;" "$NT_WORK/clusterd.conf" ||
	{ echo "idle_wakeups: cannot set heartbeat_ms" >&2; exit 1; }
nt_servers_start || { echo "idle_wakeups: http servers did not start" >&2; exit 1; }
nt_cd_start_all || { echo "idle_wakeups: clusterd did not start" >&2; exit 1; }

# Settled: d1 sees the three targets listening and distributes both VIPAs (it is ready), and
# every node holds the same CDAT version (0 when the file's table needed no change); then
# SETTLE_S more for the announcements (one per heartbeat after a takeover) to die down.
d1_owns_all()
{
	nt_ctl d1 status --json | nt_json "(len(j.get('vipas', [])) == 2 and
		all(v.get('role') == 'distributor' for v in j['vipas']))"
}
cdat_version() { nt_ctl "$1" cdat --json | nt_json "j.get('version')"; }
cdat_agreed()
{
	local h v0 v
	v0=$(cdat_version d1) || return 1
	[ -n "$v0" ] && [ "$v0" != None ] || return 1
	for h in $NT_HOSTS; do
		v=$(cdat_version "$h") || return 1
		[ "$v" = "$v0" ] || return 1
	done
}
nt_wait_listening d1 3 80 tcp 60 "$NT_VIP4" || nt_log "d1 does not see 3 targets: measuring anyway"
nt_wait_until 60 nt_is_true d1_owns_all || nt_log "d1 does not own both VIPAs: measuring anyway"
nt_wait_until 60 cdat_agreed || nt_log "the nodes' CDAT versions differ: measuring anyway"
sleep "$settle"

pid=$(cat "$NT_WORK/clusterd-d1.pid")
[ -d "/proc/$pid/task" ] || { echo "idle_wakeups: d1's daemon is gone" >&2; exit 1; }

# switches TID: voluntary + involuntary context switches of one thread of d1 (0 if gone).
switches()
{
	awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }' \
		"/proc/$pid/task/$1/status" 2>/dev/null || echo 0
}
# cpu_ticks TID: user + system time of one thread, in clock ticks (a loop that spins without
# sleeping would not show in the switches: it shows here).
cpu_ticks()
{
	sed 's/^.*) //' "/proc/$pid/task/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0
}
sync_count() { nt_stat d1 "j['sync']['$1']" 2>/dev/null || echo 0; }

declare -A before
tids=$(ls "/proc/$pid/task")
for t in $tids; do before[$t]=$(switches "$t"); done
cpu0=$(cpu_ticks "$pid")
tx0=$(sync_count tx) rx0=$(sync_count rx)
t0=$(nt_now_ms)
sleep "$secs"
t1=$(nt_now_ms)
declare -A after
for t in $tids; do after[$t]=$(switches "$t"); done
cpu1=$(cpu_ticks "$pid")
tx1=$(sync_count tx) rx1=$(sync_count rx)

ms=$((t1 - t0))
rate() { awk -v n="$1" -v ms="$ms" 'BEGIN { printf "%.1f", n * 1000 / ms }'; }
total=0
echo "idle_wakeups: d1 (pid $pid), 5 nodes, heartbeat_ms $hb, sync ${NT_SYNC_MODE:-?}," \
	"${ms} ms measured, $CLUSTERD"
for t in $tids; do
	d=$(( ${after[$t]} - ${before[$t]} ))
	total=$((total + d))
	if [ "$t" = "$pid" ]; then
		main=$d
	else
		printf '  thread %-8s %8s wakeups/s\n' "$t" "$(rate "$d")"
	fi
done
printf '  sync datagrams:  tx %s/s  rx %s/s\n' "$(rate $((tx1 - tx0)))" "$(rate $((rx1 - rx0)))"
printf '  main thread CPU: %s ms/s\n' \
	"$(awk -v n=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v ms="$ms" \
		'BEGIN { printf "%.1f", n * 1000 / hz * 1000 / ms }')"
printf 'main thread:  %s wakeups/s\n' "$(rate "$main")"
printf 'all threads:  %s wakeups/s\n' "$(rate "$total")"
nt_cd_stop d1
exit 0
