#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_notify: systemd's notification protocol, with a socket of the test's own (notify_sink.py in
# d1's namespace stands in for systemd).  d2 runs first; clusterd on d1 (the VIPAs' first
# distributor) starts with NOTIFY_SOCKET and WATCHDOG_USEC=1000000, no WATCHDOG_PID:
#   - exactly one READY=1 (until the reload), sent when the rules, both queues and the control
#     socket's "ready" were there (the sink looks the moment it arrives), its STATUS= saying
#     that d1 distributes the VIPA;
#   - WATCHDOG=1 every 500 ms (every interval between 0.3 and 0.8 s);
#   - SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1; a refused `clusterctl reload`: the
#     same, its STATUS= saying it was refused;
#   - a worker thread stopped (ptrace, under a UDP flood, outside poll) for 2.5 s: no WATCHDOG=1
#     meanwhile, the stall logged once and counted, the pings back after it;
#   - SIGTERM: STOPPING=1, then the daemon exits (status 0) within 10 s;
#   - started again with WATCHDOG_PID=1 (not its pid) and an abstract NOTIFY_SOCKET (@name):
#     READY=1 there, and no WATCHDOG=1 in 3 periods.
# The counters (notify.*) agree.
. "$(dirname "$0")/lib.sh"
nt_need_daemon
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
SINK=$NT_WORK/notify.sock
NLOG=$NT_WORK/notify.jsonl
ABSTRACT=clusterd-test-$NT_ID
nt_bg d1 notify-sink "$PY" -u "$NT_DIR/notify_sink.py" --socket "$SINK" --log "$NLOG" \
	--abstract "$ABSTRACT" \
	--queues "0,$(( ${NT_WORKERS:-2} - 1 ))" --ctl "$CLUSTERCTL" --ctl-sock "$(nt_sock d1)"
nt_wait_until 10 test -S "$SINK" || { nt_fail setup "the sink did not bind $SINK"; nt_finish; }
nt_cd_start d2 || { nt_fail setup "clusterd on d2"; nt_finish; }

# t_q PYEXPR: PYEXPR over the sink's log: recs (every record), msgs (the datagrams), checks
# (the READY checks), PID (the daemon under test), and, over msgs:
# of(pid) the datagrams of pid, after(t, ms) those received after t, has(m, line),
# status(m) (its STATUS= text, or None), wd(ms) the receipt times of the WATCHDOG=1 in ms.
t_q()
{
	"$PY" - "$NLOG" "${PID:-0}" "$1" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
PID = int(sys.argv[2])
msgs = [r for r in recs if 'lines' in r]
checks = [r['check'] for r in recs if 'check' in r]
def of(pid, ms=None): return [m for m in (msgs if ms is None else ms) if m['pid'] == pid]
def after(t, ms): return [m for m in ms if m['t'] > t]
def has(m, line): return line in m['lines']
def status(m):
    s = [l[len('STATUS='):] for l in m['lines'] if l.startswith('STATUS=')]
    return s[0] if s else None
def wd(ms): return [m['t'] for m in ms if has(m, 'WATCHDOG=1')]
r = eval(sys.argv[3])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)
EOF
}
t_is() { [ "$(t_q "$1" 2>/dev/null)" = True ]; }

unset WATCHDOG_PID
NOTIFY_SOCKET=$SINK WATCHDOG_USEC=1000000 nt_cd_launch d1
PID=$(cat "$NT_WORK/clusterd-d1.pid")
nt_log "clusterd on d1: pid $PID"
if ! nt_wait_until 30 t_is "any(has(m, 'READY=1') for m in of(PID))"; then
	nt_fail ready "no READY=1 from clusterd on d1 within 30 s"
	nt_dump_logs clusterd-d1 notify-sink
	nt_finish
fi
nt_pass ready
nt_wait_until 10 t_is "len(checks) == 1"
chk=$(t_q "checks[0] if checks else None")
nt_log "at READY=1: $chk"
nt_check ready_after_rules "table inet clusterd missing at READY=1: $chk" \
	t_is "checks[0]['rules']"
nt_check ready_after_queues "queues not bound at READY=1: $chk" t_is "checks[0]['queues'] == []"
nt_check ready_when_ready "clusterctl status did not say ready at READY=1: $chk" \
	t_is "checks[0]['ctl_ready']"
rstat=$(t_q "[status(m) for m in of(PID) if has(m, 'READY=1')][0]")
nt_log "STATUS= with READY=1: $rstat"
nt_check ready_status_role "STATUS= with READY=1 is $rstat" \
	t_is "'distributor of $NT_VIP4' in [status(m) for m in of(PID) if has(m, 'READY=1')][0]"
nt_log "STATUS= before READY=1: $(t_q "[status(m) for m in of(PID) if status(m)
	and m['t'] < [n['t'] for n in of(PID) if has(n, 'READY=1')][0]]")"

# The watchdog: 8 intervals after READY=1 (bounded: 10 s).
t_ready=$(t_q "[m['t'] for m in of(PID) if has(m, 'READY=1')][0]")
nt_wait_until 10 t_is "len(wd(after($t_ready, of(PID)))) >= 9"
iv=$(t_q "[round(b - a, 3) for a, b in zip(wd(after($t_ready, of(PID))),
	wd(after($t_ready, of(PID)))[1:])][:8]")
nt_log "WATCHDOG=1 intervals after READY=1 (s): $iv"
nt_check watchdog_repeats "fewer than 9 WATCHDOG=1 within 10 s of READY=1: $iv" \
	t_is "len(wd(after($t_ready, of(PID)))) >= 9"
nt_check watchdog_period "intervals not all within 0.3-0.8 s: $iv" \
	"$PY" -c 'import sys; v = eval(sys.argv[1]); sys.exit(0 if v and all(0.3 <= x <= 0.8 for x in v) else 1)' "$iv"
nt_check watchdog_from_start "no WATCHDOG=1 before READY=1 (it runs from the main loop's start)" \
	t_is "len(wd([m for m in of(PID) if m['t'] < $t_ready])) >= 1"
nt_check one_ready "READY=1 sent $(t_q "sum(has(m, 'READY=1') for m in of(PID))") times" \
	t_is "sum(has(m, 'READY=1') for m in of(PID)) == 1"

# SIGHUP: RELOADING=1 (MONOTONIC_USEC: the sink's clock, a moment ago), then READY=1.
t_hup=$(t_q "msgs[-1]['t']")
kill -HUP "$PID"
nt_wait_until 10 t_is "any(has(m, 'READY=1') for m in after($t_hup, of(PID)))"
seq=$(t_q "[[l for l in m['lines'] if l != 'WATCHDOG=1' and not l.startswith('STATUS=')]
	for m in after($t_hup, of(PID)) if not has(m, 'WATCHDOG=1')][:2]")
nt_log "after SIGHUP: $seq"
nt_check hup_reloading "no RELOADING=1 with MONOTONIC_USEC= before READY=1 after SIGHUP: $seq" \
	t_is "['RELOADING', 'MONOTONIC_USEC', 'READY'] == [k.split('=')[0]
		for m in after($t_hup, of(PID)) for k in m['lines']
		if k.split('=')[0] in ('RELOADING', 'MONOTONIC_USEC', 'READY')][:3]"
nt_check hup_monotonic "MONOTONIC_USEC= is not CLOCK_MONOTONIC at the reload: $(t_q \
	"[(m['t'], m['lines']) for m in after($t_hup, of(PID)) if has(m, 'RELOADING=1')]")" \
	t_is "[abs(int(l.split('=')[1]) / 1e6 - m['t']) < 2 for m in after($t_hup, of(PID))
		for l in m['lines'] if l.startswith('MONOTONIC_USEC=')][:1] == [True]"

# A reload refused (a file that does not parse): RELOADING=1, READY=1 (the daemon runs on),
# its STATUS= says so; the next good reload clears it.
conf=$NT_WORK/clusterd.conf
cp "$conf" "$NT_WORK/good.conf"
echo 'this is not libconfig' >>"$conf"
t_bad=$(t_q "msgs[-1]['t']")
out=$(nt_ctl d1 reload 2>&1); rc=$?
nt_log "bad reload: rc=$rc: $out"
nt_wait_until 10 t_is "any(has(m, 'READY=1') for m in after($t_bad, of(PID)))"
bstat=$(t_q "[status(m) for m in after($t_bad, of(PID)) if has(m, 'READY=1')][:1]")
nt_log "after the refused reload: $bstat"
nt_check refused_reload_reloading "no RELOADING=1 then READY=1 around a refused reload" \
	t_is "[k for m in after($t_bad, of(PID)) for k in m['lines']
		if k in ('RELOADING=1', 'READY=1')][:2] == ['RELOADING=1', 'READY=1']"
nt_check refused_reload_status "STATUS= after a refused reload: $bstat" \
	t_is "'refused' in [status(m) for m in after($t_bad, of(PID)) if has(m, 'READY=1')][0]"
cp "$NT_WORK/good.conf" "$conf"
t_good=$(t_q "msgs[-1]['t']")
nt_ctl d1 reload >/dev/null 2>&1
nt_wait_until 10 t_is "any(has(m, 'READY=1') for m in after($t_good, of(PID)))"
nt_check good_reload_clears "STATUS= after a good reload: $(t_q \
	"[status(m) for m in after($t_good, of(PID)) if has(m, 'READY=1')][:1]")" \
	t_is "[('refused' not in status(m)) for m in after($t_good, of(PID)) if has(m, 'READY=1')] == [True]"

# The counters.
st=$(nt_ctl d1 stats --json | nt_json "j.get('notify')")
nt_log "notify counters: $st"
nwd=$(t_q "len(wd(of(PID)))")
nt_check counters "notify.* $st; the sink got $nwd WATCHDOG=1" \
	"$PY" -c 'import sys, json; s = json.loads(sys.argv[1]); n = int(sys.argv[2])
sys.exit(0 if s and s["enabled"] == 1 and s["watchdog_usec"] == 1000000 and
	s["send_errors"] == 0 and s["watchdog_withheld"] == 0 and s["watchdog_sent"] >= n and
	s["sent"] >= n + 4 else 1)' "$st" "$nwd"

# A stuck worker: under a UDP flood to VIPA:5353, one worker thread is stopped (ptrace, that
# thread alone) at a moment it is not in poll, for 2.5 s (5 periods): WATCHDOG=1 stops, the stall
# is logged once and counted, and once the thread runs again the pings come back.  Nothing asks
# the daemon anything meanwhile (the control socket may take the stopped worker's lock).
t_stall()
{
	"$PY" - "$PID" 2.5 10 <<'PYEOF'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000
pid, hold, end = int(sys.argv[1]), float(sys.argv[2]), time.monotonic() + float(sys.argv[3])
tids = sorted(int(t) for t in os.listdir('/proc/%d/task' % pid) if int(t) != pid)
while time.monotonic() < end:
    for tid in tids:
        if libc.ptrace(SEIZE, tid, None, None) != 0:
            print('ptrace: %s' % os.strerror(ctypes.get_errno()))
            sys.exit(2)
        libc.ptrace(INTERRUPT, tid, None, None)
        os.waitpid(tid, WALL)
        sc = open('/proc/%d/task/%d/syscall' % (pid, tid)).read().split()[0]
        if sc not in ('7', '271'):	# poll, ppoll: a worker waiting for packets is idle
            t0 = time.monotonic()
            time.sleep(hold)
            libc.ptrace(DETACH, tid, None, None)
            print('%.3f %.3f thread %d stopped at syscall %s' % (t0, time.monotonic(), tid, sc))
            sys.exit(0)
        libc.ptrace(DETACH, tid, None, None)
    time.sleep(0.02)
print('every look found the workers in poll')
sys.exit(1)
PYEOF
}
nt_bg c flood "$PY" -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 20
i = 0
while time.monotonic() < end:
    try:
        s.sendto(b"x" * 64, ("'"$NT_VIP4"'", 5353))
    except OSError:
        pass
    i += 1
    if i % 64 == 0:
        s.close(); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)	# new flows
'
t_flowing() { nt_stat d1 "all(w['packets'] > 1000 for w in j['workers'])" | grep -qx True; }
nt_wait_until 10 t_flowing || nt_log "the flood does not reach every worker"
stall=$(t_stall); src=$?
nt_stop flood
nt_log "stall: rc=$src: $stall"
if [ $src -eq 2 ]; then
	echo "SKIP: stall: cannot ptrace here ($stall)"
elif [ $src -ne 0 ]; then
	nt_fail stall_setup "$stall"
else
	set -- $stall
	s0=$1 s1=$2
	# pings resume within a period or two of the release
	nt_wait_until 3 t_is "len(wd(after($s1, of(PID)))) >= 2"
	gap=$(t_q "max(b - a for a, b in zip(wd(of(PID)), wd(of(PID))[1:]) if b > $s0 and a < $s1)")
	nt_log "longest WATCHDOG=1 gap around the stall: $gap s"
	nt_check stall_withholds "longest gap $gap s over a 2.5 s stall" \
		"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1.5 else 1)' "$gap"
	nt_check stall_resumes "no WATCHDOG=1 within 3 s of the release" \
		t_is "len(wd(after($s1, of(PID)))) >= 2"
	st=$(nt_ctl d1 stats --json | nt_json "[j['notify'][k] for k in
		('watchdog_withheld', 'watchdog_stalls', 'watchdog_sent')]")
	nt_log "withheld, stalls, sent: $st"
	nt_check stall_counted "notify withheld, stalls, sent: $st" \
		"$PY" -c 'import sys; w, s, n = eval(sys.argv[1]); sys.exit(0 if w >= 3 and s == 1 else 1)' "$st"
	nt_check stall_logged "the stall is not logged exactly once, or its end not at all" \
		eval "[ \$(grep -c 'busy without progress' '$NT_WORK/clusterd-d1.log') -eq 1 ] &&
			grep -q 'make progress again' '$NT_WORK/clusterd-d1.log'"
fi

# SIGTERM: STOPPING=1, then the leave ends and the process exits.
t_term=$(t_q "msgs[-1]['t']")
t0=$(nt_now_ms)
kill -TERM "$PID"
nt_check stopping "no STOPPING=1 within 5 s of SIGTERM" \
	nt_wait_until 5 t_is "any(has(m, 'STOPPING=1') for m in after($t_term, of(PID)))"
nt_log "STOPPING=1 with STATUS=$(t_q "[status(m) for m in after($t_term, of(PID)) if has(m, 'STOPPING=1')][:1]")"
nt_wait_until 10 nt_gone "$PID"
stop_ms=$(( $(nt_now_ms) - t0 ))
nt_cd_stop d1	# reaps it (gone already, or SIGTERM again and then SIGKILL)
rc=$(awk -v p="$PID" '$2 == p { print $3 " " $4 }' "$NT_WORK/exits")
nt_log "clusterd on d1 exited $stop_ms ms after SIGTERM ($rc)"
nt_check stop_exits "exit after SIGTERM: $stop_ms ms, status/how: $rc" \
	eval "[ $stop_ms -le 10000 ] && [ '$rc' = '0 exited' ]"
nt_check no_ready_after_stopping "READY=1 after STOPPING=1" \
	t_is "not any(has(m, 'READY=1') for m in after($t_term, of(PID)))"

# Started again, WATCHDOG_PID another process's, the socket abstract: READY=1 but no watchdog.
WATCHDOG_PID=1 NOTIFY_SOCKET=@$ABSTRACT WATCHDOG_USEC=1000000 nt_cd_launch d1
PID=$(cat "$NT_WORK/clusterd-d1.pid")
if nt_wait_until 30 t_is "any(has(m, 'READY=1') for m in of(PID))"; then
	nt_pass ready_second_start
	nt_check abstract_socket "READY=1 did not come by the abstract socket" \
		t_is "all(m['abstract'] for m in of(PID))"
	# three watchdog periods after READY=1: a watchdog would have sent by now
	t_r2=$(t_q "[m['t'] for m in of(PID) if has(m, 'READY=1')][0]")
	nt_wait_until 5 t_is "__import__('time').monotonic() > $t_r2 + 1.5"
	nt_check no_watchdog_other_pid "WATCHDOG=1 sent with WATCHDOG_PID=1: $(t_q "len(wd(of(PID)))")" \
		t_is "len(wd(of(PID))) == 0"
	st2=$(nt_ctl d1 stats --json | nt_json "[j['notify'][k] for k in
		('enabled', 'watchdog_usec', 'watchdog_sent')]")
	nt_check counters_no_watchdog "notify enabled, watchdog_usec, watchdog_sent: $st2" \
		[ "$st2" = '[1, 0, 0]' ]
else
	nt_fail ready_second_start "no READY=1 from the second clusterd on d1 within 30 s"
	nt_dump_logs clusterd-d1
fi
nt_finish
