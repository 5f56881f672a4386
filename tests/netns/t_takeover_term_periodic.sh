#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_term_periodic: t_takeover_term's handover (SIGTERM clusterd on d1 at t0; d2 routes at
# once; d1 restarted at t0 + 2 s takes the VIPA back) with `sync.mode = "periodic"` and
# interval_ms = 1000: d1 sends its table changes once a second, so whatever it logged since its
# last flush must go out before it leaves.  Right after one flush (records_sent moves), a burst of
# 8 long-lived connections is opened and d1 gets SIGTERM as soon as they are up, long before the
# next flush: d2 must hold them from d1's handover, not rebuild them later from the targets'
# reports (its sync.repl.report_conns_added must not grow by the burst), and nothing may be lost:
# neither the burst nor the steady load's 48 long-lived connections (the checks of
# lib_takeover.sh: no loss, no stall over 1 s, new connections never fail for over 1 s).
NTO_DURATION=${NTO_DURATION:-10}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
NTO_SYNC_MODE=periodic
NTO_SYNC_INTERVAL=${TP_INTERVAL:-1000}
NTO_EVENT_S=1
RESTART_MS=${RESTART_MS:-2000}
TP_BURST=${TP_BURST:-8}

# tp_stat HOST PYEXPR: a stats value (empty if the daemon does not answer).
tp_stat() { nt_ctl "$1" stats --json 2>/dev/null | nt_json "$2" 2>/dev/null; }

# tp_flush_burst_term GO PID: one python process in d1's namespace: waits (3 s) for d1's
# records_sent to move (a flush: F), creates GO, waits (3 s) for the burst's READY line, reads
# records_sent again and sends SIGTERM to PID.  Prints "F_MS RECORDS_AT_F RECORDS_AT_TERM TERM_MS"
# (epoch ms), or a line starting with "-" that says what failed.
tp_flush_burst_term()
{
	nt_x d1 "$PY" -c 'import json, os, re, signal, subprocess, sys, time
ctl, sock, go, log, pid = sys.argv[1:6]
def rec():
	r = subprocess.run([ctl, "-s", sock, "stats", "--json"], capture_output=True, timeout=2)
	return json.loads(r.stdout)["sync"]["repl"]["records_sent"] if r.returncode == 0 else None
first = rec()
f = None
end = time.time() + 3
while f is None and time.time() < end:
	r = rec()
	if r is not None and first is not None and r != first:
		f = (int(time.time() * 1000), r)
	elif first is None:
		first = r
	else:
		time.sleep(0.005)
if f is None:
	print("- records_sent on d1 did not move within 3 s")
	sys.exit(0)
open(go, "w").close()
end = time.time() + 3
while time.time() < end:
	with open(log) as fl:
		if re.search(r"^(READY|DONE)", fl.read(), re.M):
			break
	time.sleep(0.005)
k = rec()
t = time.time()
os.kill(int(pid), signal.SIGTERM)
print(f[0], f[1], k, int(t * 1000))' "$CLUSTERCTL" "$(nt_sock d1)" "$1" "$NT_WORK/burst.log" "$2"
}

# tp_burst_ports: the client ports of the burst's established connections (from the client's
# sockets that belong to the burst's process).
tp_burst_ports()
{
	nt_x c ss -Htnp state established "dst $NT_VIP4:80" | "$PY" -c '
import sys
for l in sys.stdin:
	if "pid=%s," % sys.argv[1] in l:
		print(l.split()[2].rsplit(":", 1)[1])' "$(cat "$NT_WORK/burst.pid")"
}

# tp_d2_missing PORT...: the ports of the list that d2's table lacks for VIPA:80 (all of them if
# d2 does not answer).
tp_d2_missing()
{
	nt_ctl d2 conns --json 2>/dev/null | "$PY" -c 'import json, sys
try:
	have = set(c["client"].rsplit(":", 1)[1] for c in json.load(sys.stdin)["conns"]
		   if c["vipa"] == sys.argv[1] + ":80")
except ValueError:
	have = set()
print(" ".join(p for p in sys.argv[2:] if p not in have))' "$NT_VIP4" "$@"
}

nto_begin
# the periodic mode is in effect: records_sent moves about once an interval, not every loop
# (every-update moves it ~10 times a second under this load)
moves=$(nt_x d1 "$PY" -c 'import json, subprocess, sys, time
ctl, sock = sys.argv[1:3]
last, n, end = None, 0, time.time() + 3
while time.time() < end:
	r = subprocess.run([ctl, "-s", sock, "stats", "--json"], capture_output=True)
	if r.returncode == 0:
		v = json.loads(r.stdout)["sync"]["repl"]["records_sent"]
		n += last is not None and v != last
		last = v
	time.sleep(0.02)
print(n)' "$CLUSTERCTL" "$(nt_sock d1)")
echo "d1's records_sent moved $moves times in 3 s (interval_ms = $NTO_SYNC_INTERVAL)"
nt_check periodic_in_effect "records_sent moved $moves times in 3 s: want 1 .. 5 (once a second)" \
	[ "${moves:-0}" -ge 1 -a "${moves:-0}" -le 5 ]

if ! nto_burst_arm "$NT_WORK/burst.go" "$TP_BURST" 30; then
	nt_fail burst_armed "the burst was not loaded within 10 s: $(tail -n 3 "$NT_WORK/burst.log")"
	nt_finish
fi
added0=$(tp_stat d2 "j['sync']['repl']['report_conns_added']")
d1pid=$(cat "$NT_WORK/clusterd-d1.pid")
read -r fms frec trec t0 <<<"$(tp_flush_burst_term "$NT_WORK/burst.go" "$d1pid")"
if [ "$fms" = - ] || [ -z "$t0" ]; then
	nt_fail flush_burst_term "$fms $frec $trec $t0"
	nt_finish
fi
nt_wait_until 5 nt_gone "$d1pid"
stop_ms=$(( $(nt_now_ms) - t0 ))
nt_cd_stop d1 TERM	# reaps it (already gone, or killed after 5 s more)
echo "periodic: flush at F, burst of $TP_BURST ready, SIGTERM at F+$((t0 - fms)) ms" \
	"(records_sent $frec at F, $trec at the signal); d1 exited after ~$stop_ms ms"
if ! grep -q "^READY [0-9]* $TP_BURST\$" "$NT_WORK/burst.log"; then
	nt_fail burst_established "$(tail -n 3 "$NT_WORK/burst.log" | tr '\n' ' ')"
	nt_finish
fi
ready=$(nto_lc_ready_ms burst)
nt_check burst_unflushed "d1 flushed between F and the signal (records_sent $frec -> $trec), or \
the burst was up only after the signal (ready at F+$((ready - fms)) ms): the burst would not test \
the handover" [ "$trec" = "$frec" -a "$ready" -le "$t0" ]
ports=$(tp_burst_ports | tr '\n' ' ')
nt_check burst_ports_known "the client shows $(echo $ports | wc -w) of the burst's $TP_BURST \
connections: $ports" [ "$(echo $ports | wc -w)" -eq "$TP_BURST" ]
nt_check term_exits_promptly "exit took $stop_ms ms (limit 3000)" [ "$stop_ms" -le 3000 ]
nt_check term_removes_vipa "the VIPA is still on d1 after a clean stop" eval '! nto_has_vipa d1'
nto_check_takeover "$t0"
nt_check takeover_at_once "d2 forwarded $NTO_TAKEOVER_MS ms after SIGTERM (limit: one \
heartbeat after d1 exited, $((stop_ms + NTO_HB)) ms)" \
	[ "$NTO_TAKEOVER_MS" -ge 0 -a "$NTO_TAKEOVER_MS" -le $((stop_ms + NTO_HB)) ]
# d2 holds the burst (bounded wait: the polls start after d1 exited) ...
# shellcheck disable=SC2086
if nt_wait_until 2 eval '[ -z "$(tp_d2_missing '"$ports"')" ]'; then
	nt_pass burst_in_d2
else
	# shellcheck disable=SC2086
	nt_fail burst_in_d2 "d2's table lacks the burst's client ports $(tp_d2_missing $ports)"
fi
# ... from the handover: the targets' reports (which would rebuild what d1 never sent) added
# fewer than the burst
added1=$(tp_stat d2 "j['sync']['repl']['report_conns_added']")
echo "d2: report_conns_added $added0 -> $added1; $(nto_replica_figures d2)"
nt_check burst_from_handover "d2 added $((added1 - added0)) connections from the targets' \
reports after d1 left (the burst is $TP_BURST): d1's last records did not reach d2" \
	eval '[ -n "$added0" ] && [ -n "$added1" ] && [ $((added1 - added0)) -lt "$TP_BURST" ]'

nto_sleep_until $((t0 + RESTART_MS))
t1=$(nt_now_ms)
nt_cd_launch d1
nt_log "clusterd on d1 started again (t0+$((t1 - t0)) ms)"
nt_cd_ready d1
nto_check_takeback "$t1"

NTO_DURATION=0 nto_lc_wait burst || nt_fail burst_summary "$(tail -n 3 "$NT_WORK/burst.log" |
	tr '\n' ' ')"
lost=$(nto_lc burst "j['long']['lost']")
stall=$(nto_lc burst "j['long']['max_stall_ms']")
echo "burst: $(nto_lc burst "'%d/%d established, %d lost, max stall %d ms' % (
	j['long']['established'], j['long']['connections'], j['long']['lost'],
	j['long']['max_stall_ms'])")"
nt_check burst_none_lost "$lost of the burst's $TP_BURST connections lost" [ "${lost:-1}" -eq 0 ]
nt_check burst_max_stall "a burst connection stalled $stall ms (limit $NTO_MAX_STALL_MS)" \
	[ "${stall:-99999}" -le "$NTO_MAX_STALL_MS" ]
nto_end "$t0"
nt_finish
