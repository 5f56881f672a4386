#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_term: the load of t_takeover_linkdown; at t0 clusterd on d1 gets SIGTERM: it hands
# the VIPA over (final sync), removes its rules and address and leaves, and d2 routes at once,
# without waiting for a missed heartbeat; at t0 + 2 s clusterd on d1 is started again and takes
# the VIPA back.  Nothing lost, no stall over 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
RESTART_MS=${RESTART_MS:-2000}

nto_begin
t0=$(nt_now_ms)
nt_cd_stop d1 TERM
stop_ms=$(( $(nt_now_ms) - t0 ))
echo "clusterd on d1 exited $stop_ms ms after SIGTERM"
nt_log "clusterd on d1 stopped"
cp "$NT_WORK/clusterd-d1.log" "$NT_WORK/clusterd-d1-stopped.log"
nt_check term_exits_promptly "exit took $stop_ms ms (limit 3000; nt_stop kills after 5 s)" \
	[ "$stop_ms" -le 3000 ]
nt_check term_removes_vipa "the VIPA is still on d1 after a clean stop" eval '! nto_has_vipa d1'
nt_check term_removes_rules "the clusterd table is still on d1 after a clean stop" \
	eval '! nto_has_rules d1'
nto_check_takeover "$t0"
# a handover is not a failure: d2 must not need retry_threshold missed heartbeats
nt_check takeover_at_once "d2 forwarded $NTO_TAKEOVER_MS ms after SIGTERM (limit: one \
heartbeat after d1 exited, $((stop_ms + NTO_HB)) ms)" \
	[ "$NTO_TAKEOVER_MS" -ge 0 -a "$NTO_TAKEOVER_MS" -le $((stop_ms + NTO_HB)) ]

nto_sleep_until $((t0 + RESTART_MS))
t1=$(nt_now_ms)
nt_cd_launch d1
nt_log "clusterd on d1 started again (t0+$((t1 - t0)) ms)"
nt_cd_ready d1
nto_check_takeback "$t1"
nto_end "$t0"
nt_finish
