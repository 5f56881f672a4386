#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_epoch: the boot epoch grows across restarts even when the wall clock went back.  d1's state
# file is seeded with an epoch a day ahead of the clock (as if its clock had stood a day ahead at
# its last start); d1 starts with that + 1, and after a SIGKILL and restart with that + 2, and d2
# accepts every message of the new boot (no stale_epoch rejection, d1 alive, d1 takes its VIPA
# back).  Control: with the file corrupt, d1 falls back to the clock and d2 refuses it as stale,
# which is what every restart after a clock step back did before the epoch was kept.
. "$(dirname "$0")/lib.sh"
nt_need_daemon
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }

ahead=$("$PY" -c 'import time; print(time.time_ns() + 86400 * 10**9)')
mkdir -p "$NT_WORK/state-d1"
echo "$ahead" >"$NT_WORK/state-d1/epoch"
nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }

epoch_file() { cat "$NT_WORK/state-d1/epoch" 2>/dev/null; }
d1_alive_on_d2() { nt_ctl d2 status --json | nt_json "[n['alive'] for n in j['nodes']
	if n['name'] == 'd1'][0]"; }
stale_on_d2() { nt_ctl d2 stats --json | nt_json "j['sync']['rejected']['stale_epoch']"; }
d1_owns() { nt_ctl d1 status --json | nt_json "[v['role'] for v in j['vipas']
	if v['address'] == '$NT_VIP4'][0]"; }

nt_check first_start_epoch "epoch file holds $(epoch_file), expected $((ahead + 1))" \
	[ "$(epoch_file)" = "$((ahead + 1))" ]
NT_EXPECT=distributor nt_wait_until 10 nt_is d1_owns
nt_check first_start_owner "d1's role: $(d1_owns)" [ "$(d1_owns)" = distributor ]

nt_cd_stop d1 KILL
nt_cd_launch d1
nt_cd_ready d1
nt_check restart_epoch "epoch file holds $(epoch_file), expected $((ahead + 2))" \
	[ "$(epoch_file)" = "$((ahead + 2))" ]
NT_EXPECT=distributor nt_wait_until 10 nt_is d1_owns
# a second of the new boot's heartbeats and state messages: none may be refused
sleep 1
nt_check restart_accepted "d2 refused $(stale_on_d2) messages of d1 as stale" \
	[ "$(stale_on_d2)" = 0 ]
nt_check restart_alive "d1 alive on d2: $(d1_alive_on_d2)" [ "$(d1_alive_on_d2)" = True ]
nt_check restart_owner "d1's role after the restart: $(d1_owns)" [ "$(d1_owns)" = distributor ]
out=$NT_WORK/after.out
nt_curl_loop 20 "http://$NT_VIP4/" >"$out"
nt_check requests_after_restart "$(grep -vc '^ERR:' "$out")/20 succeeded" \
	[ "$(grep -vc '^ERR:' "$out")" -eq 20 ]

# Control: the clock, a day behind what d2 saw, is refused.
nt_cd_stop d1 KILL
echo "not a number" >"$NT_WORK/state-d1/epoch"
nt_cd_launch d1
nt_cd_ready d1
nt_wait_until 3 eval '[ "$(stale_on_d2)" -gt 0 ]'
nt_check corrupt_file_logged "no warning about the epoch file in d1's log" \
	grep -q "boot epoch taken from the clock" "$NT_WORK/clusterd-d1.log"
nt_check control_clock_refused "d2 refused $(stale_on_d2) messages of the clock-epoch d1" \
	[ "$(stale_on_d2)" -gt 0 ]
nt_finish
