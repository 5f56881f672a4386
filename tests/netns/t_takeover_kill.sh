#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_kill: the load of t_takeover_linkdown; at t0 clusterd on d1 is SIGKILLed (its rules
# and the VIPA address stay behind, so whatever still reaches d1 is dropped by its queue rules):
# d2 takes the VIPA over; at t0 + 2 s clusterd on d1 is started again: it cleans the leftovers,
# takes the table back from d2 and then the VIPA.  Nothing lost, no stall over 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
RESTART_MS=${RESTART_MS:-2000}

nto_begin
t0=$(nt_now_ms)
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
cp "$NT_WORK/clusterd-d1.log" "$NT_WORK/clusterd-d1-killed.log"
nt_check kill_leaves_vipa "no VIPA left on d1 after SIGKILL" nto_has_vipa d1
nt_check kill_leaves_rules "no clusterd table left on d1 after SIGKILL" nto_has_rules d1
nto_check_takeover "$t0"

nto_sleep_until $((t0 + RESTART_MS))
t1=$(nt_now_ms)
nt_cd_launch d1
nt_log "clusterd on d1 started again (t0+$((t1 - t0)) ms)"
nt_cd_ready d1
nto_check_takeback "$t1"
n=$(nt_x d1 nft list tables 2>/dev/null | grep -c clusterd)
nt_check restart_one_ruleset "d1 holds $n clusterd tables after the restart: $(nt_x d1 nft list \
	tables | tr '\n' ' ')" [ "$n" -eq 1 ]
nto_end "$t0"
nt_finish
