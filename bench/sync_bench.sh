#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sync_bench.sh: cluster messaging figures against the configured heartbeat, on the two-subnet
# topology of tests/netns/lib.sh (nt_topo2_up: d1 d2 | R1, R2 | t1 t2, two addresses each).
#
#   sudo bench/sync_bench.sh [-r RUNS] [-i IDLE_S] [HEARTBEAT_MS...]   defaults: 3, 10, 50 100 200
#
# For each heartbeat (retry threshold NT2_RETRY, default 3), with fresh daemons:
#   detect   failure detection: both of t1's paths cut for cluster traffic (nftables), ms until
#            d1 shows t1 down; the mean over RUNS cuts, each after a heal and a settle
#   ratio    detect / (retry x heartbeat)
#   lag      CDAT replication lag: t1's alternate MTU changed and t1 reloaded (the daemon reads
#            its adapters at start and on reload), ms until every node shows the new MTU and the
#            same digest; the mean over RUNS changes (includes the coordinator's 1 s holdoff)
#   tx/s rx/s sum/s   d1's sync.tx and sync.rx per second over IDLE_S idle seconds
# Not a test: it prints a table and never fails because of a figure.
runs=3 idle=10
while getopts r:i: o; do
	case $o in
	r) runs=$OPTARG ;;
	i) idle=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-i IDLE_S] [HEARTBEAT_MS...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
hbs=${*:-50 100 200}
. "$(dirname "$0")/../tests/netns/lib.sh"
nt_need_daemon
nt_topo2_up || { echo "sync_bench: topology failed" >&2; exit 1; }
nt_write_key
pri=${NT2_PRI[t1]} alt=${NT2_ALT[t1]}

mean() { awk '{ s += $1; n++ } END { if (n) printf "%d", s / n; else print "-" }'; }

rows=""
for hb in $hbs; do
	NT2_HB=$hb
	nt_write_config2
	nt2_cd_start_all || { echo "sync_bench: daemons did not start (hb $hb)" >&2; exit 1; }
	nt2_settle 20 || nt_log "hb $hb: not settled, measuring anyway"

	: >"$NT_WORK/detect"
	for _ in $(seq "$runs"); do
		t0=$(nt_now_ms)
		nt2_sync_drop t1 cutall own "$pri" "$alt"
		ms=$(nt2_time d1 10 "$t0" "status(j, 't1') == 'down'")
		nt_log "hb $hb: t1 down on d1 after $ms ms"
		[ "$ms" -ge 0 ] && echo "$ms" >>"$NT_WORK/detect"
		nt2_sync_heal t1 cutall
		nt2_time d1 10 "$(nt_now_ms)" "status(j, 't1') == 'up'" >/dev/null
		nt2_settle 20 >/dev/null 2>&1
	done

	: >"$NT_WORK/lag"
	mtu=1500
	for _ in $(seq "$runs"); do
		mtu=$((mtu == 1300 ? 1500 : 1300))
		nt_x t1 ip link set alt0 mtu $mtu
		t0=$(nt_now_ms)
		nt_ctl t1 reload >/dev/null
		worst=0
		while read -r h ms; do
			[ "$ms" -lt 0 ] && worst=-1 && break
			[ "$ms" -gt "$worst" ] && worst=$ms
		done < <(nt2_time_each 10 "$t0" "addr(j, 't1', '$alt').get('mtu') == $mtu" \
			$NT_HOSTS)
		nt_wait_until 5 nt2_converged $NT_HOSTS || worst=-1

		nt_log "hb $hb: MTU $mtu on every node after $worst ms"
		[ "$worst" -ge 0 ] && echo "$worst" >>"$NT_WORK/lag"
	done

	s0=$(nt2_cdat d1 "'%d %d' % (j['sync']['tx'], j['sync']['rx'])" stats)
	a=$(nt_now_ms)
	sleep "$idle"
	s1=$(nt2_cdat d1 "'%d %d' % (j['sync']['tx'], j['sync']['rx'])" stats)
	b=$(nt_now_ms)
	read -r tx0 rx0 <<<"$s0"
	read -r tx1 rx1 <<<"$s1"
	el=$((b - a))
	txs=$(( (tx1 - tx0) * 1000 / el )) rxs=$(( (rx1 - rx0) * 1000 / el ))
	det=$(mean <"$NT_WORK/detect")
	lag=$(mean <"$NT_WORK/lag")
	ratio=-
	[ "$det" != - ] && ratio=$(awk -v d="$det" -v r="$NT2_RETRY" -v h="$hb" \
		'BEGIN { printf "%.2f", d / (r * h) }')
	rows="$rows$(printf '%6s %5s %9s %6s %8s %6s %6s %6s' "$hb" "$NT2_RETRY" "$det" \
		"$ratio" "$lag" "$txs" "$rxs" "$((txs + rxs))")"$'\n'
	for h in $NT_HOSTS; do nt_cd_stop "$h"; done
done
echo "# sync_bench: $runs runs each, $idle s idle, 4 nodes x 2 addresses, $(nproc) CPUs"
printf '%6s %5s %9s %6s %8s %6s %6s %6s\n' hb_ms retry detect_ms ratio lag_ms tx/s rx/s sum/s
printf '%s' "$rows"
