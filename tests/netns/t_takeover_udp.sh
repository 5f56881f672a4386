#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_udp: UDP flows keep their target across a takeover.  The VIPA's UDP service 5353
# (t1, t2, t3, echo servers answering with their name) is scheduled round-robin here, so a
# distributor can learn a flow's target only from its own table or the replica (maglev would
# re-hash to the same target and hide a missing replica).  24 flows from the client, each its own
# source port, send a datagram every 100 ms (udp_echo.py --client); beside them runs the TCP load
# of the takeover tests.  At t0 clusterd on d1 is SIGKILLed: d2 takes over; at t0 + 2 s d1 is
# started again and takes the VIPA back.  Every flow is answered by the target that answered its
# first datagram, all along (no flow moves), and no flow goes without an answer for over 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
RESTART_MS=${RESTART_MS:-2000}
TU_FLOWS=${TU_FLOWS:-24}
TU_SCHED=${TU_SCHED:-round-robin}
TU_MAX_GAP_MS=${TU_MAX_GAP_MS:-1000}
NTO_EVENT_S=0
NTO_DURATION=${NTO_DURATION:-10}
NTO_CONF_EDIT='sed -i "s/{ port = 5353; protocol = \"udp\"; targets = ( \"t1\", \"t2\", \"t3\" );/& \
scheduler = \"$TU_SCHED\";/" "$NT_WORK/clusterd.conf"'
# the echo servers, before the watchers and the load
NTO_PRELOAD='for t in $NT_TARGETS; do nt_udp_start "$t" 5353 || nt_fail setup "udp echo on $t"; done
	nt_wait_listening d1 3 5353 udp 10 "$NT_VIP4" ||
		{ nt_fail setup "d1 does not see 3 listening UDP targets"; nt_finish; }
	nt_wait_listening d2 3 5353 udp 10 "$NT_VIP4" ||
		{ nt_fail setup "d2 does not see 3 listening UDP targets"; nt_finish; }'

nto_begin
sched=$(nt_ctl d1 status --json | nt_json "[s['scheduler'] for v in j['vipas']
	if v['address'] == '$NT_VIP4' for s in v['services'] if s['port'] == 5353][0]")
echo "d1's scheduler for $NT_VIP4:5353/udp: $sched"
nt_check udp_scheduler "d1 schedules $NT_VIP4:5353 with $sched, want $TU_SCHED" \
	[ "$sched" = "$TU_SCHED" ]
rm -f "$NT_WORK/udp.stop"
nt_bg c udp "$PY" -u "$NT_DIR/udp_echo.py" --client "$NT_VIP4" --port 5353 --flows "$TU_FLOWS" \
	--duration 40 --stop-file "$NT_WORK/udp.stop" --out "$NT_WORK/udp.json"
if nt_wait_until 15 grep -q -e '^READY' -e '^DONE' "$NT_WORK/udp.log" &&
	grep -q "^READY [0-9]* $TU_FLOWS\$" "$NT_WORK/udp.log"; then
	nt_pass udp_flows_established
else
	nt_fail udp_flows_established "$(tail -n 3 "$NT_WORK/udp.log" | tr '\n' ' ')"
	nt_finish
fi
uready=$(awk '/^READY/ { print $2; exit }' "$NT_WORK/udp.log")
nto_sleep_until $((uready + 2000))
# every flow has its entry on d1 and in d2's replica before the event
udp_entries() { nt_ctl "$1" conns --json | nt_json "sum(1 for c in j['conns']
	if c['protocol'] == 'udp' and c['vipa'] == '$NT_VIP4:5353')"; }
nt_check udp_flows_on_d1 "d1's table holds $(udp_entries d1) UDP flows (want $TU_FLOWS)" \
	nt_wait_until 3 eval '[ "$(udp_entries d1)" -ge "$TU_FLOWS" ]'

t0=$(nt_now_ms)
disown "$(cat "$NT_WORK/clusterd-d1.pid")" 2>/dev/null	# no job notice for the kill
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nto_check_takeover "$t0"
udp_d2=$(udp_entries d2)
echo "d2's table holds $udp_d2 UDP flows after the takeover"
nto_sleep_until $((t0 + RESTART_MS))
t1=$(nt_now_ms)
nt_cd_launch d1
nt_log "clusterd on d1 started again (t0+$((t1 - t0)) ms)"
nt_cd_ready d1
nto_check_takeback "$t1"
nto_sleep_until $((t1 + 3000))

touch "$NT_WORK/udp.stop"
nt_wait_until 10 test -s "$NT_WORK/udp.json" ||
	nt_fail udp_summary "$(tail -n 3 "$NT_WORK/udp.log" | tr '\n' ' ')"
nt_stop udp
"$PY" - "$NT_WORK/udp.json" "$t0" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t0 = int(sys.argv[2])
print("udp: %d flows, %d moved, %d/%d datagrams answered, max gap %d ms (ending t0%+d ms), "
      "targets %s" % (j["flows"], j["moved"], j["answered"], j["sent"], j["max_gap_ms"],
                      (j["max_gap_end_ms"] or t0) - t0, j["targets"]))
for p in [p for p in j["per_flow"] if p["moves"]][:6]:
    print("udp: flow %d (port %d) moved: %s" % (p["index"], p["local_port"], ", ".join(
        "t0%+d ms %s -> %s" % (m[0] - t0, m[1], m[2]) for m in p["moves"])))
PY
moved=$(nt_json "j['moved']" <"$NT_WORK/udp.json")
gap=$(nt_json "j['max_gap_ms']" <"$NT_WORK/udp.json")
spread=$(nt_json "len(j['targets'])" <"$NT_WORK/udp.json")
nt_check udp_flows_spread "the flows went to $spread target(s)" [ "${spread:-0}" -ge 2 ]
nt_check udp_none_moved "$moved of $TU_FLOWS flows were answered by another target" \
	[ "${moved:-1}" -eq 0 ]
nt_check udp_max_gap "a flow went $gap ms without an answer (limit $TU_MAX_GAP_MS)" \
	[ "${gap:-99999}" -le "$TU_MAX_GAP_MS" ]
nto_end "$t0"
nt_finish
