#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_bad: requests the front-end answers itself, and targets that cannot take a handoff.
# The handoff group has request_timeout_ms 1000, timeout_ms 1000, max_request 16384.
#   - a head of 20000 bytes (> max_request): 400 and the connection closed;
#   - a head that never ends (request line and one header, then nothing): 408 after about
#     request_timeout_ms, closed;
#   - malformed heads (a request line that is not one; a header line without ':'): 400, closed;
#   then d1 holds no buffering slot (no handoff entry of the client in its conns; any
#   handoff.*slot* gauge 0) and counted each (bad_request, too_large, request_timeout).
#   - t1's HTTP server stopped (t1 no longer listening): /only1/ (rule -> t1 alone) gets 503;
#     /multi/ (rule -> t1, t2) is answered by t2; t1's server back: /only1/ -> t1 again.
#   - t1's clusterd SIGSTOPped (t1 still up for the cluster: retry_threshold is raised to 100
#     heartbeats here, 10 s): 10 /multi/ requests on new connections, each answered by t2; those
#     whose first candidate is t1 (rendezvous hashing: about half) wait timeout_ms for it first
#     (handoff.retried grows); after SIGCONT t1 holds no pending request (the late handoffs
#     were torn down).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"
HOFF_OPTS="timeout_ms = 1000; request_timeout_ms = 1000; max_request = 16384;"
HOFF_CONF_EDIT='sed -i "s/retry_threshold = [0-9]*;/retry_threshold = 100;/" "$NT_WORK/clusterd.conf"'
C=${NT_IP4[c]}

nt_need curl
hoff_cluster_up
grep -q "retry_threshold = 100;" "$NT_WORK/clusterd.conf" ||
	{ nt_fail setup "retry_threshold not raised"; nt_finish; }

# answer TAG OUT CODE: OUT (hoff_client's two lines) is CODE's status line and a close.
answer()
{
	local tg=$1 out=$2 code=$3 st cl
	st=$(echo "$out" | sed -n 1p | awk '{print $2}')
	cl=$(echo "$out" | sed -n 2p)
	PORTS="$PORTS $(echo "$out" | sed -n 's/^PORT //p')"
	nt_check "${tg}_answer_$code" "status line '$(echo "$out" | sed -n 1p)' (want HTTP/1.1 $code)" \
		[ "$st" = "$code" ]
	nt_check "${tg}_closed" "after the answer the connection was $cl (want CLOSED)" \
		[ "$cl" = CLOSED ]
}

# bad_rows: d1's conns rows of the client's ports in PORTS.
PORTS=""
bad_rows()
{
	local p
	for p in $PORTS; do
		nt_ctl d1 conns --json 2>/dev/null | grep -o "{[^{}]*\"client\":\"$C:$p\"[^}]*}"
	done
}

w=$(hoff_who "http://$NT_VIP4/static/ok")
nt_check sanity "/static/ answered by $w (want t1)" [ "$w" = t1 ]
bad0=$(hoff_stat d1 bad_request) big0=$(hoff_stat d1 too_large) slow0=$(hoff_stat d1 request_timeout)

# --- the front-end's own answers
answer too_large "$(hoff_client big "$NT_VIP4" 80 20000 2>&1)" 400
t0=$(nt_now_ms)
out=$(hoff_client slowhead "$NT_VIP4" 80 6 2>&1)
ms=$(($(nt_now_ms) - t0))
answer slow "$out" 408
nt_check slow_after_timeout "the 408 came $ms ms after the connect (want 900..4000: \
request_timeout_ms 1000)" [ "$ms" -ge 900 -a "$ms" -le 4000 ]
answer garbage "$(hoff_client raw "$NT_VIP4" 80 "$(printf 'GARBAGE\r\n\r\n' | od -An -tx1 | \
	tr -d ' \n')" 5 2>&1)" 400
answer nocolon "$(hoff_client raw "$NT_VIP4" 80 "$(printf 'GET /x HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n' | \
	od -An -tx1 | tr -d ' \n')" 5 2>&1)" 400
nt_check counted_too_large "handoff.too_large $big0 -> $(hoff_stat d1 too_large)" \
	hoff_delta_ge d1 too_large "$big0" 1
nt_check counted_bad_request "handoff.bad_request $bad0 -> $(hoff_stat d1 bad_request)" \
	hoff_delta_ge d1 bad_request "$bad0" 2
nt_check counted_request_timeout "handoff.request_timeout $slow0 -> \
$(hoff_stat d1 request_timeout)" hoff_delta_ge d1 request_timeout "$slow0" 1
# d1 keeps nothing of those connections (the entry of the sanity request, handed off, may
# linger in FIN state: it is not one of them)
nt_wait_until 5 eval '[ -z "$(bad_rows)" ]'
nt_check no_state_left "d1 still lists entries of the answered connections (ports$PORTS): \
$(bad_rows | head -c 400)" eval '[ -z "$(bad_rows)" ]'
sl=$(hoff_slots d1)
if [ "$sl" = none ]; then
	nt_log "d1 reports no handoff.*slot* gauge: slots judged by its conns only"
else
	nt_wait_until 5 eval '[ "$(hoff_slots d1)" = 0 ]'
	nt_check slot_gauges_zero "d1's handoff slot gauges: $(hoff_slots d1)" [ "$(hoff_slots d1)" = 0 ]
fi
nt_check no_fe_pending "d1's handoff.fe_pending = $(hoff_stat d1 fe_pending)" \
	[ "$(hoff_stat d1 fe_pending)" = 0 ]
nt_log "d1: $(hoff_stats d1)"

# --- a rule's only target is not listening
nt0=$(hoff_stat d1 no_target)
hoff_http_stop t1
# d1 learns it from t1's clusterd: poll with real requests (10 s)
nt_wait_until 10 eval '[ "$(hoff_status "http://$NT_VIP4/only1/x")" = 503 ]'
code=$(hoff_status "http://$NT_VIP4/only1/x")
nt_check only_target_down_503 "/only1/ (t1 alone, not listening) got $code 10 s after t1's \
server stopped (want 503)" [ "$code" = 503 ]
nt_check counted_no_target "handoff.no_target $nt0 -> $(hoff_stat d1 no_target)" \
	hoff_delta_ge d1 no_target "$nt0" 1
out="$(hoff_who "http://$NT_VIP4/multi/a") $(hoff_who "http://$NT_VIP4/multi/b")"
out="$out $(hoff_who "http://$NT_VIP4/multi/c")"
nt_check next_candidate_listening "/multi/ (t1, t2) with t1 not listening answered by: $out \
(want t2 t2 t2)" [ "$out" = "t2 t2 t2" ]
hoff_http_start t1 || nt_fail restart_server "t1's server did not start again"
nt_wait_until 10 eval '[ "$(hoff_who "http://$NT_VIP4/only1/y")" = t1 ]'
w=$(hoff_who "http://$NT_VIP4/only1/y")
nt_check only_target_back "/only1/ answered by $w 10 s after t1 listens again (want t1)" \
	[ "$w" = t1 ]

# --- t1's clusterd stopped: the handoff to it times out, the next candidate answers
re0=$(hoff_stat d1 retried)
pid=$(cat "$NT_WORK/clusterd-t1.pid")
kill -STOP "$pid"
out="" slowest=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	t0=$(nt_now_ms)
	out="$out $(hoff_who "http://$NT_VIP4/multi/s$i")"
	ms=$(($(nt_now_ms) - t0))
	[ "$ms" -gt "$slowest" ] && slowest=$ms
done
kill -CONT "$pid"
nt_log "/multi/ with t1's clusterd stopped:$out; slowest $slowest ms; d1: $(hoff_stats d1)"
nt_check stopped_target_next_candidate "/multi/ answered by:$out (want t2 x 10)" \
	[ "$out" = " t2 t2 t2 t2 t2 t2 t2 t2 t2 t2" ]
nt_check stopped_target_retried "handoff.retried $re0 -> $(hoff_stat d1 retried)" \
	hoff_delta_ge d1 retried "$re0" 1
nt_check stopped_target_waited "the slowest request took $slowest ms (want >= 900: timeout_ms)" \
	[ "$slowest" -ge 900 ]
nt_wait_until 10 eval '[ "$(hoff_stat t1 pending)" = 0 ]'
nt_check stopped_target_no_pending "t1's handoff.pending $(hoff_stat t1 pending) 10 s after \
SIGCONT (want 0)" [ "$(hoff_stat t1 pending)" = 0 ]
w=$(hoff_who "http://$NT_VIP4/only1/z")
nt_check t1_serves_again "/only1/ answered by $w after SIGCONT (want t1)" [ "$w" = t1 ]
nt_log "d1 at the end: $(hoff_stats d1); its handoff entries: $(hoff_conns d1 "$C" | head -c 300)"
nt_finish
