#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# takeover_bench.sh: distributor takeover time and connections lost, for several heartbeat
# settings, on the namespace cluster of tests/netns/lib.sh.  Not a test: prints a table and
# never fails on the figures.
#
#   bench/takeover_bench.sh [-r RUNS] [-b "50 100 200"]      env: CLUSTERD, CLUSTERCTL
#
# One run: a fresh cluster with heartbeat_ms = HB, retry_threshold = 3, VIPA:80 round-robin
# (see nto_cluster_up); tests/netns/longconn.py from the client (48 long-lived connections, a
# request every 100 ms each, 10 new connections a second); 3 s after the load is up, d1's link
# goes down.  The takeover time runs from that moment to the first packet d2 forwards for the
# VIPA, the role time to d2 taking the VIPA: both are d2's own stamps (clusterctl status:
# last_takeover.at_ms, first_forward_ms, wall clock like t0).  The target is 3 heartbeats +
# 100 ms.
runs=3
hbs="50 100 200"
one=
while getopts "r:b:1:h" o; do
	case $o in
	r) runs=$OPTARG ;;
	b) hbs=$OPTARG ;;
	1) one=$OPTARG ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "takeover_bench.sh: needs root" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

if [ -n "$one" ]; then
	# one run in this process (its own namespaces, removed on exit); prints one RESULT line:
	# hb takeover_ms role_ms lost max_stall_ms new_window_ms new_failures
	. "$here/../tests/netns/lib.sh"
	. "$here/../tests/netns/lib_takeover.sh"
	NTO_HB=$one
	NTO_DURATION=${NTO_DURATION:-7}
	nt_need_daemon
	nto_cluster_up >&2
	# the daemons start together: measure only once d1 owns the VIPA and d2 backs it up
	if ! nt_wait_until 10 eval 'nto_owns d1 && [ "$(nto_state d2)" = "backup d1" ]'; then
		echo "RESULT $one - - - - - - (d1 did not own the VIPA)"
		exit 0
	fi
	nto_watch_start d2 10
	if ! nto_lc_start lc; then
		echo "RESULT $one - - - - - - (load not established)"
		exit 0
	fi
	# The load's new connections keep a 100 ms rhythm from READY: a failure at a fixed offset
	# from it would always find the next one at the same distance.  Failures come at any
	# moment: a random offset within that period.
	nto_sleep_until $(($(nto_lc_ready_ms lc) + NTO_EVENT_S * 1000 + RANDOM % 100))
	nto_link_prepare d1
	t0=$(nt_now_ms)
	nto_link_down d1
	nt_wait_until 3 eval '[ -n "$(nto_watch_first d2 FWD_START '"$t0"')" ]'
	nto_lc_wait lc
	nto_watch_stop d2
	# d2's own stamps (wall clock ms, as t0): when it took the VIPAs and when a worker forwarded
	# the first packet for one of them (0: never: reported as -1).
	read -r at ff <<<"$(nt_ctl d2 status --json 2>/dev/null | nt_json \
		"'%d %d' % (j['last_takeover']['at_ms'], j['last_takeover']['first_forward_ms'])" \
		2>/dev/null)"
	[ "${at:-0}" -gt 0 ] || at=
	[ "${ff:-0}" -gt 0 ] || ff=
	tk=$(nto_since "$t0" "$ff")
	rl=$(nto_since "$t0" "$at")
	if [ -s "$NT_WORK/lc.json" ]; then
		echo "RESULT $one $tk $rl $(nto_lc lc "'%d %d %d %d' % (j['long']['lost'],
			j['long']['max_stall_ms'], j['new']['max_window_ms'], j['new']['failures'])")"
	else
		echo "RESULT $one $tk $rl - - - -"
	fi
	NT_FAIL=0
	exit 0
fi

out=$(mktemp /tmp/takeover_bench.XXXXXX)
for hb in $hbs; do
	for ((i = 1; i <= runs; i++)); do
		echo "heartbeat $hb ms, run $i/$runs" >&2
		r=$(bash "$0" -1 "$hb" 2>/dev/null | grep '^RESULT')
		echo "${r:-RESULT $hb - - - - - - (cluster did not start)}" >>"$out"
	done
done
echo
echo "distributor takeover: d1's link down -> first packet forwarded by d2 (retry_threshold 3)"
echo "runs: takeover ms / d2 distributor ms / lost of 48 / max stall ms / new-conn window ms"
printf '%-6s %-10s %-9s %-9s %-9s  %s\n' hb_ms target_ms min_ms median max_ms runs
for hb in $hbs; do
	awk -v hb="$hb" '$2 == hb' "$out" | "${PY:-/usr/bin/python3}" -c 'import sys
hb = int(sys.argv[1])
rows = [l.split()[2:] for l in sys.stdin if l.strip()]
tk = sorted(int(r[0]) for r in rows if r[0].lstrip("-").isdigit() and int(r[0]) >= 0)
fmt = lambda r: "/".join(r[:5])
med = tk[len(tk) // 2] if tk else "-"
print("%-6d %-10d %-9s %-9s %-9s  %s" % (hb, 3 * hb + 100, tk[0] if tk else "-", med,
      tk[-1] if tk else "-", "  ".join(fmt(r) for r in rows)))' "$hb"
done
rm -f "$out"
