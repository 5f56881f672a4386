#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_flush: replication once on impending failure.  With `sync.mode = "periodic"` and
# interval_ms = 10000, d1 sends its table changes every 10 s only; what the workers logged since
# must go out (drepl_flush) before d1 lets the VIPA go.  Twice, on the load of the takeover tests:
#   A. right after one of d1's periodic sends (records_sent moves), a burst of 8 long-lived
#      connections is opened and, once it is up, `clusterctl failover VIPA` is run on d1;
#   B. d1 is restarted and takes the VIPA back; right after its next periodic send a second
#      burst is opened and d1 gets SIGTERM once it is up.
# Each time d2 must hold the burst at once, from d1's flush (d1 counts it: sync.repl.flushes and
# flush_records for A, its log line for B), not from the targets' reports (d2's
# sync.repl.report_conns_added must not grow by the burst), and no connection may be lost or
# stall over 1 s (the bursts' and the steady load's, lib_takeover.sh).
NTO_DURATION=${NTO_DURATION:-5}
NTO_MAX_DURATION=${NTO_MAX_DURATION:-120}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
NTO_SYNC_MODE=periodic
NTO_SYNC_INTERVAL=${TF_INTERVAL:-10000}
NTO_EVENT_S=1
TF_BURST=${TF_BURST:-8}

# tf_stat HOST PYEXPR: a stats value (empty if the daemon does not answer).
tf_stat() { nt_ctl "$1" stats --json 2>/dev/null | nt_json "$2" 2>/dev/null; }

# tf_burst_arm NAME N: a burst of N long-lived connections (longconn.py, no new connections),
# loaded in the client's namespace and waiting for $NT_WORK/NAME.go (python's start-up must not
# fall between the periodic send and the event).  Files: NAME.log, .json, .stop, .pid.
tf_burst_arm()
{
	rm -f "$NT_WORK/$1.go" "$NT_WORK/$1.json" "$NT_WORK/$1.stop"
	nt_bg c "$1" "$PY" -u -c 'import os, sys, time
sys.path.insert(0, sys.argv[1])
import longconn
go = sys.argv[2]
end = time.time() + 30
while not os.path.exists(go):
	if time.time() > end:
		sys.exit(3)
	time.sleep(0.002)
sys.argv = ["longconn.py"] + sys.argv[3:]
sys.exit(longconn.main())' "$NT_DIR" "$NT_WORK/$1.go" "$NTO_VIP" --conns "$2" --rate 0 \
		--duration 90 --stop-file "$NT_WORK/$1.stop" --out "$NT_WORK/$1.json"
}

# tf_burst_then NAME ACTION ARG: one python process in d1's namespace: waits (12 s) for d1's
# records_sent to move (a periodic send: P), creates NAME.go, waits (5 s) for the burst's READY
# line, reads d1's counters, then ACTION: "term" sends SIGTERM to pid ARG, "failover" runs
# `clusterctl failover ARG` on d1 and reads d1's counters again.  Prints
#   P_MS RECORDS_AT_P RECORDS_AT_EVENT FLUSHES FLUSH_RECORDS EVENT_MS RC FLUSHES' FLUSH_RECORDS'
# (epoch ms; the last three for failover only: its exit status and d1's counters after it), or
# a line starting with "-" that says what failed.
tf_burst_then()
{
	nt_x d1 "$PY" -c 'import json, os, re, signal, subprocess, sys, time
ctl, sock, name, work, action, arg = sys.argv[1:7]
def repl():
	r = subprocess.run([ctl, "-s", sock, "stats", "--json"], capture_output=True, timeout=2)
	return json.loads(r.stdout)["sync"]["repl"] if r.returncode == 0 else None
def rec():
	r = repl()
	return r["records_sent"] if r else None
first = rec()
p = None
end = time.time() + 12
while p is None and time.time() < end:
	r = rec()
	if r is not None and first is not None and r != first:
		p = (int(time.time() * 1000), r)
	elif first is None:
		first = r
	else:
		time.sleep(0.005)
if p is None:
	print("- records_sent on d1 did not move within 12 s")
	sys.exit(0)
open(os.path.join(work, name + ".go"), "w").close()
end = time.time() + 5
while time.time() < end:
	with open(os.path.join(work, name + ".log")) as fl:
		if re.search(r"^(READY|DONE)", fl.read(), re.M):
			break
	time.sleep(0.005)
k = repl()
if k is None:
	print("- d1 does not answer before the event")
	sys.exit(0)
t = time.time()
if action == "term":
	os.kill(int(arg), signal.SIGTERM)
	print(p[0], p[1], k["records_sent"], k.get("flushes", -1), k.get("flush_records", -1),
	      int(t * 1000))
else:
	rc = subprocess.run([ctl, "-s", sock, "failover", arg], capture_output=True,
			    timeout=5).returncode
	a = repl() or {}
	print(p[0], p[1], k["records_sent"], k.get("flushes", -1), k.get("flush_records", -1),
	      int(t * 1000), rc, a.get("flushes", -1), a.get("flush_records", -1))' \
		"$CLUSTERCTL" "$(nt_sock d1)" "$1" "$NT_WORK" "$2" "$3"
}

# tf_burst_ports NAME: the client ports of burst NAME's established connections.
tf_burst_ports()
{
	nt_x c ss -Htnp state established "dst $NTO_VIP:80" | "$PY" -c '
import sys
for l in sys.stdin:
	if "pid=%s," % sys.argv[1] in l:
		print(l.split()[2].rsplit(":", 1)[1])' "$(cat "$NT_WORK/$1.pid")"
}

# tf_d2_missing PORT...: the ports of the list that d2's table lacks for VIPA:80 (all of them
# if d2 does not answer).
tf_d2_missing()
{
	nt_ctl d2 conns --json 2>/dev/null | "$PY" -c 'import json, sys
try:
	have = set(c["client"].rsplit(":", 1)[1] for c in json.load(sys.stdin)["conns"]
		   if c["vipa"] == sys.argv[1] + ":80")
except ValueError:
	have = set()
print(" ".join(p for p in sys.argv[2:] if p not in have))' "$NTO_VIP" "$@"
}

# tf_check_burst NAME T_MS P_MS REC_P REC_EVENT ADDED0: the checks common to both events: the
# burst was up before the event and unsent (no periodic send between P and the event), d2's
# table holds it within 2 s, and the targets' reports did not have to supply it.
tf_check_burst()
{
	local name=$1 t=$2 p=$3 rp=$4 re=$5 added0=$6 ready ports added1
	if ! grep -q "^READY [0-9]* $TF_BURST\$" "$NT_WORK/$name.log"; then
		nt_fail "${name}_established" "$(tail -n 3 "$NT_WORK/$name.log" | tr '\n' ' ')"
		return 1
	fi
	ready=$(nto_lc_ready_ms "$name")
	nt_check "${name}_unsent" "d1 sent records between its periodic send P and the event \
(records_sent $rp -> $re), or the burst was up only after the event (ready at P+$((ready - p)) ms, \
event at P+$((t - p)) ms): the burst would not test the flush" \
		[ "$re" = "$rp" -a "$ready" -le "$t" ]
	ports=$(tf_burst_ports "$name" | tr '\n' ' ')
	nt_check "${name}_ports_known" "the client shows $(echo $ports | wc -w) of the burst's \
$TF_BURST connections: $ports" [ "$(echo $ports | wc -w)" -eq "$TF_BURST" ]
	# d2 holds the burst well before d1's next periodic send (10 s after P) ...
	# shellcheck disable=SC2086
	if nt_wait_until 2 eval '[ -z "$(tf_d2_missing '"$ports"')" ]'; then
		nt_pass "${name}_in_d2"
	else
		# shellcheck disable=SC2086
		nt_fail "${name}_in_d2" "2 s after the event d2's table lacks the burst's client \
ports $(tf_d2_missing $ports)"
	fi
	# ... from d1's flush: the targets' reports (which would rebuild what d1 never sent)
	# added fewer than the burst
	added1=$(tf_stat d2 "j['sync']['repl']['report_conns_added']")
	echo "$name: d2's report_conns_added $added0 -> $added1; $(nto_replica_figures d2)"
	nt_check "${name}_from_flush" "d2 added $((added1 - added0)) connections from the \
targets' reports after the event (the burst is $TF_BURST): d1's last records did not reach d2" \
		eval '[ -n "$added0" ] && [ -n "$added1" ] && [ $((added1 - added0)) -lt "$TF_BURST" ]'
}

# tf_burst_end NAME: ends burst NAME and checks that none of it was lost or stalled.
tf_burst_end()
{
	local name=$1 lost stall
	NTO_DURATION=0 nto_lc_wait "$name" ||
		nt_fail "${name}_summary" "$(tail -n 3 "$NT_WORK/$name.log" | tr '\n' ' ')"
	lost=$(nto_lc "$name" "j['long']['lost']")
	stall=$(nto_lc "$name" "j['long']['max_stall_ms']")
	echo "$name: $(nto_lc "$name" "'%d/%d established, %d lost, max stall %d ms' % (
		j['long']['established'], j['long']['connections'], j['long']['lost'],
		j['long']['max_stall_ms'])")"
	nt_check "${name}_none_lost" "$lost of the burst's $TF_BURST connections lost" \
		[ "${lost:-1}" -eq 0 ]
	nt_check "${name}_max_stall" "a burst connection stalled $stall ms (limit \
$NTO_MAX_STALL_MS)" [ "${stall:-99999}" -le "$NTO_MAX_STALL_MS" ]
}

nto_begin

# ---- A: clusterctl failover
tf_burst_arm fo "$TF_BURST"
added0=$(tf_stat d2 "j['sync']['repl']['report_conns_added']")
read -r p rp re fl0 fr0 tA rc fl1 fr1 <<<"$(tf_burst_then fo failover "$NTO_VIP")"
if [ "$p" = - ] || [ -z "$fr1" ]; then
	nt_fail failover_burst "$p $rp $re $fl0 $fr0 $tA $rc $fl1 $fr1"
	nt_finish
fi
echo "failover: periodic send at P, burst of $TF_BURST up, failover at P+$((tA - p)) ms" \
	"(records_sent $rp at P, $re at the failover); d1 flushes $fl0 -> $fl1," \
	"flush_records $fr0 -> $fr1"
nt_check failover_accepted "clusterctl failover on d1 exited $rc" [ "$rc" -eq 0 ]
nt_check failover_flushed "d1's sync.repl.flushes $fl0 -> $fl1, flush_records $fr0 -> $fr1 \
(want one flush at least, carrying the burst's $TF_BURST records at least)" \
	[ "$fl1" -gt "$fl0" -a $((fr1 - fr0)) -ge "$TF_BURST" ]
nto_check_takeover "$tA"
tf_check_burst fo "$tA" "$p" "$rp" "$re" "$added0"

# ---- d1 comes back (its yield ends with the restart) and takes the VIPA back
nt_cd_stop d1 TERM
t1=$(nt_now_ms)
nt_cd_launch d1
nt_log "clusterd on d1 started again"
nt_cd_ready d1 || { nt_fail restart_d1 "clusterd on d1 did not start again"; nt_finish; }
nto_check_takeback "$t1"

# ---- B: SIGTERM
tf_burst_arm term "$TF_BURST"
added0=$(tf_stat d2 "j['sync']['repl']['report_conns_added']")
d1pid=$(cat "$NT_WORK/clusterd-d1.pid")
read -r p rp re fl0 fr0 tB <<<"$(tf_burst_then term term "$d1pid")"
if [ "$p" = - ] || [ -z "$tB" ]; then
	nt_fail term_burst "$p $rp $re $fl0 $fr0 $tB"
	nt_finish
fi
nt_wait_until 5 nt_gone "$d1pid"
stop_ms=$(( $(nt_now_ms) - tB ))
nt_cd_stop d1 TERM	# reaps it (already gone, or killed after 5 s more)
echo "term: periodic send at P, burst of $TF_BURST up, SIGTERM at P+$((tB - p)) ms" \
	"(records_sent $rp at P, $re at the signal); d1 exited after ~$stop_ms ms"
nt_check term_exits_promptly "exit took $stop_ms ms (limit 3000)" [ "$stop_ms" -le 3000 ]
# d1 is gone: its log says what the flush at the signal sent
flushed=$(sed -n 's/.*replication flushed (leaving): \([0-9]*\) records.*/\1/p' \
	"$NT_WORK/clusterd-d1.log" | tail -n 1)
nt_check term_flushed "d1's log: $(grep -e 'replication flushed' -e 'leaving the cluster' \
	"$NT_WORK/clusterd-d1.log" | tail -n 3 | tr '\n' ' ') (want the flush at the signal to carry \
the burst's $TF_BURST records at least)" [ "${flushed:-0}" -ge "$TF_BURST" ]
nt_check term_removes_vipa "the VIPA is still on d1 after a clean stop" eval '! nto_has_vipa d1'
nt_check d2_owns_after_term "d2's role and owner: $(nto_state d2)" \
	nt_wait_until 3 eval '[ "$(nto_state d2)" = "distributor d2" ]'
nt_check d2_forwards_after_term "d2 did not forward within 3 s of the signal" \
	nt_wait_until 3 eval '[ -n "$(nto_watch_first d2 FWD_START '"$tB"')" ]'
tf_check_burst term "$tB" "$p" "$rp" "$re" "$added0"

tf_burst_end fo
tf_burst_end term
nto_end "$tA"
nt_finish
