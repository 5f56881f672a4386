#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_nopreempt: with `preempt = false` the VIPA stays on the backup
# when the primary returns.  clusterd on d1 stops (SIGTERM): d2 takes over
# with every connection; d1 starts again, takes the table and becomes the
# backup; d2 keeps the VIPA and nothing is lost.  (After a partition both
# sides claim the VIPA and the list order decides, as VRRP does, whatever
# preempt says: that case is t_cdat_partition's.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
NTO_PREEMPT=false

nto_begin
t0=$(nt_now_ms)
nt_cd_stop d1 TERM
nto_check_takeover "$t0"
nto_sleep_until $((t0 + 2000))
t1=$(nt_now_ms)
nt_cd_start d1 || nt_fail d1_restarts "clusterd on d1 did not start again"
# d1 comes back as the backup (alive, holding the table) and stays so.
nt_check d1_becomes_backup "d1: $(nto_state d1)" \
	nt_wait_until 5 eval '[ "$(nto_state d1)" = "backup d2" ]'
nto_sleep_until $((t0 + 7000))
nt_check d2_keeps_vipa "d2: $(nto_state d2)" nto_owns d2
nt_check d1_still_backup "d1: $(nto_state d1)" eval '[ "$(nto_state d1)" = "backup d2" ]'
nt_check router_still_to_d2 "neighbour entry" nto_router_sends_to d2
nto_end "$t0"
# the effect of preempt = false, from d1's own answers polled every 10 ms since its return (the
# samples above are two moments): d1 never called itself distributor, d2 never let go
nt_check d1_never_took_back "d1 called itself distributor after its return: $(awk -v t="$t1" \
	'$1 >= t && $2 == "ROLE"' "$NT_WORK/watch-d1.txt" | head -n 4 | tr '\n' ' ')" \
	eval '[ -s "$NT_WORK/watch-d1.txt" ] && [ -z "$(nto_watch_first d1 ROLE "$t1" distributor)" ]'
nt_check d2_never_let_go "d2's role changes after d1's return: $(awk -v t="$t1" \
	'$1 >= t && $2 == "ROLE"' "$NT_WORK/watch-d2.txt" | head -n 4 | tr '\n' ' ')" \
	eval '[ -s "$NT_WORK/watch-d2.txt" ] && [ -z "$(nto_watch_first d2 ROLE "$t1" backup)" ]'
nt_finish
