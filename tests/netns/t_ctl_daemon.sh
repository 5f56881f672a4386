#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_ctl_daemon: the control socket serves its clients without blocking the daemon.  40 clients
# connect to d1's socket and send nothing: an operator's clusterctl still gets its answer at
# once (the oldest silent clients make room, counted in ctl.clients_dropped), d1 stays alive on
# d2 (heartbeats go on), and every silent client is closed by d1 within its 5 s allowance.
# Then d1's table holds 100000 UDP flows and clusterctl conns asks for them 4 at a time, twice
# over: the main loop streams each answer a bounded chunk of buckets at a time, as the client
# reads; 2 answers are written at a time and the other requests are told at once that d1 is busy
# (clusterctl exits 4).  Meanwhile d1 answers `status` within STATUS_MAX_MS (its main loop is
# never held up), d2 never sees d1 down nor any of its addresses unreachable (no takeover).
# Before that, a client that asks for conns and stops reading holds nothing up either, and is
# cut off after 10 s.
. "$(dirname "$0")/lib.sh"
nt_cluster_up

# The silent clients: connect, wait for EOF on each (bounded: 9 s), print "EOF <n> <max ms>".
nt_bg d1 silent "$PY" -u "$NT_DIR/silent_clients.py" unix "$(nt_sock d1)" 40
nt_wait_until 5 grep -q CONNECTED "$NT_WORK/silent.log"
nt_check status_answers "clusterctl status failed with 40 silent clients" \
	nt_ctl d1 status
dropped=$(nt_ctl d1 stats --json | nt_json "j['ctl']['clients_dropped']")
nt_check oldest_dropped "ctl.clients_dropped = $dropped, expected >= 9 (41 clients, 32 slots)" \
	[ "${dropped:-0}" -ge 9 ]
nt_check d1_alive_on_d2 "d1 not alive on d2" eval "[ \"\$(nt_ctl d2 status --json | nt_json \
	\"[n['alive'] for n in j['nodes'] if n['name'] == 'd1'][0]\")\" = True ]"
nt_wait_until 10 grep -q '^EOF' "$NT_WORK/silent.log"
read -r _ eof last < <(grep '^EOF' "$NT_WORK/silent.log")
echo "silent clients closed by d1: ${eof:-?} of 40, the last after ${last:-?} ms"
nt_check silent_closed "${eof:-0} of 40 silent clients closed within 9 s" [ "${eof:-0}" -eq 40 ]
# A big table: one datagram from each of 2 x 50000 client address and port pairs to VIPA:5353
# (formatted on the main loop, 100000 rows held it for longer than the 325 ms after which d2
# declares d1 down).
for t in $NT_TARGETS; do nt_udp_start "$t" 5353 || nt_fail setup "udp echo on $t"; done
NT_EXPECT=3 nt_wait_until 10 nt_is nt_listening_count d1 5353 udp "$NT_VIP4"
nt_x c ip addr add 10.1.0.3/24 dev eth0
nt_x c "$PY" -c 'import socket, sys
for src in ("10.1.0.2", "10.1.0.3"):
	for port in range(12000, 62000):
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.bind((src, port))
		s.sendto(b"x", (sys.argv[1], 5353))
		s.close()' "$NT_VIP4"
d1_flows() { nt_ctl d1 stats --json | nt_json "j['conns']['active']"; }
nt_wait_until 5 eval '[ "$(d1_flows)" -ge 90000 ]'
flows=$(d1_flows)
echo "d1 holds $flows connections"
nt_check big_table "d1 holds only $flows connections" [ "${flows:-0}" -ge 90000 ]
# A reader that stops: it asks for conns and reads nothing for 12 s.  d1 fills its socket and
# waits for room without holding anything up: `status` answers at once, another conns answer
# (the second slot) completes, and d1 cuts the stalled answer off after its 10 s (the reader
# then finds part of the object and the end of the stream).
nt_bg d1 stalled "$PY" -u -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect(sys.argv[1])
s.sendall(b"conns\n")
t0 = time.monotonic()
print("SENT", flush=True)
time.sleep(12)
s.settimeout(5)
b = b""
try:
	while True:
		d = s.recv(1 << 20)
		if not d:
			break
		b += d
except OSError as e:
	print("ERR", e, flush=True)
print("STALLED", len(b), int(b.endswith(b"}\n")), int((time.monotonic() - t0) * 1000), flush=True)' \
	"$(nt_sock d1)"
nt_wait_until 5 grep -q SENT "$NT_WORK/stalled.log"
# d1's end of it (the socket's path is its local address) holds 1 MB the reader did not take
stalled_full()
{
	nt_x d1 ss -Hx src "$(nt_sock d1)" | awk '$4 >= 1000000 { f = 1 } END { exit !f }'
}
nt_check stalled_reader_filled "d1's socket to the stalled reader held less than 1 MB for 5 s" \
	nt_wait_until 5 stalled_full
worst=0
for ((i = 0; i < 10; i++)); do
	t=$(nt_now_ms)
	nt_ctl d1 status >/dev/null || worst=99999
	t=$(( $(nt_now_ms) - t ))
	[ "$t" -gt "$worst" ] && worst=$t
	sleep 0.1
done
# (a main loop held by the stalled reader would not answer for seconds: 5 s, clusterctl's limit)
STALL_MAX_MS=${STALL_MAX_MS:-1000}
nt_check status_beside_stalled_reader "the slowest of 10 status requests beside a stalled conns \
reader took $worst ms (bound $STALL_MAX_MS)" [ "$worst" -le "$STALL_MAX_MS" ]
n=$(nt_ctl d1 conns --json | nt_json "len(j['conns']) if j['truncated'] is False and \
j['total'] == len(j['conns']) else -1")
nt_check conns_beside_stalled_reader "a conns answer beside the stalled reader: ${n:-none} rows" \
	[ "${n:-0}" -ge 1000 ]
nt_wait_until 20 grep -q '^STALLED' "$NT_WORK/stalled.log"
read -r _ got whole ms < <(grep '^STALLED' "$NT_WORK/stalled.log")
echo "the stalled reader got ${got:-?} bytes, whole answer ${whole:-?}, the stream ended after" \
	"${ms:-?} ms"
nt_check stalled_reader_cut_off "stalled reader: ${got:-?} bytes, whole ${whole:-?}, $(grep ERR \
"$NT_WORK/stalled.log")" [ "${got:-0}" -gt 0 -a "${whole:-1}" = 0 ]
# d2's view of d1 every 50 ms while the answers are built (bounded: 20 s)
nt_bg d2 watch-d1 bash -c 'for ((i = 0; i < 400; i++)); do
	[ -e "$1" ] && break
	"$2" -s "$3" status --json | "$4" -c "import json, sys
j = json.load(sys.stdin)
print([n[\"alive\"] for n in j[\"nodes\"] if n[\"name\"] == \"d1\"][0],
	[v[\"role\"] for v in j[\"vipas\"]])"
	sleep 0.05
done' _ "$NT_WORK/watch-d1.stop" "$CLUSTERCTL" "$(nt_sock d2)" "$PY"
# d1's main loop: how long a `status` takes, asked every 20 ms (bounded: 20 s)
nt_bg d1 probe-d1 "$PY" -u -c 'import os, socket, sys, time
path, stop = sys.argv[1], sys.argv[2]
worst, n, errs, end = 0.0, 0, 0, time.monotonic() + 20
while not os.path.exists(stop) and time.monotonic() < end:
	t = time.monotonic()
	try:
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(5)
		s.connect(path)
		s.sendall(b"status\n")
		while s.recv(65536):
			pass
		s.close()
	except OSError:
		errs += 1
	worst = max(worst, time.monotonic() - t)
	n += 1
	time.sleep(0.02)
print("STATUS", n, errs, int(worst * 1000), flush=True)' "$(nt_sock d1)" "$NT_WORK/watch-d1.stop"
STATUS_MAX_MS=${STATUS_MAX_MS:-250}
down_before=$(grep -cE "node d1(:| is down)" "$NT_WORK/clusterd-d2.log")
# (d2 may have taken the VIPAs at start, before d1 was up: only a later takeover counts)
took_before=$(nt_ctl d2 status --json | nt_json "j.get('last_takeover', {}).get('at_ms')")
t0=$(nt_now_ms)
for r in 1 2; do
	pids=()
	for k in 1 2 3 4; do
		(nt_ctl d1 conns --json >"$NT_WORK/conns-$r-$k.json" 2>"$NT_WORK/conns-$r-$k.err"
		 echo $? >"$NT_WORK/conns-$r-$k.rc") &
		pids+=($!)
	done
	wait "${pids[@]}"	# (clusterctl gives up after 5 s without a reply)
done
t1=$(nt_now_ms)
touch "$NT_WORK/watch-d1.stop"
nt_wait_until 5 eval '! kill -0 "$(cat "$NT_WORK/watch-d1.pid")" 2>/dev/null'
nt_wait_until 5 grep -q '^STATUS' "$NT_WORK/probe-d1.log"
down_after=$(grep -cE "node d1(:| is down)" "$NT_WORK/clusterd-d2.log")
answered=0 busy=0 other=0 rows=0
for f in "$NT_WORK"/conns-*.rc; do
	case $(cat "$f") in
	0) answered=$((answered + 1))
	   n=$(nt_json "len(j['conns'])" <"${f%.rc}.json")
	   [ "${n:-0}" -gt "$rows" ] && rows=$n ;;
	4) busy=$((busy + 1)) ;;
	*) other=$((other + 1)); echo "conns ${f%.rc}: exit $(cat "$f"): $(cat "${f%.rc}.err")" ;;
	esac
done
busy_msg=$(cat "$NT_WORK"/conns-*.err 2>/dev/null | sort -u | head -1)
read -r _ probes probe_errs worst < <(grep '^STATUS' "$NT_WORK/probe-d1.log")
echo "8 conns requests (2 x 4 at once) in $((t1 - t0)) ms: $answered answered (up to $rows" \
	"rows), $busy busy ('$busy_msg'), $other other; d1 answered $probes status requests" \
	"meanwhile, the slowest in ${worst:-?} ms ($probe_errs failed); d2's view of d1: $(sort \
	"$NT_WORK/watch-d1.log" | uniq -c | tr '\n' ' '); d2 logged d1 unreachable/down" \
	"$((down_after - down_before)) times"
nt_check conns_rows "the largest answer holds $rows rows" [ "${rows:-0}" -ge 90000 ]
nt_check conns_answered "$answered of 8 requests answered, expected >= 3" [ "$answered" -ge 3 ]
nt_check conns_busy "$busy of 8 requests told busy (exit 4), expected >= 1" [ "$busy" -ge 1 ]
nt_check conns_busy_says_so "busy message: '$busy_msg'" grep -q "busy.*try again" <<<"$busy_msg"
nt_check conns_no_other_failure "$other requests failed otherwise" [ "$other" -eq 0 ]
nt_check main_loop_not_held "d1's slowest status answer took ${worst:-?} ms (bound $STATUS_MAX_MS)" \
	[ "${worst:-99999}" -le "$STATUS_MAX_MS" -a "${probe_errs:-1}" -eq 0 -a "${probes:-0}" -gt 0 ]
took=$(nt_ctl d2 status --json | nt_json "j.get('last_takeover', {}).get('at_ms')")
nt_check d2_never_took_over "d2 took VIPAs over while d1 answered conns (at $took, before: \
$took_before)" [ -n "$took" -a "$took" = "$took_before" ]
nt_check d1_never_down "d2 saw d1 down or took a VIPA while conns was answered: $(sort \
	"$NT_WORK/watch-d1.log" | uniq -c | tr '\n' ' ')" \
	eval "! grep -qv \"^True \['backup', 'backup'\]\$\" '$NT_WORK/watch-d1.log'"
nt_check d1_addresses_reachable \
	"d2 logged d1 unreachable or down $((down_after - down_before)) times" \
	[ "$down_after" -eq "$down_before" ]
nt_check requests_still_served "VIPA requests failed" eval \
	"[ \"\$(nt_curl_loop 10 http://$NT_VIP4/ | grep -vc '^ERR:')\" -eq 10 ]"
nt_finish
