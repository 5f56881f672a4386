#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_modes: the kill scenario of t_takeover_kill (SIGKILL clusterd on d1 at t0, d2 takes
# over; d1 restarted at t0 + 2 s takes the VIPA back) under the two replication modes that
# every-update does not cover, each on a fresh cluster:
#
#   periodic (interval_ms = 1000)  d1 sends its table changes once a second.  Right after one
#       such flush a burst of 8 long-lived connections is opened and d1 is killed before the
#       next flush: d2's replica never heard of them; they must survive anyway, rebuilt from
#       the targets' reports (d2's table holds them after the takeover, which a round-robin
#       distributor can learn from nowhere else).  Over a window of the steady load d1 flushes
#       once a second (records_sent moves once a second, ~2 UPDATE messages to d2 a second),
#       where on-event, drained every loop like every-update, moves ~10 times and sends 15+.
#   on-event  d1 sends no record for the handshake (SYN state): over the same load it sends
#       one record fewer per new connection than the periodic run, which skips nothing.
#
# In both: nothing lost, no stall over 1 s, new connections never fail for over 1 s (the checks
# of lib_takeover.sh).  The script runs itself once per mode (MO_SCENARIO), each run with its
# own namespaces, and compares their figures at the end.
NTO_DURATION=${NTO_DURATION:-8}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
RESTART_MS=${RESTART_MS:-2000}
MO_INTERVAL=${MO_INTERVAL:-1000}	# periodic's interval_ms
MO_WINDOW_S=${MO_WINDOW_S:-3.2}		# the measured window of steady load
MO_BURST=${MO_BURST:-8}			# connections opened between two periodic flushes

# ---------------------------------------------------------------- figures of d1's replication

# MO_PY: one stats sample as "epoch_ms records created": records is sync.repl.records_sent
# (records put in UPDATE messages: in periodic mode it moves once per flush), created is
# conns.created.
MO_PY='
import json, subprocess, sys, time
def sample(ctl, sock):
	r = subprocess.run([ctl, "-s", sock, "stats", "--json"], capture_output=True, timeout=2)
	if r.returncode:
		return None
	j = json.loads(r.stdout)
	return "%d %d %d" % (time.time() * 1000, j["sync"]["repl"]["records_sent"],
			     j["conns"]["created"])
'

# mo_window HOST SECONDS OUT: samples HOST's stats every 20 ms for SECONDS into OUT.
mo_window()
{
	nt_x "$1" "$PY" -c "$MO_PY"'
ctl, sock, secs, out = sys.argv[1:5]
end = time.time() + float(secs)
with open(out, "w") as f:
	while time.time() < end:
		s = sample(ctl, sock)
		if s:
			f.write(s + "\n")
		time.sleep(0.02)' "$CLUSTERCTL" "$(nt_sock "$1")" "$2" "$3"
}

# mo_flush_burst_kill GO: one python process in d1's namespace, so that no process start-up
# falls between a flush and the kill: waits (3 s) until d1's records_sent moves (a flush: F),
# creates the file GO (the armed burst starts), waits (2 s) for the burst's READY line, reads
# records_sent once more and SIGKILLs clusterd on d1.  Prints "F_MS RECORDS_AT_F RECORDS_AT_KILL
# KILL_MS" (epoch ms), or a line starting with "-" and saying what failed.
mo_flush_burst_kill()
{
	nt_x d1 "$PY" -c "$MO_PY"'
import os, re, signal
ctl, sock, go, log, pid = sys.argv[1:6]
def rec():
	s = sample(ctl, sock)
	return s.split()[1] if s else None
first, f = rec(), None
end = time.time() + 3
while f is None and time.time() < end:
	s = sample(ctl, sock)
	if s and first is not None and s.split()[1] != first:
		f = s.split()
	elif s and first is None:
		first = s.split()[1]
	else:
		time.sleep(0.005)
if f is None:
	print("- records_sent on d1 did not move within 3 s")
	sys.exit(0)
open(go, "w").close()
end = time.time() + 2
while time.time() < end:
	with open(log) as fl:
		if re.search(r"^(READY|DONE)", fl.read(), re.M):
			break
	time.sleep(0.005)
k = rec()
t = time.time()
os.kill(int(pid), signal.SIGKILL)
print(f[0], f[1], k, int(t * 1000))' "$CLUSTERCTL" "$(nt_sock d1)" "$1" "$NT_WORK/burst.log" \
		"$(cat "$NT_WORK/clusterd-d1.pid")"
}

# mo_wire_on: counts, in d1's namespace, the UPDATE messages (wire type 32, the byte at offset 5
# of the UDP payload, in clear before the MAC) that leave for d2's sync port, retransmissions
# included: the daemon's own counters mix them with the CDAT's messages.
mo_wire_on()
{
	nt_x d1 nft -f - <<NFT
table inet momodes {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr ${NT_IP4[d2]} udp dport $NTO_SYNC_PORT @th,104,8 32 counter
		ip6 daddr ${NT_IP6[d2]} udp dport $NTO_SYNC_PORT @th,104,8 32 counter
	}
}
NFT
}

# mo_wire_count: "epoch_ms packets" of mo_wire_on's counters.
mo_wire_count()
{
	echo "$(nt_now_ms) $(nt_x d1 nft list table inet momodes | awk '/counter/ {
		for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }')"
}

# mo_figures OUT: "flushes_per_s recs_per_conn conns" of a window: moves of records_sent a
# second (bounded by the 50 Hz sampling); records per new connection between the first and
# the last move (whole flushes, so periodic batching does not skew it); new connections in
# that span.
mo_figures()
{
	"$PY" - "$1" <<'PY'
import sys
s = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
el = (s[-1][0] - s[0][0]) / 1000.0
moves = [i for i in range(1, len(s)) if s[i][1] != s[i - 1][1]]
flushes = len(moves) / el
a, b = (moves[0], moves[-1]) if len(moves) >= 2 else (0, len(s) - 1)
conns = s[b][2] - s[a][2]
rpc = (s[b][1] - s[a][1]) / conns if conns > 0 else -1
print("%.2f %.2f %d" % (flushes, rpc, conns))
PY
}

# mo_put KEY VALUE: a figure for the comparison of the modes (MO_FIGS, set by the parent).
mo_put() { [ -n "${MO_FIGS:-}" ] && echo "$1 $2" >>"$MO_FIGS"; return 0; }
mo_get() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$MO_FIGS" 2>/dev/null; }

# fless A B: A < B (decimals).
fless() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# mo_measure MODE: the window of steady load on d1: prints, records and checks the figures.
mo_measure()
{
	local mode=$1 msgs flushes rpc conns w0 w1 n0 n1
	mo_wire_on || nt_fail "${mode}_wire_counter" "nft refused the UPDATE counter on d1"
	read -r w0 n0 <<<"$(mo_wire_count)"
	mo_window d1 "$MO_WINDOW_S" "$NT_WORK/window.txt"
	read -r w1 n1 <<<"$(mo_wire_count)"
	read -r flushes rpc conns <<<"$(mo_figures "$NT_WORK/window.txt")"
	msgs=$(awk -v n=$((n1 - n0)) -v t=$((w1 - w0)) 'BEGIN { printf "%.2f", n * 1000 / t }')
	echo "$mode: d1 sent $msgs UPDATE messages/s to d2, records_sent moved $flushes times/s," \
		"$rpc records per new connection ($conns new connections) over $MO_WINDOW_S s"
	nt_log "$mode window: $msgs msg/s, $flushes flushes/s, $rpc rec/conn, $conns conns"
	mo_put "$mode.msgs_per_s" "$msgs"
	mo_put "$mode.flushes_per_s" "$flushes"
	mo_put "$mode.recs_per_conn" "$rpc"
	nt_check "${mode}_window_has_load" "only $conns new connections in the window" \
		[ "$conns" -ge 10 ]
	MO_MSGS=$msgs MO_FLUSHES=$flushes MO_RPC=$rpc
}

# mo_d2_ports_start T0_MS END_MS PORT...: polls d2's connection table every 50 ms (one python
# process, in the background) until it holds an entry of VIPA:80 for every client port given,
# or until END_MS (epoch); then writes to $NT_WORK/ports.out "MS" (the milliseconds since
# T0_MS), or "-1 PORT..." with the ports still missing.  mo_d2_ports_wait reads it.
mo_d2_ports_start()
{
	rm -f "$NT_WORK/ports.out"
	nt_bg d2 ports-d2 "$PY" -c 'import json, os, subprocess, sys, time
ctl, sock, vip, out, t0, end = sys.argv[1:7]
want = set(sys.argv[7:])
t0, end = int(t0) / 1000.0, int(end) / 1000.0
miss = want
while True:
	# the time the question left: an answer slowed by a busy machine does not count against d2
	t = time.time()
	if t > end:
		res = "-1 " + " ".join(sorted(miss))
		break
	r = subprocess.run([ctl, "-s", sock, "conns", "--json"], capture_output=True)
	if r.returncode == 0:
		have = set(c["client"].rsplit(":", 1)[1] for c in json.loads(r.stdout)["conns"]
			   if c["vipa"] == vip + ":80")
		miss = want - have
		if not miss:
			res = "%d" % ((t - t0) * 1000)
			break
	time.sleep(0.05)
with open(out + ".tmp", "w") as f:
	f.write(res + "\n")
os.replace(out + ".tmp", out)' "$CLUSTERCTL" "$(nt_sock d2)" "$NT_VIP4" "$NT_WORK/ports.out" \
		"$@"
}

mo_d2_ports_wait()
{
	nt_wait_until 5 test -s "$NT_WORK/ports.out"
	nt_stop ports-d2
	cat "$NT_WORK/ports.out" 2>/dev/null || echo "-1 (no answer)"
}

# mo_d2_report_figures: what d2 says about the replica and the targets' reports.
mo_d2_report_figures()
{
	nt_ctl d2 stats --json | nt_json "'conns.from_replica=%s reports_received=%s \
records_received=%s report_conns_added=%s' % (j['conns']['from_replica'],
		j['sync']['repl']['reports_received'], j['sync']['repl']['records_received'],
		j['sync']['repl'].get('report_conns_added', 'n/a'))"
}

# ---------------------------------------------------------------- one mode, one cluster

mo_scenario()
{
	local mode=$1 fms frec ready krec t0 t1 ports="" lost stall
	NTO_SYNC_MODE=$mode
	[ "$mode" = periodic ] && NTO_SYNC_INTERVAL=$MO_INTERVAL
	NTO_EVENT_S=0
	nto_begin
	mo_measure "$mode"
	# the mode in effect, from d1's behaviour (periodic's own checks follow below): no mode
	# replicates a handshake (nothing is logged before it completes); on-event also leaves
	# out the closing state, so about one record (EST) per connection against every-update's
	# two (EST, FIN), and it drains every loop
	if [ "$mode" = on-event ]; then
		nt_check onevent_in_effect "on-event: $MO_RPC records per new connection (want 0 .. \
1.5: no SYN or FIN record), records_sent moved $MO_FLUSHES times/s (want > 4)" \
			eval 'fless 0 "$MO_RPC" && fless "$MO_RPC" 1.5 && fless 4 "$MO_FLUSHES"'
	fi

	if [ "$mode" = periodic ]; then
		# ~20 records a second (10 new connections, 2 records each), at most 19 records
		# a message: a flush a second takes 2 messages
		nt_check periodic_updates_bounded "d1 sent $MO_MSGS UPDATE messages/s to d2 (want \
< 4 with interval_ms = $MO_INTERVAL: one flush of 2 messages a second; every-update and on-event \
send 15 or more)" fless "$MO_MSGS" 4
		nt_check periodic_flushes_once_per_interval "records_sent moved $MO_FLUSHES \
times/s (want 0.5 .. 1.6 with interval_ms = $MO_INTERVAL)" \
			eval 'fless 0.5 "$MO_FLUSHES" && fless "$MO_FLUSHES" 1.6'
		# right after a flush, the burst; the kill as soon as it is up, long before the
		# next flush
		nto_burst_arm "$NT_WORK/burst.go" "$MO_BURST" 20
		# python's start-up, before the flush is sought
		if ! nt_wait_until 10 test -e "$NT_WORK/burst.go.armed"; then
			nt_fail burst_armed "the burst was not loaded within 10 s: \
$(tail -n 3 "$NT_WORK/burst.log" | tr '\n' ' ')"
			nt_finish
		fi
		# killed by another process: bash would print a "Killed" job notice
		disown "$(cat "$NT_WORK/clusterd-d1.pid")" 2>/dev/null
		read -r fms frec krec t0 <<<"$(mo_flush_burst_kill "$NT_WORK/burst.go")"
		if [ "$fms" = - ]; then
			nt_fail periodic_flush_kill "$frec $krec $t0"
			nt_finish
		fi
		nt_cd_stop d1 KILL	# reaps it
		if ! grep -q "^READY [0-9]* $MO_BURST\$" "$NT_WORK/burst.log"; then
			nt_fail burst_established "$(tail -n 3 "$NT_WORK/burst.log" | tr '\n' ' ')"
			nt_finish
		fi
		# the client still holds them: d1's death does not close a TCP connection
		ports=$(mo_burst_ports_live | tr '\n' ' ')
		# d2 must route the burst before d1 returns: until then nothing else can teach it
		mo_d2_ports_start "$t0" $((t0 + RESTART_MS)) $ports
		ready=$(nto_lc_ready_ms burst)
		echo "periodic: flush seen at F, burst of $MO_BURST ready at" \
			"F+$((ready - fms)) ms, d1 killed at F+$((t0 - fms)) ms" \
			"(interval $MO_INTERVAL ms)"
		mo_put periodic.kill_after_flush_ms $((t0 - fms))
		nt_check burst_unreplicated "d1 flushed again between F and the kill (records_sent \
$frec -> $krec), or the burst was not up at the kill (ready at F+$((ready - fms)) ms): d2 may \
hold the burst, or not be tested" [ "$krec" = "$frec" -a "$ready" -le "$t0" ]
		nt_check burst_ports_known "the client shows $(echo $ports | wc -w) of the burst's \
$MO_BURST connections: $ports" [ "$(echo $ports | wc -w)" -eq "$MO_BURST" ]
	else
		t0=$(nt_now_ms)
		nt_cd_stop d1 KILL
	fi
	nt_log "$mode: clusterd on d1 killed"
	cp "$NT_WORK/clusterd-d1.log" "$NT_WORK/clusterd-d1-killed.log"
	nto_check_takeover "$t0"
	mo_put "$mode.takeover_ms" "$NTO_TAKEOVER_MS"

	nto_sleep_until $((t0 + RESTART_MS))
	t1=$(nt_now_ms)
	nt_cd_launch d1
	nt_log "$mode: clusterd on d1 started again (t0+$((t1 - t0)) ms)"
	nt_cd_ready d1
	nto_check_takeback "$t1"

	if [ "$mode" = periodic ]; then
		local got added
		got=$(mo_d2_ports_wait)
		echo "periodic: the burst's $MO_BURST connections in d2's table at t0+$got ms" \
			"(-1: missing); d2: $(mo_d2_report_figures)"
		mo_put periodic.burst_in_d2_ms "${got%% *}"
		nt_check burst_rebuilt_from_reports "d2's table lacked some of the burst's client \
ports ($ports) until d1 returned at t0+$RESTART_MS ms: ${got#-1 }" [ "${got%% *}" -ge 0 ]
		added=$(nt_stat d2 "j['sync']['repl']['report_conns_added']")
		nt_check report_conns_added "d2 added ${added:-?} connections from the \
targets' reports (want >= $MO_BURST)" [ "${added:-0}" -ge "$MO_BURST" ]
		NTO_DURATION=0 nto_lc_wait burst ||
			nt_fail burst_summary "$(tail -n 3 "$NT_WORK/burst.log" | tr '\n' ' ')"
		lost=$(nto_lc burst "j['long']['lost']")
		stall=$(nto_lc burst "j['long']['max_stall_ms']")
		echo "periodic: burst: $(nto_lc burst "'%d/%d established, %d lost, max stall \
%d ms (ending t0%+d ms)' % (j['long']['established'], j['long']['connections'],
			j['long']['lost'], j['long']['max_stall_ms'],
			(j['long']['max_stall_end_ms'] or $t0) - $t0)")"
		nt_check burst_none_lost "$lost of the $MO_BURST unreplicated connections lost" \
			[ "$lost" -eq 0 ]
		nt_check burst_max_stall "an unreplicated connection stalled $stall ms (limit \
$NTO_MAX_STALL_MS)" [ "$stall" -le "$NTO_MAX_STALL_MS" ]
	fi
	nto_end "$t0"
	nt_finish
}

# mo_burst_ports_live: the client ports of the burst's connections while it runs (its summary
# comes at the end): the client's established sockets to VIPA:80 that belong to its process
# (ip netns exec runs longconn.py in place: the pid nt_bg noted is python's).
mo_burst_ports_live()
{
	nt_x c ss -Htnp state established "dst $NT_VIP4:80" | "$PY" -c '
import sys
for l in sys.stdin:
	if "pid=%s," % sys.argv[1] in l:
		print(l.split()[2].rsplit(":", 1)[1])' "$(cat "$NT_WORK/burst.pid")"
}

# ---------------------------------------------------------------- the two runs, compared

if [ -n "${MO_SCENARIO:-}" ]; then
	mo_scenario "$MO_SCENARIO"
fi

[ "$(id -u)" -eq 0 ] || { echo "t_takeover_modes: needs root"; exit 2; }
nt_need_daemon
MO_FIGS=$(mktemp /tmp/clusterd-modes.XXXXXX)
export MO_FIGS CLUSTERD CLUSTERCTL
start=$(date +%s)
for m in periodic on-event; do
	echo "=== mode $m"
	save=
	[ -n "${NT_SAVE_LOGS:-}" ] && save=$NT_SAVE_LOGS/$m
	MO_SCENARIO=$m NT_ID=$NT_ID-${m%%-*} NT_WORK= NT_SAVE_LOGS=$save \
		bash "$0" >"$MO_FIGS.$m.out" 2>&1
	rc=$?
	cat "$MO_FIGS.$m.out"
	NT_PASS=$((NT_PASS + $(grep -c '^PASS: ' "$MO_FIGS.$m.out")))
	NT_FAIL=$((NT_FAIL + $(grep -c '^FAIL: ' "$MO_FIGS.$m.out")))
	[ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' "$MO_FIGS.$m.out" &&
		nt_fail "mode_$m" "the run exited $rc without a failed check"
	rm -f "$MO_FIGS.$m.out"
done

p_rpc=$(mo_get periodic.recs_per_conn)
o_rpc=$(mo_get on-event.recs_per_conn)
p_msgs=$(mo_get periodic.msgs_per_s)
o_msgs=$(mo_get on-event.msgs_per_s)
o_fl=$(mo_get on-event.flushes_per_s)
echo "figures: UPDATE messages/s to d2: periodic $p_msgs, on-event $o_msgs;" \
	"flushes/s: periodic $(mo_get periodic.flushes_per_s), on-event $o_fl;" \
	"records per new connection: periodic $p_rpc, on-event $o_rpc;" \
	"takeover ms: periodic $(mo_get periodic.takeover_ms)," \
	"on-event $(mo_get on-event.takeover_ms)"
# periodic skips no event, so its records per connection are every-update's: EST, FIN
nt_check onevent_skips_closing "on-event sent $o_rpc records per new connection, periodic \
(every event) $p_rpc: want at least 0.6 fewer (the FIN record)" \
	eval '[ -n "$o_rpc" ] && [ -n "$p_rpc" ] && fless 0 "$o_rpc" &&
		fless "$o_rpc" "$(awk -v p="$p_rpc" "BEGIN { print p - 0.6 }")"'
# on-event drains every loop like every-update: the bounds periodic meets must not be trivial
nt_check periodic_bound_discriminates "on-event (drained every loop, like every-update) \
sent $o_msgs UPDATE messages/s: want > 8, else periodic's bound of 4 shows nothing" \
	eval '[ -n "$o_msgs" ] && fless 8 "$o_msgs"'
nt_check periodic_flushes_discriminate "on-event's records_sent moved $o_fl times/s: want > 4, \
else periodic's bound of 1.6 shows nothing" eval '[ -n "$o_fl" ] && fless 4 "$o_fl"'
rm -f "$MO_FIGS"
echo "run time $(($(date +%s) - start)) s"
nt_finish
